/*
 * pkey.h - the RSA keys of the crypto layer as its OpenSSL-facing files
 * see them (pkey.c): a struct ef_pkey * is an EVP_PKEY *.  Only those
 * files include this header; the other layers hold keys through crypto.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_PKEY_H
#define EF_PKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/types.h>
#include "crypto.h"
#include "der.h"
#include "ossl_ctx.h"

#define EF_OID_RSA_ENCRYPTION EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01)

static inline EVP_PKEY *ef_pkey_evp(const struct ef_pkey *k)
{
	return (EVP_PKEY *)k;
}

/* What a SubjectPublicKeyInfo holds (RFC 5280 §4.1.2.7). */
struct ef_spki {
	struct ef_der alg_oid;
	struct ef_der key_bits;   /* subjectPublicKey value, unused-bits octet removed */
	bool is_rsa;
	struct ef_der n, e;       /* RSA: magnitudes without leading zeros */
};

/* Reads a SubjectPublicKeyInfo; false when the bytes are not one (an
 * rsaEncryption key whose RSAPublicKey is broken included). */
bool ef_spki_split(const unsigned char *p, size_t len, struct ef_spki *s);

/* An RSA public key in our context, from n and e; NULL on failure. */
EVP_PKEY *ef_pkey_rsa_public(struct ef_der n, struct ef_der e);
/* An RSA key pair in our context from a PKCS#1 RSAPrivateKey (RFC 8017
 * A.1.2); NULL when the bytes are not a two-prime RSA key. */
EVP_PKEY *ef_pkey_rsa_private(const unsigned char *der, size_t len);
/* True for a plain rsaEncryption key (not an RSA-PSS-restricted one). */
bool ef_pkey_is_rsa(const EVP_PKEY *key);
/* Hands key out as a struct ef_pkey; takes ownership of it, and frees it
 * with CKR_KEY_TYPE_INCONSISTENT when it is not an RSA key. */
CK_RV ef_pkey_accept(EVP_PKEY *key, struct ef_pkey **out);

#endif
