/*
 * rsa.c - RSA signatures and encryption with the paddings PKCS#11
 * names (PKCS#1 v1.5, PSS, OAEP); never raw RSA.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <limits.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "pkey.h"

/* Compares a k-byte big-endian value with the modulus: a ciphertext
 * must be numerically smaller than n (RFC 8017 §5.1.2). */
static CK_RV below_modulus(EVP_PKEY *key, const unsigned char *x, size_t k, bool *below)
{
	BIGNUM *n = NULL;
	unsigned char *nb = NULL;
	CK_RV rv;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	nb = OPENSSL_malloc(k);
	if (nb == NULL) {
		rv = EF_OSSL_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	if (BN_bn2binpad(n, nb, (int)k) != (int)k) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	*below = memcmp(x, nb, k) < 0;
	rv = CKR_OK;
out:
	OPENSSL_free(nb);
	BN_free(n);
	return rv;
}

/* RFC 8017 §9.1.1: emLen = ceil((modBits - 1) / 8) and the salt fits
 * when emLen >= hLen + sLen + 2. */
static bool pss_salt_fits(EVP_PKEY *key, size_t hlen, size_t salt_len)
{
	int bits = EVP_PKEY_get_bits(key);
	size_t em_len;

	if (bits <= 1)
		return false;
	em_len = ((size_t)bits - 1 + 7) / 8;
	return em_len >= hlen + 2 && salt_len <= em_len - hlen - 2 && salt_len <= INT_MAX;
}

static const EVP_MD *mgf1_of(const struct ef_rsa_params *p)
{
	/* EF_HASH_NONE for MGF1: the mechanism layer validated the
	 * parameters; fall back to the message hash, as RFC 8017 suggests. */
	return ef_ossl_md(p->mgf1 != EF_HASH_NONE ? p->mgf1 : p->hash);
}

/* Validates the input for a signature operation and configures pctx.
 * There is no raw RSA (EF_PAD_NONE) here: the private key only ever
 * computes a padded signature (doc/DESIGN.md §8). */
static CK_RV sig_setup(EVP_PKEY_CTX *pctx, EVP_PKEY *key, const struct ef_rsa_params *p,
		       size_t in_len, size_t k)
{
	size_t hlen = ef_hash_size(p->hash);

	switch (p->pad) {
	case EF_PAD_PKCS1:
		if (p->hash == EF_HASH_NONE) {
			/* PKCS#11 CKM_RSA_PKCS: at most k-11 bytes. */
			if (k < 11 || in_len > k - 11)
				return EF_FAIL(CKR_DATA_LEN_RANGE);
			if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
				return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
			return CKR_OK;
		}
		if (hlen == 0)
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		if (in_len != hlen)
			return EF_FAIL(CKR_DATA_LEN_RANGE);
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, ef_ossl_md(p->hash)) <= 0)
			return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		return CKR_OK;
	case EF_PAD_PSS:
		if (hlen == 0 || mgf1_of(p) == NULL)
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		if (in_len != hlen)
			return EF_FAIL(CKR_DATA_LEN_RANGE);
		/* A salt the key cannot hold is a parameter problem, not a
		 * data problem: the same sLen fails for every input. */
		if (!pss_salt_fits(key, hlen, p->salt_len))
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, ef_ossl_md(p->hash)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1_of(p)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)p->salt_len) <= 0)
			return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		return CKR_OK;
	default:
		return EF_FAIL(CKR_MECHANISM_INVALID);
	}
}

/* Configures pctx for encrypt/decrypt. */
static CK_RV cipher_setup(EVP_PKEY_CTX *pctx, const struct ef_rsa_params *p)
{
	unsigned char *label;

	switch (p->pad) {
	case EF_PAD_PKCS1:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
			return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		return CKR_OK;
	case EF_PAD_OAEP:
		if (ef_hash_size(p->hash) == 0 || mgf1_of(p) == NULL)
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		if (p->label_len > INT_MAX || (p->label_len > 0 && p->label == NULL))
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, ef_ossl_md(p->hash)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1_of(p)) <= 0)
			return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		if (p->label_len == 0)
			return CKR_OK;
		/* set0 takes ownership of an OPENSSL_malloc'd copy. */
		label = OPENSSL_memdup(p->label, p->label_len);
		if (label == NULL)
			return EF_OSSL_FAIL(CKR_HOST_MEMORY);
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, (int)p->label_len) <= 0) {
			OPENSSL_free(label);
			return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		}
		return CKR_OK;
	default:
		return EF_FAIL(CKR_MECHANISM_INVALID);
	}
}

enum rsa_op { OP_SIGN, OP_VERIFY, OP_ENCRYPT, OP_DECRYPT };

/* A context for op on key, with the padding p names; *pctx is the
 * caller's to free, whatever the result. */
