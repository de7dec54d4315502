/*
 * fuzz-cert.c - libFuzzer harness: any bytes as a .cer file.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input goes through both certificate entry points the module uses:
 * ef_cert_parse (a bundle's .cer, DER or PEM) and ef_cert_parse_all (a CA
 * file with several PEM blocks).  Whatever parses is then used the way the
 * token uses it: the SAT facts are read, the public key is opened and a
 * certificate is checked against itself as its own issuer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ef_cert c;
	struct ef_cert *all = NULL;
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	if (ef_cert_parse(data, size, &c) == CKR_OK) {
		struct ef_pkey *k = NULL;
		/* Every string the token shows must be valid and terminated. */
		fuzz_touch(c.sat.rfc, strlen(c.sat.rfc));
		fuzz_touch(c.sat.numero, strlen(c.sat.numero));
		if (c.sat.holder)
			fuzz_touch(c.sat.holder, strlen(c.sat.holder));
		if (c.issuer_cn)
			fuzz_touch(c.issuer_cn, strlen(c.issuer_cn));
		fuzz_touch(c.der, c.der_len);
		fuzz_touch(c.subject, c.subject_len);
		fuzz_touch(c.issuer, c.issuer_len);
		fuzz_touch(c.serial, c.serial_len);
		fuzz_touch(c.modulus, c.modulus_len);
		fuzz_touch(c.exponent, c.exponent_len);
		if (c.is_rsa && ef_pubkey_from_spki(c.spki, c.spki_len, &k) == CKR_OK) {
			fuzz_touch(c.spki, c.spki_len);
			ef_key_unref(k);
		}
		(void)ef_cert_issued_by(&c, &c);
		ef_cert_clear(&c);
	}
	if (ef_cert_parse_all(data, size, &all, &n) == CKR_OK) {
		for (size_t i = 0; i < n; i++) {
			if (i + 1 < n)
				(void)ef_cert_issued_by(&all[i], &all[i + 1]);
			ef_cert_clear(&all[i]);
		}
		free(all);
	}
	return 0;
}
