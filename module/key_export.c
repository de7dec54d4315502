/*
 * key_export.c - a private key written out as SAT writes its .key files
 * (used when the password changes): PKCS#8 encrypted with PBES2.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pbes2.h"
#include "pkey.h"

CK_RV ef_key_export_sat(const struct ef_pkey *k, const unsigned char *pin,
			size_t pin_len, unsigned char **out, size_t *out_len)
{
	/* AlgorithmIdentifier { rsaEncryption, NULL } */
	static const unsigned char rsa_alg[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
		0x01, 0x05, 0x00 };
	static const unsigned char v0[] = { 0x02, 0x01, 0x00 };
	static const unsigned char iter2048[] = { 0x08, 0x00 };
	unsigned char salt[8], iv[8], key[24];
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *rsakey = NULL, *p8 = NULL, *ct = NULL, *der = NULL, *w;
	size_t rsakey_len = 0, p8_len = 0, p8_cap = 0, ct_len = 0, ct_cap = 0;
	size_t kdf_len, enc_len, params_len, alg_len, total, kp_len;
	struct ef_pbes2 s;
	CK_RV rv;

	*out = NULL;
	*out_len = 0;
	if (k == NULL)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	if (pin == NULL)
		pin_len = 0;
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	/* RSAPrivateKey (PKCS#1), wrapped by hand into the PrivateKeyInfo
	 * that SAT encrypts: {v0, rsaEncryption NULL, OCTET STRING}. */
	ectx = OSSL_ENCODER_CTX_new_for_pkey(ef_pkey_evp(k), EVP_PKEY_KEYPAIR, "DER",
					     "type-specific", NULL);
	if (ectx == NULL || OSSL_ENCODER_to_data(ectx, &rsakey, &rsakey_len) != 1) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	kp_len = sizeof(v0) + sizeof(rsa_alg) + ef_der_hdr_len(rsakey_len) + rsakey_len;
	p8_cap = ef_der_hdr_len(kp_len) + kp_len;
	p8 = ef_secret_alloc(p8_cap);
	ct_cap = p8_cap + EVP_MAX_BLOCK_LENGTH;
	ct = OPENSSL_malloc(ct_cap);
	if (p8 == NULL || ct == NULL) {
		rv = EF_OSSL_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	w = p8 + ef_der_put_hdr(p8, EF_DER_SEQUENCE, kp_len);
	memcpy(w, v0, sizeof(v0));
	w += sizeof(v0);
	memcpy(w, rsa_alg, sizeof(rsa_alg));
	w += sizeof(rsa_alg);
	w = ef_der_put(w, EF_DER_OCTET_STRING, rsakey, rsakey_len);
	p8_len = (size_t)(w - p8);

	/* PBES2 (RFC 8018 §6.2) with PBKDF2: hmacWithSHA1 is the PRF's
	 * DEFAULT and is left out as SAT leaves it; 2048 iterations; a fresh
	 * 8-byte salt and IV from our DRBG. */
	if (RAND_bytes_ex(ef_ossl_libctx(), salt, sizeof(salt), 0) != 1 ||
	    RAND_bytes_ex(ef_ossl_libctx(), iv, sizeof(iv), 0) != 1) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.salt = (struct ef_der){ salt, sizeof(salt) };
	s.iter = 2048;
	s.prf = "SHA1";
	s.cipher = "DES-EDE3-CBC";
	s.key_len = sizeof(key);
	rv = ef_pbkdf2(&s, pin, pin_len, key);
	if (rv == CKR_OK)
		rv = ef_cbc_encrypt(s.cipher, key, iv, p8, p8_len, ct, &ct_len);
	if (rv != CKR_OK)
		goto out;

	/* EncryptedPrivateKeyInfo, inside out. */
	{
		size_t pbkdf2_params = 2 + sizeof(salt) + 2 + sizeof(iter2048);
		size_t kdf_inner = 2 + 9 + ef_der_hdr_len(pbkdf2_params) + pbkdf2_params;
		size_t enc_inner = 2 + 8 + 2 + sizeof(iv);

		kdf_len = ef_der_hdr_len(kdf_inner) + kdf_inner;
		enc_len = ef_der_hdr_len(enc_inner) + enc_inner;
		params_len = kdf_len + enc_len;
		alg_len = 2 + 9 + ef_der_hdr_len(params_len) + params_len;
		total = ef_der_hdr_len(alg_len) + alg_len + ef_der_hdr_len(ct_len) + ct_len;
		der = malloc(ef_der_hdr_len(total) + total);
		if (der == NULL) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		w = der + ef_der_put_hdr(der, EF_DER_SEQUENCE, total);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, alg_len);
		w = ef_der_put(w, EF_DER_OID, EF_OID_PBES2);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, params_len);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, kdf_inner);
		w = ef_der_put(w, EF_DER_OID, EF_OID_PBKDF2);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, pbkdf2_params);
		w = ef_der_put(w, EF_DER_OCTET_STRING, salt, sizeof(salt));
		w = ef_der_put(w, EF_DER_INTEGER, iter2048, sizeof(iter2048));
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, enc_inner);
		w = ef_der_put(w, EF_DER_OID, EF_OID_DES_EDE3_CBC);
		w = ef_der_put(w, EF_DER_OCTET_STRING, iv, sizeof(iv));
		w = ef_der_put(w, EF_DER_OCTET_STRING, ct, ct_len);
		*out = der;
		*out_len = (size_t)(w - der);
		der = NULL;
	}
	rv = CKR_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(der);
	OPENSSL_free(ct);
	ef_secret_free(p8);
	if (rsakey != NULL)
		OPENSSL_clear_free(rsakey, rsakey_len);
	OSSL_ENCODER_CTX_free(ectx);
	ERR_pop_to_mark();
	return rv;
}
