/*
 * pkey.c - RSA keys as the module holds them: built in our library
 * context from the numbers the DER reader finds (a SubjectPublicKeyInfo,
 * a PKCS#1 RSAPrivateKey), compared, sized and reference counted.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * struct ef_pkey is never defined: a struct ef_pkey * is an EVP_PKEY *
 * under another name, so EVP_PKEY's own (thread-safe) reference count is
 * the key's reference count.
 */
#include <limits.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "pkey.h"

bool ef_spki_split(const unsigned char *p, size_t len, struct ef_spki *s)
{
	struct ef_der d = { p, len }, spki, alg, bits, rsa;

	memset(s, 0, sizeof(*s));
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &spki, NULL) ||
	    !ef_der_take(&spki, EF_DER_SEQUENCE, &alg, NULL) ||
	    !ef_der_take(&alg, EF_DER_OID, &s->alg_oid, NULL) ||
	    !ef_der_take(&spki, EF_DER_BIT_STRING, &bits, NULL) || spki.n != 0)
		return false;
	if (bits.n < 1 || bits.p[0] != 0)
		return false;
	s->key_bits = (struct ef_der){ bits.p + 1, bits.n - 1 };
	if (!ef_der_oid_is(s->alg_oid, EF_OID_RSA_ENCRYPTION))
		return true;
	/* RFC 8017 A.1.1: RSAPublicKey ::= SEQUENCE { modulus, publicExponent } */
	d = s->key_bits;
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &rsa, NULL) ||
	    !ef_der_take(&rsa, EF_DER_INTEGER, &s->n, NULL) ||
	    !ef_der_take(&rsa, EF_DER_INTEGER, &s->e, NULL) ||
	    !ef_der_uint(s->n, &s->n) || !ef_der_uint(s->e, &s->e) ||
	    s->n.p[0] == 0 || s->e.p[0] == 0)
		return false;
	s->is_rsa = true;
	return true;
}

/* An RSA key in our context from the parameters in bld: the public half
 * or the pair (selection).  The parameters are freed here (and wiped when
 * they came from secure BIGNUMs: see ef_pkey_rsa_private). */
static EVP_PKEY *rsa_from_params(OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *key = NULL;

	/* WORKAROUND(OpenSSL 3.0, libp11 engine): a name OpenSSL maps to a
	 * legacy NID ("RSA") makes EVP_PKEY_CTX_new_from_name consult the
	 * ENGINE table first, even in our own library context; in a program
	 * that set an engine as default for RSA (openssl -engine pkcs11) the
	 * context it returns cannot build keys.  The key management's OID
	 * name has no legacy NID, so only our context's provider is asked. */
	pctx = EVP_PKEY_CTX_new_from_name(ef_ossl_libctx(), "1.2.840.113549.1.1.1", NULL);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &key, selection, params) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	return key;
}

/* An RSA public key in our context, from n and e. */
EVP_PKEY *ef_pkey_rsa_public(struct ef_der n, struct ef_der e)
{
	BIGNUM *bn = BN_bin2bn(n.p, (int)n.n, NULL), *be = BN_bin2bn(e.p, (int)e.n, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *key = NULL;

	if (bn != NULL && be != NULL && bld != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		key = rsa_from_params(bld, EVP_PKEY_PUBLIC_KEY);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return key;
}

/* True when the key's n and e equal these magnitudes. */
static bool key_has_ne(EVP_PKEY *key, struct ef_der n, struct ef_der e)
{
	BIGNUM *kn = NULL, *ke = NULL, *xn = NULL, *xe = NULL;
	bool r = false;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &kn) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &ke) != 1)
		goto out;
	xn = BN_bin2bn(n.p, (int)n.n, NULL);
	xe = BN_bin2bn(e.p, (int)e.n, NULL);
	r = xn != NULL && xe != NULL && BN_cmp(kn, xn) == 0 && BN_cmp(ke, xe) == 0;
out:
	BN_free(kn);
	BN_free(ke);
	BN_free(xn);
	BN_free(xe);
	return r;
}

bool ef_pkey_is_rsa(const EVP_PKEY *key)
{
	/* Plain rsaEncryption only: an RSA-PSS-restricted key could not do
	 * the PKCS#1 v1.5 mechanisms the token advertises. */
	return EVP_PKEY_is_a(key, "RSA");
}

