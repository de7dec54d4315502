/*
 * pbes2.c - password-based encryption as PKCS#5 v2 defines it (RFC 8018):
 * the PBES2 parameters of an encrypted key, PBKDF2, and the CBC ciphers
 * it names, both ways.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "pbes2.h"

bool ef_pbes2_parse(struct ef_der params, struct ef_pbes2 *s)
{
	static const struct { unsigned char last; const char *md; } prfs[] = {
		{ 0x07, "SHA1" }, { 0x08, "SHA2-224" }, { 0x09, "SHA2-256" },
		{ 0x0a, "SHA2-384" }, { 0x0b, "SHA2-512" },
	};
	static const unsigned char hmac_arc[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02 };
	static const unsigned char aes_arc[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };
	struct ef_der seq, kdf, kdf_oid, kp, enc, enc_oid, v, prf, prf_oid;
	unsigned long klen = 0;

	memset(s, 0, sizeof(*s));
	s->prf = "SHA1";   /* prf DEFAULT algid-hmacWithSHA1 */
	if (!ef_der_take(&params, EF_DER_SEQUENCE, &seq, NULL) ||
	    !ef_der_take(&seq, EF_DER_SEQUENCE, &kdf, NULL) ||
	    !ef_der_take(&kdf, EF_DER_OID, &kdf_oid, NULL) || !ef_der_oid_is(kdf_oid, EF_OID_PBKDF2) ||
	    !ef_der_take(&kdf, EF_DER_SEQUENCE, &kp, NULL) ||
	    !ef_der_take(&seq, EF_DER_SEQUENCE, &enc, NULL) ||
	    !ef_der_take(&enc, EF_DER_OID, &enc_oid, NULL) ||
	    !ef_der_take(&enc, EF_DER_OCTET_STRING, &s->iv, NULL))
		return false;
	/* PBKDF2-params: salt as an OCTET STRING (not otherSource), an
	 * iteration count bounded so a hostile file cannot stall C_Login
	 * for minutes, optional keyLength, optional prf. */
	if (!ef_der_take(&kp, EF_DER_OCTET_STRING, &s->salt, NULL) ||
	    !ef_der_take(&kp, EF_DER_INTEGER, &v, NULL) ||
	    !ef_der_small_uint(v, 10000000UL, &s->iter) || s->iter == 0)
		return false;
	if (ef_der_take(&kp, EF_DER_INTEGER, &v, NULL) && !ef_der_small_uint(v, 64, &klen))
		return false;
	if (ef_der_take(&kp, EF_DER_SEQUENCE, &prf, NULL)) {
		size_t i;

		if (!ef_der_take(&prf, EF_DER_OID, &prf_oid, NULL) ||
		    prf_oid.n != sizeof(hmac_arc) + 1 ||
		    memcmp(prf_oid.p, hmac_arc, sizeof(hmac_arc)) != 0)
			return false;
		for (i = 0; i < sizeof(prfs) / sizeof(prfs[0]); i++)
			if (prf_oid.p[sizeof(hmac_arc)] == prfs[i].last)
				break;
		if (i == sizeof(prfs) / sizeof(prfs[0]))
			return false;
		s->prf = prfs[i].md;
	}
	if (ef_der_oid_is(enc_oid, EF_OID_DES_EDE3_CBC)) {
		s->cipher = "DES-EDE3-CBC";
		s->key_len = 24;
	} else if (enc_oid.n == sizeof(aes_arc) + 1 &&
		   memcmp(enc_oid.p, aes_arc, sizeof(aes_arc)) == 0) {
		switch (enc_oid.p[sizeof(aes_arc)]) {
		case 0x02: s->cipher = "AES-128-CBC"; s->key_len = 16; break;
		case 0x16: s->cipher = "AES-192-CBC"; s->key_len = 24; break;
		case 0x2a: s->cipher = "AES-256-CBC"; s->key_len = 32; break;
		default: return false;
		}
	} else {
		return false;
	}
	return klen == 0 || klen == s->key_len;
}

CK_RV ef_pbkdf2(const struct ef_pbes2 *s, const unsigned char *pin, size_t pin_len,
		    unsigned char *key)
{
	EVP_KDF *kdf = EVP_KDF_fetch(ef_ossl_libctx(), "PBKDF2", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	unsigned int iter = (unsigned int)s->iter;
	int pkcs5 = 1;   /* 1 = no SP 800-132 lower bounds: SAT keys predate them */
	OSSL_PARAM params[6];
	CK_RV rv = CKR_OK;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
		(void *)(pin_len > 0 ? pin : (const unsigned char *)""), pin_len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		(void *)s->salt.p, s->salt.n);
	params[2] = OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter);
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)s->prf, 0);
	params[4] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
	params[5] = OSSL_PARAM_construct_end();
	if (kctx == NULL || EVP_KDF_derive(kctx, key, s->key_len, params) != 1)
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rv;
}

CK_RV ef_cbc_decrypt(const char *cipher_name, const unsigned char *key,
			 struct ef_der iv, struct ef_der in, unsigned char **out, size_t *out_len)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(ef_ossl_libctx(), cipher_name, NULL);
	EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
	unsigned char *buf = NULL;
	size_t cap = in.n + EVP_MAX_BLOCK_LENGTH;
	int n1 = 0, n2 = 0;
	CK_RV rv;

	*out = NULL;
	*out_len = 0;
	if (cipher == NULL || cctx == NULL || in.n > INT_MAX - EVP_MAX_BLOCK_LENGTH) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	if ((size_t)EVP_CIPHER_get_iv_length(cipher) != iv.n) {
		rv = EF_FAIL(CKR_DATA_INVALID);
		goto out;
	}
	buf = ef_secret_alloc(cap);
	if (buf == NULL) {
		rv = EF_OSSL_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	if (EVP_DecryptInit_ex2(cctx, cipher, key, iv.p, NULL) != 1) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	/* A wrong password gives a bad padding (most of the time). */
	if (EVP_DecryptUpdate(cctx, buf, &n1, in.p, (int)in.n) != 1 ||
	    EVP_DecryptFinal_ex(cctx, buf + n1, &n2) != 1) {
		rv = EF_OSSL_FAIL(CKR_PIN_INCORRECT);
		goto out;
	}
	*out = buf;
	*out_len = (size_t)n1 + (size_t)n2;
	buf = NULL;
	rv = CKR_OK;
out:
	ef_secret_free(buf);
	EVP_CIPHER_CTX_free(cctx);
	EVP_CIPHER_free(cipher);
	return rv;
}

CK_RV ef_cbc_encrypt(const char *cipher_name, const unsigned char *key,
			 const unsigned char *iv, const unsigned char *in, size_t in_len,
			 unsigned char *out, size_t *out_len)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(ef_ossl_libctx(), cipher_name, NULL);
	EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	CK_RV rv = CKR_OK;

	if (cipher != NULL && cctx != NULL && in_len <= INT_MAX - EVP_MAX_BLOCK_LENGTH &&
	    EVP_EncryptInit_ex2(cctx, cipher, key, iv, NULL) == 1 &&
	    EVP_EncryptUpdate(cctx, out, &n1, in, (int)in_len) == 1 &&
	    EVP_EncryptFinal_ex(cctx, out + n1, &n2) == 1)
		*out_len = (size_t)n1 + (size_t)n2;
	else
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	EVP_CIPHER_CTX_free(cctx);
	EVP_CIPHER_free(cipher);
	return rv;
}
