/*
 * digest.c - hashes, one-shot and running, with the digests the library
 * context fetched once.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * struct ef_digest is never defined: it is an EVP_MD_CTX under another name.
 */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ossl_ctx.h"

static const size_t g_md_size[] = {
	[EF_HASH_SHA1] = 20,
	[EF_HASH_SHA224] = 28,
	[EF_HASH_SHA256] = 32,
	[EF_HASH_SHA384] = 48,
	[EF_HASH_SHA512] = 64,
};


size_t ef_hash_size(enum ef_hash h)
{
	if ((unsigned)h >= sizeof(g_md_size) / sizeof(g_md_size[0]))
		return 0;
	return g_md_size[h];
}

CK_RV ef_digest_new(enum ef_hash h, struct ef_digest **out)
{
	CK_RV rv = CKR_OK;
	EVP_MD_CTX *m = NULL;

	*out = NULL;
	if (ef_hash_size(h) == 0)
		return EF_FAIL(CKR_MECHANISM_INVALID);
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	m = EVP_MD_CTX_new();
	if (m == NULL) {
		rv = EF_OSSL_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	if (EVP_DigestInit_ex2(m, ef_ossl_md(h), NULL) != 1) {
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
		goto out;
	}
	*out = (struct ef_digest *)m;
	m = NULL;
out:
	EVP_MD_CTX_free(m);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_digest_update(struct ef_digest *d, const unsigned char *data, size_t len)
{
	CK_RV rv = CKR_OK;

	if (len == 0)
		return CKR_OK;
	ef_ossl_mark();
	if (EVP_DigestUpdate((EVP_MD_CTX *)d, data, len) != 1)
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_digest_final(struct ef_digest *d, unsigned char *out)
{
	CK_RV rv = CKR_OK;
	unsigned int n = 0;

	ef_ossl_mark();
	if (EVP_DigestFinal_ex((EVP_MD_CTX *)d, out, &n) != 1)
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	ERR_pop_to_mark();
	return rv;
}

void ef_digest_free(struct ef_digest *d)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)d);
}


CK_RV ef_digest_oneshot(enum ef_hash h, const unsigned char *data, size_t len,
			unsigned char *out)
{
	CK_RV rv = CKR_OK;

	if (ef_hash_size(h) == 0)
		return EF_FAIL(CKR_MECHANISM_INVALID);
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	if (EVP_Digest(data, len, out, NULL, ef_ossl_md(h), NULL) != 1)
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	ERR_pop_to_mark();
	return rv;
}
