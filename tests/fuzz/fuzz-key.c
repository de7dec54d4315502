/*
 * fuzz-key.c - libFuzzer harness: any bytes as a .key file, opened with a
 * password the fuzzer chooses.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input: one byte n (taken modulo 64), n password bytes, then the key
 * file.  A key that opens must survive the module's own round trip:
 * C_SetPIN writes it as SAT does (ef_key_export_sat), and what it wrote
 * must open again with the new password and be the same key; a failure
 * there is a finding (abort), as is any sanitizer report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz-common.h"

static const unsigned char new_pin[] = "otra-clave-9";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ef_pkey *k = NULL, *again = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0, pin_len;

	if (size < 1)
		return 0;
	pin_len = data[0] % 64;
	if (size - 1 < pin_len)
		return 0;
	const uint8_t *pin = data + 1, *file = data + 1 + pin_len;
	size_t file_len = size - 1 - pin_len;

	(void)ef_key_is_encrypted(file, file_len);
	if (ef_key_open(file, file_len, pin, pin_len, &k) != CKR_OK)
		return 0;
	/* Keys the fuzzer grows past 4096 bits would only make it slow. */
	if (ef_key_size(k) > 512 || ef_key_size(k) < 64)
		goto out;
	if (ef_key_export_sat(k, new_pin, sizeof(new_pin) - 1, &der, &der_len) != CKR_OK)
		abort();
	if (ef_key_open(der, der_len, new_pin, sizeof(new_pin) - 1, &again) != CKR_OK)
		abort();
	if (ef_key_size(again) != ef_key_size(k))
		abort();
out:
	ef_key_unref(again);
	ef_key_unref(k);
	ef_free_secret(der, der_len);
	return 0;
}
