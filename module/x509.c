/*
 * x509.c - certificates: the facts the module needs from one (RFC 5280
 * fields read with der.h, SAT's reading of them with sat.h), DER or PEM,
 * one or many in a file, and whether one issued another.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pem.h"
#include "pkey.h"

static void *memdup_plain(const void *p, size_t len)
{
	void *q = malloc(len > 0 ? len : 1);

	if (q != NULL && len > 0)
		memcpy(q, p, len);
	return q;
}

/* The pieces of a Certificate (RFC 5280 §4.1) as spans into its DER. */
struct cert_parts {
	struct ef_der whole, tbs, sig_oid, sig;
	struct ef_der serial_tlv, serial_val, issuer, subject, spki;
	unsigned nb_tag, na_tag;
	struct ef_der nb, na;
	struct ef_der exts;    /* contents of the Extensions SEQUENCE, or empty */
};

static bool cert_split(const unsigned char *p, size_t len, struct cert_parts *c)
{
	struct ef_der d = { p, len }, cert, tbs, alg, val, x;

	memset(c, 0, sizeof(*c));
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &cert, &c->whole) ||
	    !ef_der_take(&cert, EF_DER_SEQUENCE, &tbs, &c->tbs) ||
	    !ef_der_take(&cert, EF_DER_SEQUENCE, &alg, NULL) ||
	    !ef_der_take(&alg, EF_DER_OID, &c->sig_oid, NULL) ||
	    !ef_der_take(&cert, EF_DER_BIT_STRING, &c->sig, NULL) || cert.n != 0)
		return false;
	/* version [0] EXPLICIT, DEFAULT v1 */
	if (ef_der_peek(&tbs, 0xa0) && !ef_der_take(&tbs, 0xa0, NULL, NULL))
		return false;
	if (!ef_der_take(&tbs, EF_DER_INTEGER, &c->serial_val, &c->serial_tlv) ||
	    c->serial_val.n == 0 ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, NULL) ||          /* signature */
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, &c->issuer) ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, &val, NULL) ||          /* validity */
	    !ef_der_next(&val, &c->nb_tag, &c->nb, NULL) ||
	    !ef_der_next(&val, &c->na_tag, &c->na, NULL) || val.n != 0 ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, &c->subject) ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, &c->spki))
		return false;
	/* issuerUniqueID [1], subjectUniqueID [2] (primitive or not) */
	if (ef_der_peek(&tbs, 0x81) || ef_der_peek(&tbs, 0xa1))
		ef_der_next(&tbs, NULL, NULL, NULL);
	if (ef_der_peek(&tbs, 0x82) || ef_der_peek(&tbs, 0xa2))
		ef_der_next(&tbs, NULL, NULL, NULL);
	if (ef_der_peek(&tbs, 0xa3)) {
		if (!ef_der_take(&tbs, 0xa3, &x, NULL) ||
		    !ef_der_take(&x, EF_DER_SEQUENCE, &c->exts, NULL) || x.n != 0)
			return false;
	}
	return tbs.n == 0;
}

static enum ef_str_type str_type_of(unsigned tag)
{
	switch (tag) {
	case EF_DER_UTF8:
		return EF_STR_UTF8;
	case EF_DER_T61:
		/* SAT writes Latin-1 bytes into T61Strings (the Ñ of
		 * HAÑ930228SM9 is 0xD1), not T.61 code points. */
		return EF_STR_LATIN1;
	case EF_DER_BMP:
		return EF_STR_BMP;
	case EF_DER_UNIVERSAL:
		return EF_STR_UNIVERSAL;
	default:
		/* Printable, IA5, Visible, Numeric; anything stranger is
		 * treated as ASCII and sat.c replaces what is not. */
		return EF_STR_ASCII;
	}
}

