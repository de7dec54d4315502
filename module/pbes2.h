/*
 * pbes2.h - password-based encryption, PKCS#5 v2 (RFC 8018), for opening
 * and writing encrypted keys (pbes2.c).  OpenSSL-facing.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_PBES2_H
#define EF_PBES2_H

#include <stdbool.h>
#include <stddef.h>
#include "crypto.h"
#include "der.h"
#include "ossl_ctx.h"

#define EF_OID_PBES2        EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d)
#define EF_OID_PBKDF2       EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c)
#define EF_OID_DES_EDE3_CBC EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07)

/* PBES2 with PBKDF2 (RFC 8018 §6.2, A.2, A.4), the scheme of every SAT key
 * and of OpenSSL's own `pkcs8 -topk8`. */
struct ef_pbes2 {
	struct ef_der salt, iv;
	unsigned long iter;
	const char *prf;      /* digest name */
	const char *cipher;   /* cipher name */
	size_t key_len;
};

/* Reads PBES2-params with PBKDF2 and a 3DES or AES CBC cipher; false for
 * anything else, and for a work factor a login must not be made to pay
 * (over 10,000,000 iterations). */
bool ef_pbes2_parse(struct ef_der params, struct ef_pbes2 *s);
/* Derives s->key_len bytes into key from the PIN's exact bytes. */
CK_RV ef_pbkdf2(const struct ef_pbes2 *s, const unsigned char *pin, size_t pin_len,
		unsigned char *key);
/* CBC decryption with PKCS#7 padding into a fresh buffer (the key in the
 * clear: ef_secret_alloc'd, for ef_secret_free).  CKR_PIN_INCORRECT when
 * the padding is wrong, CKR_DATA_INVALID for an IV of the wrong size. */
CK_RV ef_cbc_decrypt(const char *cipher_name, const unsigned char *key,
		     struct ef_der iv, struct ef_der in, unsigned char **out, size_t *out_len);
/* CBC encryption with PKCS#7 padding; out holds in_len + one block. */
CK_RV ef_cbc_encrypt(const char *cipher_name, const unsigned char *key,
		     const unsigned char *iv, const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len);

#endif
