/*
 * cms.c - a CMS SignedData (RFC 5652) whose signature comes from the
 * token.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OpenSSL's CMS API builds the structure, but it wants to sign with an
 * EVP_PKEY it holds; the key is in the module.  So the structure is built
 * "partial" with the certificate's public key standing in for the private
 * one (CMS_add1_signer only checks that the two match), the signed
 * attributes are added by hand, their DER is signed through PKCS#11 with
 * CKM_SHA256_RSA_PKCS, and the result is put in the SignerInfo.
 */
#include "cms.h"
#include "der.h"
#include "tool.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct attr_der {
	unsigned char *p;
	int len;
};

static int der_cmp(const void *a, const void *b)
{
	const struct attr_der *x = a, *y = b;
	int n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, (size_t)n);
	return c ? c : x->len - y->len;
}

/* The DER of the signed attributes as the signature covers them:
 * [RFC 5652 5.4] "the DER encoding of the SET OF attributes" with an
 * explicit SET OF tag, not the [0] IMPLICIT tag it is sent with.  DER
 * sorts the members of a SET OF by their encodings (X.690 11.6), which is
 * also how OpenSSL writes them out, so both sides hash the same bytes. */
static bool signed_attrs_der(CMS_SignerInfo *si, unsigned char **out, size_t *out_len)
{
	int n = CMS_signed_get_attr_count(si);
	struct attr_der *parts = NULL;
	size_t total = 0, o;
	unsigned char *buf = NULL;
	bool ok = false;

	if (n <= 0)
		return false;
	parts = calloc((size_t)n, sizeof(*parts));
	if (parts == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		parts[i].p = NULL;
		parts[i].len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &parts[i].p);
		if (parts[i].len <= 0)
			goto out;
		total += (size_t)parts[i].len;
	}
	qsort(parts, (size_t)n, sizeof(*parts), der_cmp);
	if (total >= 0x1000000)
		goto out;
	buf = malloc(ef_der_hdr_len(total) + total);
	if (buf == NULL)
		goto out;
	o = ef_der_put_hdr(buf, EF_DER_SET, total);
	for (int i = 0; i < n; i++) {
		memcpy(buf + o, parts[i].p, (size_t)parts[i].len);
		o += (size_t)parts[i].len;
	}
	*out = buf;
	*out_len = o;
	buf = NULL;
	ok = true;
out:
	for (int i = 0; i < n; i++)
		OPENSSL_free(parts[i].p);
	free(parts);
	free(buf);
	return ok;
}

int ef_cms_sign(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		const unsigned char *cert_der, size_t cert_len,
		const unsigned char *data, size_t len, bool detached,
		unsigned char **out, size_t *out_len)
{
	const unsigned char *cp = cert_der;
	X509 *cert = d2i_X509(NULL, &cp, (long)cert_len);
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	ASN1_TIME *now = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	unsigned char *tbs = NULL, *sig = NULL, *der = NULL;
	size_t tbs_len = 0, sig_len = 0;
	int der_len, rc = EF_EXIT_ERROR;
	unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;

	*out = NULL;
	*out_len = 0;
	if (cert == NULL) {
		ef_err(_("the token's certificate cannot be read"));
		goto out;
	}
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | (detached ? CMS_DETACHED : 0));
	if (cms == NULL)
		goto ossl;
	si = CMS_add1_signer(cms, cert, X509_get0_pubkey(cert), EVP_sha256(), flags);
	if (si == NULL)
		goto ossl;

	/* [RFC 5652 11.1-11.3] content type, message digest; plus the
	 * signing time, as every CMS signer writes it. */
	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL))
		goto ossl;
	now = X509_gmtime_adj(NULL, 0);
	if (now == NULL ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
					OBJ_nid2obj(NID_pkcs7_data), -1) <= 0 ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, now->type, now, -1) <= 0 ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
					md, (int)md_len) <= 0)
		goto ossl;
	if (!signed_attrs_der(si, &tbs, &tbs_len))
		goto ossl;

	rc = ef_p11_sign(p, s, key, CKM_SHA256_RSA_PKCS, tbs, tbs_len, &sig, &sig_len);
	if (rc != EF_EXIT_OK)
		goto out;
	rc = EF_EXIT_ERROR;
	if (!ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)sig_len))
		goto ossl;

	if (!detached) {
		ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
		if (pos == NULL)
			goto ossl;
		if (*pos == NULL)
			*pos = ASN1_OCTET_STRING_new();
		if (*pos == NULL || !ASN1_OCTET_STRING_set(*pos, data, (int)len))
			goto ossl;
		/* CMS_set_detached(cms, 0) marks the string as "to be
		 * streamed in"; this one is complete. */
		(*pos)->flags &= ~ASN1_STRING_FLAG_CONT;
	}
	der_len = i2d_CMS_ContentInfo(cms, &der);
	if (der_len <= 0)
		goto ossl;
	*out = malloc((size_t)der_len);
	if (*out == NULL)
		goto out;
	memcpy(*out, der, (size_t)der_len);
	*out_len = (size_t)der_len;
	rc = EF_EXIT_OK;
	goto out;
ossl:
	ef_err(_("cannot build the CMS signature: %s"),
	       ERR_reason_error_string(ERR_peek_last_error()) ?
		       ERR_reason_error_string(ERR_peek_last_error()) : "OpenSSL");
	rc = EF_EXIT_ERROR;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	free(tbs);
	free(sig);
	ASN1_TIME_free(now);
	CMS_ContentInfo_free(cms);
	X509_free(cert);
	return rc;
}