#define OID_AT_CN       EF_OID_BYTES(0x55, 0x04, 0x03)
#define OID_AT_OU       EF_OID_BYTES(0x55, 0x04, 0x0b)
#define OID_AT_SERIAL   EF_OID_BYTES(0x55, 0x04, 0x05)
#define OID_AT_UNIQUE   EF_OID_BYTES(0x55, 0x04, 0x2d)

/* The first attribute of this type in a Name (RFC 5280 §4.1.2.4:
 * SEQUENCE OF SET OF AttributeTypeAndValue), bytes borrowed. */
static struct ef_raw_str name_attr(struct ef_der name_tlv, const unsigned char *oid, size_t oid_len)
{
	struct ef_raw_str s = { NULL, 0, EF_STR_ASCII };
	struct ef_der d = name_tlv, rdns, rdn, atv, type, val;
	unsigned tag;

	if (!ef_der_take(&d, EF_DER_SEQUENCE, &rdns, NULL))
		return s;
	while (ef_der_take(&rdns, EF_DER_SET, &rdn, NULL)) {
		while (ef_der_take(&rdn, EF_DER_SEQUENCE, &atv, NULL)) {
			if (!ef_der_take(&atv, EF_DER_OID, &type, NULL) ||
			    !ef_der_oid_is(type, oid, oid_len) || !ef_der_next(&atv, &tag, &val, NULL))
				continue;
			s.bytes = val.p;
			s.len = val.n;
			s.type = str_type_of(tag);
			return s;
		}
	}
	return s;
}

/* UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime "YYYYMMDDHHMMSSZ", the only
 * forms RFC 5280 §4.1.2.5 allows. */
static bool parse_time(unsigned tag, struct ef_der v, struct tm *tm, time_t *t)
{
	int f[7] = { 0 }, i, nf, year;
	size_t pos = 0;

	if (tag == EF_DER_UTCTIME && v.n == 13)
		nf = 6;
	else if (tag == EF_DER_GENTIME && v.n == 15)
		nf = 7;
	else
		return false;
	if (v.p[v.n - 1] != 'Z')
		return false;
	for (i = 0; i < nf; i++, pos += 2) {
		if (v.p[pos] < '0' || v.p[pos] > '9' || v.p[pos + 1] < '0' || v.p[pos + 1] > '9')
			return false;
		f[i] = (v.p[pos] - '0') * 10 + (v.p[pos + 1] - '0');
	}
	if (nf == 6) {
		/* §4.1.2.5.1: YY >= 50 is 19YY, else 20YY */
		year = f[0] >= 50 ? 1900 + f[0] : 2000 + f[0];
		memmove(f + 1, f, sizeof(int) * 6);
	} else {
		year = f[0] * 100 + f[1];
	}
	/* f[2..6] = month, day, hour, minute, second */
	if (f[2] < 1 || f[2] > 12 || f[3] < 1 || f[3] > 31 || f[4] > 23 || f[5] > 59 || f[6] > 60)
		return false;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = year - 1900;
	tm->tm_mon = f[2] - 1;
	tm->tm_mday = f[3];
	tm->tm_hour = f[4];
	tm->tm_min = f[5];
	tm->tm_sec = f[6];
	*t = timegm(tm);
	return true;
}

#define OID_CE_KEY_USAGE     EF_OID_BYTES(0x55, 0x1d, 0x0f)
#define OID_CE_BASIC_CONSTR  EF_OID_BYTES(0x55, 0x1d, 0x13)
#define OID_CE_EXT_KEY_USAGE EF_OID_BYTES(0x55, 0x1d, 0x25)
#define OID_KP_CLIENT_AUTH   EF_OID_BYTES(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02)
#define OID_KP_EMAIL_PROT    EF_OID_BYTES(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04)