static CK_RV op_ctx(EVP_PKEY *key, enum rsa_op op, const struct ef_rsa_params *p,
		    size_t in_len, size_t k, EVP_PKEY_CTX **pctx)
{
	int ok;

	*pctx = EVP_PKEY_CTX_new_from_pkey(ef_ossl_libctx(), key, NULL);
	if (*pctx == NULL)
		return EF_OSSL_FAIL(CKR_HOST_MEMORY);
	switch (op) {
	case OP_SIGN:
		ok = EVP_PKEY_sign_init(*pctx);
		break;
	case OP_VERIFY:
		ok = EVP_PKEY_verify_init(*pctx);
		break;
	case OP_ENCRYPT:
		ok = EVP_PKEY_encrypt_init(*pctx);
		break;
	default:
		ok = EVP_PKEY_decrypt_init(*pctx);
		break;
	}
	if (ok <= 0)
		return EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	if (op == OP_SIGN || op == OP_VERIFY)
		return sig_setup(*pctx, key, p, in_len, k);
	return cipher_setup(*pctx, p);
}

/* Input limits of the operation, PKCS#11 3.0 §2.1.6 and §2.1.8: a
 * signature and a ciphertext are k bytes; a plaintext at most k-11 for
 * v1.5, k-2-2hLen for OAEP.  (A signature's input: sig_setup.) */
static CK_RV check_lengths(enum rsa_op op, const struct ef_rsa_params *p, size_t k,
			   size_t in_len, size_t sig_len)
{
	size_t hlen, max;

	switch (op) {
	case OP_VERIFY:
		return sig_len != k ? EF_FAIL(CKR_SIGNATURE_LEN_RANGE) : CKR_OK;
	case OP_DECRYPT:
		return in_len != k ? EF_FAIL(CKR_ENCRYPTED_DATA_LEN_RANGE) : CKR_OK;
	case OP_ENCRYPT:
		break;
	default:
		return CKR_OK;
	}
	switch (p->pad) {
	case EF_PAD_PKCS1:
		max = k >= 11 ? k - 11 : 0;
		break;
	case EF_PAD_OAEP:
		hlen = ef_hash_size(p->hash);
		if (hlen == 0)
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		max = k >= 2 * hlen + 2 ? k - 2 * hlen - 2 : 0;
		break;
	default:
		return EF_FAIL(CKR_MECHANISM_INVALID);
	}
	return in_len > max ? EF_FAIL(CKR_DATA_LEN_RANGE) : CKR_OK;
}

/* The one path of the four operations.  sign, encrypt, decrypt write
 * at most k bytes to out and set *out_len; verify reads sig. */
static CK_RV run(struct ef_pkey *kp, enum rsa_op op, const struct ef_rsa_params *p,
		 const unsigned char *in, size_t in_len, unsigned char *out, size_t *out_len,
		 const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY *key = ef_pkey_evp(kp);
	EVP_PKEY_CTX *pctx = NULL;
	size_t k = ef_key_size(kp), len = k;
	bool below = false;
	CK_RV rv;

	if (key == NULL || k == 0)
		return EF_FAIL(CKR_KEY_HANDLE_INVALID);
	rv = check_lengths(op, p, k, in_len, sig_len);
	if (rv != CKR_OK)
		return rv;
	ef_ossl_mark();
	if (op == OP_DECRYPT) {
		rv = below_modulus(key, in, k, &below);
		if (rv == CKR_OK && !below)
			rv = EF_FAIL(CKR_ENCRYPTED_DATA_INVALID);
		if (rv != CKR_OK)
			goto out;
	}
	rv = op_ctx(key, op, p, in_len, k, &pctx);
	if (rv != CKR_OK)
		goto out;
	switch (op) {
	case OP_SIGN:
		if (EVP_PKEY_sign(pctx, out, &len, in, in_len) <= 0)
			rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		break;
	case OP_VERIFY:
		if (EVP_PKEY_verify(pctx, sig, sig_len, in, in_len) != 1)
			rv = EF_OSSL_FAIL(CKR_SIGNATURE_INVALID);
		break;
	case OP_ENCRYPT:
		if (EVP_PKEY_encrypt(pctx, out, &len, in, in_len) <= 0)
			rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		break;
	case OP_DECRYPT:
		if (EVP_PKEY_decrypt(pctx, out, &len, in, in_len) <= 0)
			rv = EF_OSSL_FAIL(CKR_ENCRYPTED_DATA_INVALID);
		break;
	}
	if (rv == CKR_OK && out_len != NULL)
		*out_len = len;
out:
	EVP_PKEY_CTX_free(pctx);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_rsa_sign(struct ef_pkey *kp, const struct ef_rsa_params *p,
		  const unsigned char *in, size_t in_len,
		  unsigned char *sig, size_t *sig_len)
{
	return run(kp, OP_SIGN, p, in, in_len, sig, sig_len, NULL, 0);
}

CK_RV ef_rsa_verify(struct ef_pkey *kp, const struct ef_rsa_params *p,
		    const unsigned char *in, size_t in_len,
		    const unsigned char *sig, size_t sig_len)
{
	return run(kp, OP_VERIFY, p, in, in_len, NULL, NULL, sig, sig_len);
}

CK_RV ef_rsa_encrypt(struct ef_pkey *kp, const struct ef_rsa_params *p,
		     const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len)
{
	return run(kp, OP_ENCRYPT, p, in, in_len, out, out_len, NULL, 0);
}

CK_RV ef_rsa_decrypt(struct ef_pkey *kp, const struct ef_rsa_params *p,
		     const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len)
{
	return run(kp, OP_DECRYPT, p, in, in_len, out, out_len, NULL, 0);
}
