/*
 * certinfo.c - a certificate's SAT facts, offline: OpenSSL takes the
 * certificate apart, the module's sat.c says what the pieces mean, so the
 * tool and the token always agree on RFC, CURP, número and kind.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "certinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

const char *ef_kind_name(enum ef_sat_kind k)
{
	switch (k) {
	case EF_SAT_EFIRMA:
		return "e.firma";
	case EF_SAT_CSD:
		return "CSD";
	default:
		return "?";
	}
}

/* The first value of one attribute of a name, typed as sat.c wants it. */
static struct ef_raw_str name_value(const X509_NAME *name, int nid)
{
	struct ef_raw_str s = { NULL, 0, EF_STR_ASCII };
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0)
		return s;
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if (v == NULL)
		return s;
	s.bytes = ASN1_STRING_get0_data(v);
	s.len = (size_t)ASN1_STRING_length(v);
	switch (ASN1_STRING_type(v)) {
	case V_ASN1_UTF8STRING:
		s.type = EF_STR_UTF8;
		break;
	case V_ASN1_T61STRING:
		/* SAT writes Latin-1 bytes (Ñ) into T61String. */
		s.type = EF_STR_LATIN1;
		break;
	case V_ASN1_BMPSTRING:
		s.type = EF_STR_BMP;
		break;
	case V_ASN1_UNIVERSALSTRING:
		s.type = EF_STR_UNIVERSAL;
		break;
	default:
		s.type = EF_STR_ASCII;
		break;
	}
	return s;
}

static char *name_oneline(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL, *p;
	long n;
	if (b == NULL)
		return NULL;
	/* RFC 2253 order reversed to the order in the certificate, UTF-8,
	 * no escaping of non-ASCII bytes. */
	if (X509_NAME_print_ex(b, name, 0,
			       (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) |
				       ASN1_STRFLGS_UTF8_CONVERT) >= 0) {
		n = BIO_get_mem_data(b, &p);
		out = malloc((size_t)n + 1);
		if (out) {
			memcpy(out, p, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

static bool asn1_time(const ASN1_TIME *t, long long *out)
{
	struct tm tm;
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = (long long)timegm(&tm);
	return true;
}

static void fingerprint(X509 *x, const EVP_MD *md, char *out, size_t size)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o = 0;
	out[0] = '\0';
	if (!X509_digest(x, md, d, &n))
		return;
	for (unsigned int i = 0; i < n && o + 4 <= size; i++)
		o += (size_t)snprintf(out + o, size - o, i ? ":%02X" : "%02X", d[i]);
}

/* OpenSSL's keyUsage bits (KU_*) in RFC 5280 numbering (EF_KU_*). */
static uint32_t ku_bits(uint32_t ku)
{
	static const struct { uint32_t ossl, rfc; } map[] = {
		{ KU_DIGITAL_SIGNATURE, EF_KU_DIGITAL_SIGNATURE },
		{ KU_NON_REPUDIATION, EF_KU_NON_REPUDIATION },
		{ KU_KEY_ENCIPHERMENT, EF_KU_KEY_ENCIPHERMENT },
		{ KU_DATA_ENCIPHERMENT, EF_KU_DATA_ENCIPHERMENT },
		{ KU_KEY_AGREEMENT, EF_KU_KEY_AGREEMENT },
		{ KU_KEY_CERT_SIGN, EF_KU_KEY_CERT_SIGN },
		{ KU_CRL_SIGN, EF_KU_CRL_SIGN },
	};
	uint32_t r = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ku & map[i].ossl)
			r |= map[i].rfc;
	return r;
}

static X509 *parse_x509(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509 *x = NULL;
	if (len > 0 && len < (size_t)1 << 30)
		x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != data + len) {
		/* trailing bytes: not one certificate */
		X509_free(x);
		x = NULL;
	}
	if (x == NULL) {
		BIO *b = BIO_new_mem_buf(data, (int)(len < (size_t)1 << 30 ? len : 0));
		if (b != NULL) {
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			BIO_free(b);
		}
	}
	return x;
}

enum ef_ci_status ef_certinfo_parse(const unsigned char *data, size_t len,
				    struct ef_certinfo *ci)
{
	struct ef_sat_subject subj;
	const X509_NAME *name;
	const ASN1_INTEGER *serial;
	bool sat;

	memset(ci, 0, sizeof(*ci));
	ci->x509 = parse_x509(data, len);
	if (ci->x509 == NULL)
		return EF_CI_NOT_CERT;
	name = X509_get_subject_name(ci->x509);
	memset(&subj, 0, sizeof(subj));
	subj.cn = name_value(name, NID_commonName);
	subj.ou = name_value(name, NID_organizationalUnitName);
	subj.unique_id = name_value(name, NID_x500UniqueIdentifier);
	subj.serial_attr = name_value(name, NID_serialNumber);
	serial = X509_get0_serialNumber(ci->x509);
	subj.serial = ASN1_STRING_get0_data(serial);
	subj.serial_len = (size_t)ASN1_STRING_length(serial);
	/* X509_get_key_usage caches the extensions; UINT32_MAX means absent. */
	uint32_t ku = X509_get_key_usage(ci->x509);
	subj.has_key_usage = (X509_get_extension_flags(ci->x509) & EXFLAG_KUSAGE) != 0;
	subj.key_usage = subj.has_key_usage ? ku_bits(ku) : 0;
	if (X509_get_extension_flags(ci->x509) & EXFLAG_XKUSAGE) {
		uint32_t xku = X509_get_extended_key_usage(ci->x509);
		if (xku & XKU_SSL_CLIENT)
			subj.ext_key_usage |= EF_EKU_CLIENT_AUTH;
		if (xku & XKU_SMIME)
			subj.ext_key_usage |= EF_EKU_EMAIL_PROTECTION;
	}
	sat = ef_sat_facts_from(&subj, &ci->sat);
	if (ci->sat.holder == NULL || ci->sat.branch == NULL)
		return EF_CI_NOMEM;

	struct ef_raw_str icn = name_value(X509_get_issuer_name(ci->x509), NID_commonName);
	ci->issuer_cn = ef_sat_to_utf8(&icn);
	ci->subject = name_oneline(name);
	ci->issuer = name_oneline(X509_get_issuer_name(ci->x509));
	if (ci->issuer_cn == NULL || ci->subject == NULL || ci->issuer == NULL)
		return EF_CI_NOMEM;
	if (!asn1_time(X509_get0_notBefore(ci->x509), &ci->not_before) ||
	    !asn1_time(X509_get0_notAfter(ci->x509), &ci->not_after))
		return EF_CI_NOT_CERT;
	fingerprint(ci->x509, EVP_sha256(), ci->sha256, sizeof(ci->sha256));
	fingerprint(ci->x509, EVP_sha1(), ci->sha1, sizeof(ci->sha1));
	EVP_PKEY *pk = X509_get0_pubkey(ci->x509);
	ci->key_bits = pk ? (unsigned)EVP_PKEY_get_bits(pk) : 0;
	return sat ? EF_CI_OK : EF_CI_NOT_SAT;
}

void ef_certinfo_clear(struct ef_certinfo *ci)
{
	if (ci == NULL)
		return;
	X509_free(ci->x509);
	ef_sat_facts_clear(&ci->sat);
	free(ci->subject);
	free(ci->issuer);
	free(ci->issuer_cn);
	memset(ci, 0, sizeof(*ci));
}

bool ef_cert_verify(X509 *cert, const EVP_MD *md, const unsigned char *data, size_t len,
		    const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	bool ok = ctx != NULL && pk != NULL &&
		  EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
		  EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}