static bool parse_extensions(struct ef_der exts, struct ef_cert *out)
{
	struct ef_der ext, oid, val, v, s, o;

	while (exts.n > 0) {
		if (!ef_der_take(&exts, EF_DER_SEQUENCE, &ext, NULL) ||
		    !ef_der_take(&ext, EF_DER_OID, &oid, NULL))
			return false;
		if (ef_der_peek(&ext, EF_DER_BOOLEAN))
			ef_der_next(&ext, NULL, NULL, NULL);   /* critical */
		if (!ef_der_take(&ext, EF_DER_OCTET_STRING, &val, NULL))
			return false;
		if (ef_der_oid_is(oid, OID_CE_BASIC_CONSTR)) {
			/* BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, ... } */
			if (!ef_der_take(&val, EF_DER_SEQUENCE, &s, NULL))
				return false;
			out->is_ca = ef_der_take(&s, EF_DER_BOOLEAN, &v, NULL) && v.n == 1 && v.p[0] != 0;
		} else if (ef_der_oid_is(oid, OID_CE_KEY_USAGE)) {
			/* KeyUsage ::= BIT STRING, bit 0 = digitalSignature is
			 * the most significant bit of the first octet. */
			if (!ef_der_take(&val, EF_DER_BIT_STRING, &v, NULL) || v.n < 1)
				return false;
			out->has_key_usage = true;
			out->key_usage = 0;
			for (unsigned bit = 0; bit < 7; bit++) {
				size_t byte = 1 + bit / 8;

				if (byte < v.n && (v.p[byte] & (0x80u >> (bit % 8))))
					out->key_usage |= 1u << bit;
			}
		} else if (ef_der_oid_is(oid, OID_CE_EXT_KEY_USAGE)) {
			if (!ef_der_take(&val, EF_DER_SEQUENCE, &s, NULL))
				return false;
			while (ef_der_take(&s, EF_DER_OID, &o, NULL)) {
				if (ef_der_oid_is(o, OID_KP_CLIENT_AUTH))
					out->ext_key_usage |= EF_EKU_CLIENT_AUTH;
				else if (ef_der_oid_is(o, OID_KP_EMAIL_PROT))
					out->ext_key_usage |= EF_EKU_EMAIL_PROTECTION;
			}
		}
	}
	return true;
}

static void *memdup_span(struct ef_der s, size_t *len)
{
	*len = s.n;
	return memdup_plain(s.p, s.n);
}

/* Fills out from DER (the certificate is exactly c->whole). */
static CK_RV cert_from_parts(const struct cert_parts *c, struct ef_cert *out)
{
	struct ef_sat_subject subj;
	struct ef_spki sp;
	struct ef_raw_str icn;
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	memset(&subj, 0, sizeof(subj));
	if (!ef_spki_split(c->spki.p, c->spki.n, &sp) ||
	    !parse_time(c->nb_tag, c->nb, &out->not_before, &out->not_before_t) ||
	    !parse_time(c->na_tag, c->na, &out->not_after, &out->not_after_t) ||
	    !parse_extensions(c->exts, out)) {
		rv = EF_FAIL(CKR_DATA_INVALID);
		goto out;
	}
	out->der = memdup_span(c->whole, &out->der_len);
	out->subject = memdup_span(c->subject, &out->subject_len);
	out->issuer = memdup_span(c->issuer, &out->issuer_len);
	/* CKA_SERIAL_NUMBER is the DER encoding of the INTEGER, tag and
	 * length included ("DER-encoding of the certificate serial
	 * number", PKCS#11 3.0 §4.6.3). */
	out->serial = memdup_span(c->serial_tlv, &out->serial_len);
	out->spki = memdup_span(c->spki, &out->spki_len);
	if (out->der == NULL || out->subject == NULL || out->issuer == NULL ||
	    out->serial == NULL || out->spki == NULL) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	if (sp.is_rsa) {
		unsigned top = sp.n.p[0];

		out->modulus = memdup_span(sp.n, &out->modulus_len);
		out->exponent = memdup_span(sp.e, &out->exponent_len);
		if (out->modulus == NULL || out->exponent == NULL) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		out->modulus_bits = 8 * (unsigned long)(sp.n.n - 1);
		while (top != 0) {
			out->modulus_bits++;
			top >>= 1;
		}
		out->is_rsa = true;
	}
	/* CKA_ID: SHA-1 of the subjectPublicKey BIT STRING value without the
	 * unused-bits octet (RFC 5280 §4.2.1.2 method (1)); SAT leaf
	 * certificates carry no subjectKeyIdentifier to copy it from. */
	rv = ef_digest_oneshot(EF_HASH_SHA1, sp.key_bits.p, sp.key_bits.n, out->key_id);
	if (rv == CKR_OK)
		rv = ef_digest_oneshot(EF_HASH_SHA1, c->whole.p, c->whole.n, out->hash_sha1);
	if (rv != CKR_OK)
		goto out;
	out->self_issued = c->subject.n == c->issuer.n &&
			   memcmp(c->subject.p, c->issuer.p, c->subject.n) == 0;

	icn = name_attr(c->issuer, OID_AT_CN);
	out->issuer_cn = ef_sat_to_utf8(&icn);
	if (out->issuer_cn == NULL) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	subj.cn = name_attr(c->subject, OID_AT_CN);
	subj.ou = name_attr(c->subject, OID_AT_OU);
	subj.unique_id = name_attr(c->subject, OID_AT_UNIQUE);
	subj.serial_attr = name_attr(c->subject, OID_AT_SERIAL);
	subj.serial = c->serial_val.p;
	subj.serial_len = c->serial_val.n;
	subj.key_usage = out->key_usage;
	subj.has_key_usage = out->has_key_usage;
	subj.ext_key_usage = out->ext_key_usage;
	out->is_sat = ef_sat_facts_from(&subj, &out->sat);
	rv = CKR_OK;
out:
	if (rv != CKR_OK)
		ef_cert_clear(out);
	return rv;
}