/* Decodes a PKCS#1 RSAPrivateKey (RFC 8017 A.1.2), which holds no OIDs.
 *
 * Not with OSSL_DECODER: OpenSSL 3.0's DER decoder copies its input into
 * buffers it frees without wiping, so the private exponent and primes
 * stayed in freed heap memory after logout (tests/hardening/test-secrets.c
 * finds them under ASan, whose allocator does not reuse freed memory at
 * once).  The integers are read here and handed to the provider as
 * parameters: BIGNUMs flagged secure make OSSL_PARAM_BLD put their copies
 * in the block that OSSL_PARAM_free wipes (with or without a secure heap,
 * which the module sets up only when configured to: ef_crypto_secure_heap). */
EVP_PKEY *ef_pkey_rsa_private(const unsigned char *der, size_t len)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	struct ef_der d = { der, len }, seq, v, mag;
	BIGNUM *bn[8] = { NULL };
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *key = NULL;
	unsigned long version;
	size_t i;

	/* RSAPrivateKey ::= SEQUENCE { version (0: two primes), n, e, d,
	 * p, q, dP, dQ, qInv }; multi-prime keys (version 1) are refused. */
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &seq, NULL) || d.n != 0 ||
	    !ef_der_take(&seq, EF_DER_INTEGER, &v, NULL) || !ef_der_small_uint(v, 0, &version))
		return NULL;
	for (i = 0; i < 8; i++) {
		if (!ef_der_take(&seq, EF_DER_INTEGER, &v, NULL) || !ef_der_uint(v, &mag) ||
		    mag.n > INT_MAX)
			goto out;
		bn[i] = BN_secure_new();
		if (bn[i] == NULL || BN_bin2bn(mag.p, (int)mag.n, bn[i]) == NULL)
			goto out;
	}
	if (seq.n != 0 || BN_is_zero(bn[0]) || BN_is_zero(bn[2]))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		goto out;
	for (i = 0; i < 8; i++)
		if (!OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
	key = rsa_from_params(bld, EVP_PKEY_KEYPAIR);
out:
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	if (key != NULL && !ef_pkey_is_rsa(key)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

CK_RV ef_pkey_accept(EVP_PKEY *key, struct ef_pkey **out)
{
	if (!ef_pkey_is_rsa(key)) {
		EVP_PKEY_free(key);
		return EF_FAIL(CKR_KEY_TYPE_INCONSISTENT);
	}
	*out = (struct ef_pkey *)key;
	return CKR_OK;
}

CK_RV ef_pubkey_from_spki(const unsigned char *spki, size_t len, struct ef_pkey **out)
{
	struct ef_spki sp;
	EVP_PKEY *key;
	CK_RV rv;

	*out = NULL;
	if (spki == NULL || len == 0)
		return EF_FAIL(CKR_DATA_INVALID);
	if (!ef_spki_split(spki, len, &sp))
		return EF_FAIL(CKR_DATA_INVALID);
	if (!sp.is_rsa)
		return EF_FAIL(CKR_KEY_TYPE_INCONSISTENT);
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	key = ef_pkey_rsa_public(sp.n, sp.e);
	rv = key == NULL ? EF_OSSL_FAIL(CKR_DATA_INVALID) : ef_pkey_accept(key, out);
	ERR_pop_to_mark();
	return rv;
}

bool ef_key_matches_spki(const struct ef_pkey *k, const unsigned char *spki, size_t len)
{
	struct ef_spki sp;
	bool r;

	if (k == NULL || spki == NULL || len == 0 || !ef_spki_split(spki, len, &sp) || !sp.is_rsa)
		return false;
	ef_ossl_mark();
	r = key_has_ne(ef_pkey_evp(k), sp.n, sp.e);
	ERR_pop_to_mark();
	return r;
}

size_t ef_key_size(const struct ef_pkey *k)
{
	int n;

	if (k == NULL)
		return 0;
	n = EVP_PKEY_get_size(ef_pkey_evp(k));
	return n > 0 ? (size_t)n : 0;
}

struct ef_pkey *ef_key_ref(struct ef_pkey *k)
{
	if (k != NULL && EVP_PKEY_up_ref(ef_pkey_evp(k)) != 1)
		return NULL;
	return k;
}

void ef_key_unref(struct ef_pkey *k)
{
	/* EVP_PKEY_free on the last reference frees the provider key data;
	 * the default provider's RSA free clears the private BIGNUMs. */
	if (k != NULL) {
		ef_ossl_mark();
		EVP_PKEY_free(ef_pkey_evp(k));
		ERR_pop_to_mark();
	}
}