static bool is_cert_pem_name(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 ||
	       strcmp(name, PEM_STRING_X509_OLD) == 0 ||
	       strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

/* Parses one DER certificate at der; *used gets its length. */
static CK_RV parse_one_der(const unsigned char *der, size_t len, size_t *used,
			   struct ef_cert *out)
{
	struct cert_parts c;

	memset(out, 0, sizeof(*out));
	if (!cert_split(der, len, &c))
		return EF_FAIL(CKR_DATA_INVALID);
	*used = c.whole.n;
	return cert_from_parts(&c, out);
}

/* Appends to a growing array. */
static CK_RV push_cert(struct ef_cert **arr, size_t *n, size_t *cap, struct ef_cert *c)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct ef_cert *na = realloc(*arr, ncap * sizeof(*na));

		if (na == NULL)
			return EF_FAIL(CKR_HOST_MEMORY);
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = *c;
	memset(c, 0, sizeof(*c));
	return CKR_OK;
}

/* The one worker behind ef_cert_parse (max 1) and ef_cert_parse_all. */
static CK_RV parse_certs(const unsigned char *data, size_t len, size_t max,
			 struct ef_cert **out, size_t *n)
{
	struct ef_cert c, *arr = NULL;
	size_t cap = 0, used = 0;
	struct ef_pem_block b;
	BIO *bio = NULL;
	CK_RV rv = CKR_OK;

	*out = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	if (data == NULL || len == 0)
		return CKR_OK;
	if (!ef_pem_armored(data, len)) {
		/* DER: one certificate, or several back to back. */
		while (len > 0 && *n < max) {
			rv = parse_one_der(data, len, &used, &c);
			if (rv == CKR_DATA_INVALID) {
				rv = CKR_OK;
				break;
			}
			if (rv == CKR_OK)
				rv = push_cert(&arr, n, &cap, &c);
			if (rv != CKR_OK)
				goto out;
			data += used;
			len -= used;
		}
		goto out;
	}
	if (len > INT_MAX)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL) {
		rv = EF_OSSL_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	while (*n < max && ef_pem_next(bio, &b)) {
		if (is_cert_pem_name(b.name) && b.body_len > 0) {
			rv = parse_one_der(b.body, (size_t)b.body_len, &used, &c);
			if (rv == CKR_OK)
				rv = push_cert(&arr, n, &cap, &c);
			if (rv == CKR_DATA_INVALID)
				rv = CKR_OK;   /* skip a broken block */
		}
		ef_pem_block_clear(&b);
		if (rv != CKR_OK)
			goto out;
	}
out:
	ef_cert_clear(&c);
	BIO_free(bio);
	if (rv != CKR_OK) {
		for (size_t i = 0; i < *n; i++)
			ef_cert_clear(&arr[i]);
		free(arr);
		arr = NULL;
		*n = 0;
	}
	*out = arr;
	return rv;
}

CK_RV ef_cert_parse(const unsigned char *data, size_t len, struct ef_cert *out)
{
	struct ef_cert *arr = NULL;
	size_t n = 0;
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	rv = parse_certs(data, len, 1, &arr, &n);
	if (rv == CKR_OK && n == 0)
		rv = EF_FAIL(CKR_DATA_INVALID);
	if (rv == CKR_OK)
		*out = arr[0];
	free(arr);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_cert_parse_all(const unsigned char *data, size_t len,
			struct ef_cert **out, size_t *n)
{
	CK_RV rv;

	*out = NULL;
	*n = 0;
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	rv = parse_certs(data, len, SIZE_MAX, out, n);
	ERR_pop_to_mark();
	return rv;
}

void ef_cert_clear(struct ef_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c->subject);
	free(c->issuer);
	free(c->serial);
	free(c->spki);
	free(c->modulus);
	free(c->exponent);
	free(c->issuer_cn);
	ef_sat_facts_clear(&c->sat);
	memset(c, 0, sizeof(*c));
}

/* The hash of an RSA PKCS#1 v1.5 signature algorithm (RFC 8017 A.2.4). */
static const char *sig_alg_md(struct ef_der oid)
{
	static const unsigned char pkcs1[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01 };

	if (oid.n != sizeof(pkcs1) + 1 || memcmp(oid.p, pkcs1, sizeof(pkcs1)) != 0)
		return NULL;
	switch (oid.p[sizeof(pkcs1)]) {
	case 0x05: return "SHA1";
	case 0x0e: return "SHA2-224";
	case 0x0b: return "SHA2-256";
	case 0x0c: return "SHA2-384";
	case 0x0d: return "SHA2-512";
	default: return NULL;
	}
}

bool ef_cert_issued_by(const struct ef_cert *child, const struct ef_cert *parent)
{
	struct cert_parts c;
	struct ef_spki sp;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY *pub = NULL;
	const char *md;
	bool r = false;

	if (child == NULL || parent == NULL || child->der == NULL || parent->spki == NULL)
		return false;
	if (!ef_ossl_ready())
		return false;
	ef_ossl_mark();
	/* RFC 5280 §6.1.3 (a)(4): the issuer name must match the working
	 * issuer name; SAT's CAs write both byte for byte the same, so a
	 * binary comparison is enough. */
	if (child->issuer_len != parent->subject_len ||
	    memcmp(child->issuer, parent->subject, child->issuer_len) != 0)
		goto out;
	if (!cert_split(child->der, child->der_len, &c) || c.sig.n < 2 || c.sig.p[0] != 0)
		goto out;
	md = sig_alg_md(c.sig_oid);
	if (md == NULL || !ef_spki_split(parent->spki, parent->spki_len, &sp) || !sp.is_rsa)
		goto out;
	pub = ef_pkey_rsa_public(sp.n, sp.e);
	mctx = EVP_MD_CTX_new();
	if (pub == NULL || mctx == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md, ef_ossl_libctx(), NULL, pub, NULL) != 1)
		goto out;
	r = EVP_DigestVerify(mctx, c.sig.p + 1, c.sig.n - 1, c.tbs.p, c.tbs.n) == 1;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pub);
	ERR_pop_to_mark();
	return r;
}
