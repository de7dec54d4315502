/*
 * test-api-objects.c - the objects of each token, black-box through the
 * function list (doc/DESIGN.md §3):
 *   - for every SAT bundle: before login the certificate, the public key,
 *     the CA certificates that chain it (category 2, exactly the chain,
 *     computed here with OpenSSL from tests/data/sat/ca) and one CKO_PROFILE
 *     (CKP_PUBLIC_CERTIFICATES_TOKEN), no private key; after login the
 *     private key; one CKA_ID (SHA-1 of the subjectPublicKey BIT STRING,
 *     computed independently) on certificate, public and private key;
 *   - certificate attributes against the .cer (CKA_VALUE, SUBJECT, ISSUER,
 *     SERIAL_NUMBER with its tag, dates, category, trust, label), public key
 *     against the certificate, private key flags and sensitive components;
 *   - the vendor attributes of include/efirma-pkcs11.h (RFC, CURP, número,
 *     kind, persona, representative, holder, branch) per SOURCE.md;
 *   - C_GetAttributeValue rules of PKCS#11 2.40 section 5.7 for every
 *     attribute: NULL pValue, short buffer, unknown type, sensitive, mixed
 *     templates that still fill the other entries;
 *   - searches: by class+id, label, issuer+serial, value; unknown classes
 *     (NSS trust objects) and CKO_DATA match nothing; C_FindObjectsInit twice,
 *     invalid handles, private handles after logout;
 *   - writes refused (C_CreateObject, C_DestroyObject, C_SetAttributeValue,
 *     C_CopyObject) in R/O and R/W sessions.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509v3.h>

#include "../tap.h"
#include "api-util.h"

#define CKO_NSS_CRL_GUESS   0xCE534351UL
#define CKO_NSS_TRUST       0xCE534353UL
#define CKO_NSS_BUILTIN     0xCE534354UL
#define CKA_BOGUS           0x7FFF1234UL

/* SOURCE.md, bundle table. */
struct expect {
	const char *bundle;
	const char *rfc, *curp, *numero;
	CK_ULONG kind, persona;
	const char *rep_rfc, *rep_curp, *branch;
};

static const struct expect expects[] = {
	{ "fiel-pf-CACX7605101P8-2023", "CACX7605101P8", "CACX760510MGTSHC04", "30001000000500003282",
	  CKV_EFIRMA_KIND_EFIRMA, CKV_EFIRMA_PERSONA_FISICA, "", "", "" },
	{ "fiel-pf-FUNK671228PH6-2023", "FUNK671228PH6", "FUNK671228MCLNLR05", "30001000000500003285",
	  CKV_EFIRMA_KIND_EFIRMA, CKV_EFIRMA_PERSONA_FISICA, "", "", "" },
	{ "fiel-pm-EKU9003173C9-2023", "EKU9003173C9", "", "30001000000500003415",
	  CKV_EFIRMA_KIND_EFIRMA, CKV_EFIRMA_PERSONA_MORAL, "VADA800927DJ3", "VADA800927HSRSRL05", "" },
	{ "csd-pf-CACX7605101P8-2023", "CACX7605101P8", "CACX760510MGTSHC04", "30001000000500003316",
	  CKV_EFIRMA_KIND_CSD, CKV_EFIRMA_PERSONA_FISICA, "", "", "Sucirsa 1" },
	{ "csd-pm-EKU9003173C9-2023", "EKU9003173C9", "", "30001000000500003416",
	  CKV_EFIRMA_KIND_CSD, CKV_EFIRMA_PERSONA_MORAL, "VADA800927DJ3", "VADA800927HSRSRL05", "Sucursal 1" },
	{ "fiel-pf-IANL750210963-2019-expired", "IA\xc3\x91L750210963", "IANL750210HSRNZS09", "30001000000400002431",
	  CKV_EFIRMA_KIND_EFIRMA, CKV_EFIRMA_PERSONA_FISICA, "", "", "" },
	{ "fiel-pm-HAN930228SM9-2019-expired", "HA\xc3\x91" "930228SM9", "", "30001000000400002421",
	  CKV_EFIRMA_KIND_EFIRMA, CKV_EFIRMA_PERSONA_MORAL, "KAHO641101B39", "KAHO641101HNTLKS06", "" },
	{ "fiel-pm-AAA010101AAA-2017-expired", "AAA010101AAA", "", "30001000000300023685",
	  CKV_EFIRMA_KIND_EFIRMA, CKV_EFIRMA_PERSONA_MORAL, "HEGT7610034S2", "HEGT761003MDFRNN09", "" },
	{ "csd-pm-AAA010101AAA-2017-expired", "AAA010101AAA", "", "30001000000300023708",
	  CKV_EFIRMA_KIND_CSD, CKV_EFIRMA_PERSONA_MORAL, "HEGT7610034S2", "HEGT761003MDFRNN09", "CSD01_AAA010101AAA" },
};

static const struct expect *expect_for(const char *bundle)
{
	for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++)
		if (strcmp(expects[i].bundle, bundle) == 0)
			return &expects[i];
	return NULL;
}

/* ------------------------------------------------------------- helpers */

static bool attr_eq(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
		    const void *want, size_t wlen)
{
	unsigned char *v = NULL;
	CK_ULONG len = 0;
	bool r = api_attr(s, o, t, &v, &len) == CKR_OK && len == wlen && memcmp(v, want, wlen) == 0;
	if (!r && v)
		tap_diag("attribute 0x%lx: got %lu bytes, want %zu", (unsigned long)t, (unsigned long)len, wlen);
	free(v);
	return r;
}

static bool attr_str(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, const char *want)
{
	unsigned char *v = NULL;
	CK_ULONG len = 0;
	CK_RV rv = api_attr(s, o, t, &v, &len);
	bool r = rv == CKR_OK && len == strlen(want) && memcmp(v, want, len) == 0;
	if (!r)
		tap_diag("attribute 0x%lx: %s, got '%.*s', want '%s'", (unsigned long)t, ef_rv_name(rv),
			 (int)len, v ? (char *)v : "", want);
	free(v);
	return r;
}

static unsigned char *i2d_name(X509_NAME *n, int *len)
{
	unsigned char *p = NULL;
	*len = i2d_X509_NAME(n, &p);
	return p;
}

static bool bn_attr_eq(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
		       const BIGNUM *bn)
{
	unsigned char buf[1024];
	int n = BN_bn2bin(bn, buf);
	unsigned char *v = NULL;
	CK_ULONG len = 0;
	bool r = false;
	if (api_attr(s, o, t, &v, &len) == CKR_OK) {
		/* Big integers are big-endian; tolerate no leading zeros only. */
		r = len == (CK_ULONG)n && memcmp(v, buf, len) == 0;
	}
	free(v);
	return r;
}

static void date_of(const ASN1_TIME *t, CK_DATE *d)
{
	struct tm tm;
	char buf[48];
	memset(&tm, 0, sizeof tm);
	ASN1_TIME_to_tm(t, &tm);
	snprintf(buf, sizeof buf, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	memcpy(d->year, buf, 4);
	memcpy(d->month, buf + 4, 2);
	memcpy(d->day, buf + 6, 2);
}

/* The CA certificates in <sat>/ca (*.cer) that chain the leaf: issuer by
 * signature, then the issuer's issuer, up to a self-signed root. */
static size_t chain_of(X509 *leaf, unsigned char **ders, int *lens, size_t max)
{
	X509 *cas[32];
	size_t nca = 0, n = 0;
	DIR *d = opendir(api_sat("ca"));
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d)) && nca < 32) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".cer"))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", api_sat("ca"), e->d_name);
		X509 *x = api_load_cert(path);
		if (x)
			cas[nca++] = x;
	}
	closedir(d);
	X509 *cur = leaf;
	for (size_t depth = 0; depth < 8 && n < max; depth++) {
		X509 *next = NULL;
		if (X509_check_issued(cur, cur) == X509_V_OK && cur != leaf)
			break; /* self-signed root reached */
		for (size_t i = 0; i < nca; i++) {
			if (cas[i] == cur || X509_NAME_cmp(X509_get_subject_name(cas[i]),
							   X509_get_issuer_name(cur)) != 0)
				continue;
			if (X509_verify(cur, X509_get0_pubkey(cas[i])) == 1) {
				next = cas[i];
				break;
			}
		}
		if (!next)
			break;
		ders[n] = NULL;
		lens[n] = i2d_X509(next, &ders[n]);
		n++;
		cur = next;
	}
	for (size_t i = 0; i < nca; i++)
		X509_free(cas[i]);
	return n;
}

/* ------------------------------------------- C_GetAttributeValue rules */

/* [PKCS#11 2.40 5.7 C_GetAttributeValue] for one attribute of one object:
 * NULL pValue gives the length; a buffer one byte short gives
 * CKR_BUFFER_TOO_SMALL and CK_UNAVAILABLE_INFORMATION; an exact or larger
 * buffer gives the value and its true length. */
static void attr_rules(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, const char *what,
		       CK_ATTRIBUTE_TYPE t, bool required)
{
	CK_ATTRIBUTE a = { t, NULL, 0 };
	CK_RV rv = P->C_GetAttributeValue(s, o, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID) {
		ok(!required && a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
		   "%s 0x%lx: %s -> CKR_ATTRIBUTE_TYPE_INVALID with CK_UNAVAILABLE_INFORMATION",
		   what, (unsigned long)t, required ? "required attribute" : "absent");
		return;
	}
	if (!is_ul(rv, CKR_OK, "%s 0x%lx: length query with NULL pValue", what, (unsigned long)t))
		return;
	CK_ULONG len = a.ulValueLen;
	if (len == CK_UNAVAILABLE_INFORMATION) {
		ok(0, "%s 0x%lx: CKR_OK but length unavailable", what, (unsigned long)t);
		return;
	}
	unsigned char *buf = malloc(len + 16);
	if (len > 0) {
		a.pValue = buf;
		a.ulValueLen = len - 1;
		rv = P->C_GetAttributeValue(s, o, &a, 1);
		ok(rv == CKR_BUFFER_TOO_SMALL && a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
		   "%s 0x%lx: short buffer -> CKR_BUFFER_TOO_SMALL + CK_UNAVAILABLE_INFORMATION (%s, %lu)",
		   what, (unsigned long)t, ef_rv_name(rv), (unsigned long)a.ulValueLen);
	}
	a.pValue = buf;
	a.ulValueLen = len + 16;
	rv = P->C_GetAttributeValue(s, o, &a, 1);
	ok(rv == CKR_OK && a.ulValueLen == len, "%s 0x%lx: larger buffer -> value, length %lu",
	   what, (unsigned long)t, (unsigned long)len);
	free(buf);
}

static const CK_ATTRIBUTE_TYPE cert_attrs_required[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_CERTIFICATE_TYPE, CKA_TRUSTED,
	CKA_CERTIFICATE_CATEGORY, CKA_SUBJECT, CKA_ID, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_VALUE,
	CKA_START_DATE, CKA_END_DATE,
};
static const CK_ATTRIBUTE_TYPE cert_attrs_optional[] = {
	CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE, CKA_CHECK_VALUE, CKA_URL,
	CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_HASH_OF_ISSUER_PUBLIC_KEY,
	CKA_JAVA_MIDP_SECURITY_DOMAIN, CKA_NAME_HASH_ALGORITHM, CKA_PUBLIC_KEY_INFO,
	CKA_UNIQUE_ID, CKA_EFIRMA_RFC, CKA_EFIRMA_CURP, CKA_EFIRMA_NUMERO, CKA_EFIRMA_KIND,
	CKA_EFIRMA_PERSONA, CKA_EFIRMA_REP_RFC, CKA_EFIRMA_REP_CURP, CKA_EFIRMA_HOLDER,
	CKA_EFIRMA_BRANCH,
};
static const CK_ATTRIBUTE_TYPE pub_attrs_required[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_KEY_TYPE, CKA_ID, CKA_MODULUS,
	CKA_PUBLIC_EXPONENT, CKA_MODULUS_BITS, CKA_VERIFY, CKA_ENCRYPT,
};
static const CK_ATTRIBUTE_TYPE pub_attrs_optional[] = {
	CKA_LABEL, CKA_MODIFIABLE, CKA_SUBJECT, CKA_WRAP, CKA_VERIFY_RECOVER, CKA_DERIVE,
	CKA_LOCAL, CKA_START_DATE, CKA_END_DATE, CKA_KEY_GEN_MECHANISM, CKA_TRUSTED,
	CKA_PUBLIC_KEY_INFO, CKA_ALLOWED_MECHANISMS,
};
static const CK_ATTRIBUTE_TYPE priv_attrs_required[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_KEY_TYPE, CKA_ID, CKA_SIGN, CKA_DECRYPT,
	CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_AUTHENTICATE, CKA_MODULUS,
	CKA_PUBLIC_EXPONENT,
};
static const CK_ATTRIBUTE_TYPE priv_attrs_optional[] = {
	CKA_LABEL, CKA_MODIFIABLE, CKA_SUBJECT, CKA_UNWRAP, CKA_SIGN_RECOVER, CKA_DERIVE,
	CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED,
	CKA_KEY_GEN_MECHANISM, CKA_START_DATE, CKA_END_DATE, CKA_PUBLIC_KEY_INFO,
	CKA_ALLOWED_MECHANISMS,
};
static const CK_ATTRIBUTE_TYPE priv_components[] = {
	CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2,
	CKA_COEFFICIENT,
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void rules_for(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, const char *what,
		      const CK_ATTRIBUTE_TYPE *req, size_t nreq,
		      const CK_ATTRIBUTE_TYPE *opt, size_t nopt)
{
	for (size_t i = 0; i < nreq; i++)
		attr_rules(s, o, what, req[i], true);
	for (size_t i = 0; i < nopt; i++)
		attr_rules(s, o, what, opt[i], false);
}

static void test_template_mixes(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE cert, CK_OBJECT_HANDLE priv)
{
	CK_OBJECT_CLASS cls = 0;
	unsigned char bogus[64], label[256];
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_BOGUS, bogus, sizeof bogus },
		{ CKA_LABEL, label, sizeof label },
	};
	CK_RV rv = P->C_GetAttributeValue(s, cert, t, 3);
	is_ul(rv, CKR_ATTRIBUTE_TYPE_INVALID, "unknown type in a template -> CKR_ATTRIBUTE_TYPE_INVALID");
	is_ul(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION, "... its length is CK_UNAVAILABLE_INFORMATION");
	ok(t[0].ulValueLen == sizeof cls && cls == CKO_CERTIFICATE, "... CKA_CLASS before it still filled");
	ok(t[2].ulValueLen > 0 && t[2].ulValueLen < sizeof label, "... CKA_LABEL after it still filled");

	t[0].ulValueLen = sizeof cls;
	t[1].type = CKA_MODULUS; /* not a certificate attribute */
	t[1].ulValueLen = sizeof bogus;
	rv = P->C_GetAttributeValue(s, cert, t, 2);
	is_ul(rv, CKR_ATTRIBUTE_TYPE_INVALID, "CKA_MODULUS of a certificate -> CKR_ATTRIBUTE_TYPE_INVALID");
	is_ul(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION, "... CK_UNAVAILABLE_INFORMATION");

	unsigned char small[4];
	CK_ATTRIBUTE u[2] = {
		{ CKA_VALUE, small, sizeof small },
		{ CKA_CLASS, &cls, sizeof cls },
	};
	cls = 0;
	rv = P->C_GetAttributeValue(s, cert, u, 2);
	is_ul(rv, CKR_BUFFER_TOO_SMALL, "short CKA_VALUE in a template -> CKR_BUFFER_TOO_SMALL");
	is_ul(u[0].ulValueLen, CK_UNAVAILABLE_INFORMATION, "... its length CK_UNAVAILABLE_INFORMATION");
	ok(u[1].ulValueLen == sizeof cls && cls == CKO_CERTIFICATE, "... CKA_CLASS still filled");

	CK_ATTRIBUTE w[2] = { { CKA_VALUE, NULL, 0 }, { CKA_SUBJECT, NULL, 0 } };
	rv = P->C_GetAttributeValue(s, cert, w, 2);
	ok(rv == CKR_OK && w[0].ulValueLen > 100 && w[1].ulValueLen > 10,
	   "two NULL pValue entries: both lengths (%s)", ef_rv_name(rv));

	is_ul(P->C_GetAttributeValue(s, cert, NULL, 1), CKR_ARGUMENTS_BAD,
	      "C_GetAttributeValue(NULL template) -> CKR_ARGUMENTS_BAD");

	if (priv == CK_INVALID_HANDLE)
		return;
	unsigned char mod[512], pe[512];
	CK_BBOOL sign = 0;
	CK_ATTRIBUTE v[3] = {
		{ CKA_MODULUS, mod, sizeof mod },
		{ CKA_PRIVATE_EXPONENT, pe, sizeof pe },
		{ CKA_SIGN, &sign, sizeof sign },
	};
	rv = P->C_GetAttributeValue(s, priv, v, 3);
	is_ul(rv, CKR_ATTRIBUTE_SENSITIVE, "private exponent in a template -> CKR_ATTRIBUTE_SENSITIVE");
	is_ul(v[1].ulValueLen, CK_UNAVAILABLE_INFORMATION, "... its length CK_UNAVAILABLE_INFORMATION");
	is_ul(v[0].ulValueLen, 256, "... CKA_MODULUS still filled (256 bytes)");
	ok(v[2].ulValueLen == 1 && sign == CK_TRUE, "... CKA_SIGN still filled (TRUE)");
	v[1].pValue = NULL;
	v[1].ulValueLen = 0;
	rv = P->C_GetAttributeValue(s, priv, &v[1], 1);
	ok(rv == CKR_ATTRIBUTE_SENSITIVE && v[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	   "private exponent length query -> CKR_ATTRIBUTE_SENSITIVE too (%s)", ef_rv_name(rv));
}

/* ------------------------------------------------------ one whole token */

static void test_token(const struct api_bundle *b, bool deep)
{
	const struct expect *ex = expect_for(b->name);
	X509 *x = api_load_cert(b->cer);
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE h[64];
	CK_ULONG n;
	unsigned char id[20];
	const char *nm = b->name;
	char *cn = NULL;
	BIGNUM *n_bn = NULL, *e_bn = NULL;

	tap_diag("---- %s", nm);
	if (!ok(x != NULL && api_spki_sha1(x, id), "%s: OpenSSL reads the .cer", nm))
		goto done;
	if (!is_ul(api_init_bundle(b), CKR_OK, "%s: C_Initialize", nm))
		goto done;
	if (!is_ul(api_first_token_slot(&slot), CKR_OK, "%s: token present", nm) ||
	    !is_ul(api_open(slot, false, &s), CKR_OK, "%s: C_OpenSession (R/O)", nm))
		goto fin;

	/* ---- before login */
	n = api_find(s, NULL, 0, h, 64, NULL);
	ok(n != (CK_ULONG)-1 && n >= 4, "%s: %lu objects before login", nm, (unsigned long)n);
	is_ul(api_find_class(s, CKO_PRIVATE_KEY, NULL, 0), 0, "%s: no private key before login", nm);
	is_ul(api_find_class(s, CKO_PUBLIC_KEY, NULL, 0), 1, "%s: one public key before login", nm);
	is_ul(api_find_class(s, CKO_PROFILE, h, 64), 1, "%s: one CKO_PROFILE object", nm);
	is_ul(api_attr_ulong(s, h[0], CKA_PROFILE_ID, 0), CKP_PUBLIC_CERTIFICATES_TOKEN,
	      "%s: CKA_PROFILE_ID = CKP_PUBLIC_CERTIFICATES_TOKEN", nm);
	is_ul(api_attr_bool(s, h[0], CKA_TOKEN), 1, "%s: profile CKA_TOKEN TRUE", nm);

	/* certificates: one end entity, the rest exactly the CA chain */
	n = api_find_class(s, CKO_CERTIFICATE, h, 64);
	CK_OBJECT_HANDLE cert = CK_INVALID_HANDLE;
	unsigned char *chain[8];
	int chain_len[8];
	size_t nchain = chain_of(x, chain, chain_len, 8);
	bool cas_ok = true, cas_found[8] = { false }, dup = false;
	int leaves = 0;
	for (CK_ULONG i = 0; i < n && i < 64; i++) {
		CK_ULONG cat = api_attr_ulong(s, h[i], CKA_CERTIFICATE_CATEGORY, 99);
		if (cat == 1) {
			leaves++;
			cert = h[i];
			continue;
		}
		unsigned char *v = NULL;
		CK_ULONG len = 0;
		api_attr(s, h[i], CKA_VALUE, &v, &len);
		bool known = false;
		for (size_t k = 0; k < nchain; k++)
			if (v && (CK_ULONG)chain_len[k] == len && memcmp(chain[k], v, len) == 0) {
				if (cas_found[k])
					dup = true;
				cas_found[k] = known = true;
			}
		if (cat != 2 || !known) {
			cas_ok = false;
			tap_diag("certificate object %lu: category %lu, %s", (unsigned long)h[i],
				 (unsigned long)cat, known ? "in the chain" : "NOT in the chain");
		}
		free(v);
	}
	is_ul(leaves, 1, "%s: one certificate of category 1 (token user)", nm);
	ok(nchain >= 1, "%s: OpenSSL finds %zu CA certificates chaining the leaf", nm, nchain);
	ok(cas_ok, "%s: every other certificate is category 2 and in the leaf's chain", nm);
	bool all = nchain > 0;
	for (size_t k = 0; k < nchain; k++)
		all = all && cas_found[k];
	ok(all, "%s: every CA certificate of the chain is shown", nm);
	ok(!dup, "%s: no CA certificate shown twice", nm);
	for (size_t k = 0; k < nchain; k++)
		OPENSSL_free(chain[k]);
	if (cert == CK_INVALID_HANDLE)
		goto fin;

	/* ---- certificate attributes */
	size_t derlen;
	unsigned char *der = api_read_file(b->cer, &derlen);
	ok(der && attr_eq(s, cert, CKA_VALUE, der, derlen), "%s: CKA_VALUE is the .cer DER", nm);
	free(der);
	int l;
	unsigned char *p = i2d_name(X509_get_subject_name(x), &l);
	ok(attr_eq(s, cert, CKA_SUBJECT, p, (size_t)l), "%s: CKA_SUBJECT is the DER subject", nm);
	OPENSSL_free(p);
	p = i2d_name(X509_get_issuer_name(x), &l);
	ok(attr_eq(s, cert, CKA_ISSUER, p, (size_t)l), "%s: CKA_ISSUER is the DER issuer", nm);
	OPENSSL_free(p);
	p = NULL;
	l = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &p);
	ok(l > 2 && p[0] == 0x02 && attr_eq(s, cert, CKA_SERIAL_NUMBER, p, (size_t)l),
	   "%s: CKA_SERIAL_NUMBER is the DER INTEGER with tag 0x02", nm);
	OPENSSL_free(p);
	ok(attr_eq(s, cert, CKA_ID, id, 20), "%s: certificate CKA_ID = SHA-1(subjectPublicKey)", nm);
	is_ul(api_attr_ulong(s, cert, CKA_CERTIFICATE_TYPE, 99), CKC_X_509, "%s: CKA_CERTIFICATE_TYPE = CKC_X_509", nm);
	is_ul(api_attr_ulong(s, cert, CKA_CLASS, 99), CKO_CERTIFICATE, "%s: CKA_CLASS", nm);
	is_ul(api_attr_bool(s, cert, CKA_TRUSTED), 0, "%s: CKA_TRUSTED FALSE", nm);
	is_ul(api_attr_bool(s, cert, CKA_TOKEN), 1, "%s: certificate CKA_TOKEN TRUE", nm);
	is_ul(api_attr_bool(s, cert, CKA_PRIVATE), 0, "%s: certificate CKA_PRIVATE FALSE", nm);
	cn = api_cert_cn_utf8(x);
	ok(cn && attr_str(s, cert, CKA_LABEL, cn), "%s: CKA_LABEL = holder name '%s'", nm, cn ? cn : "?");
	CK_DATE d;
	date_of(X509_get0_notBefore(x), &d);
	ok(attr_eq(s, cert, CKA_START_DATE, &d, sizeof d), "%s: CKA_START_DATE = notBefore", nm);
	date_of(X509_get0_notAfter(x), &d);
	ok(attr_eq(s, cert, CKA_END_DATE, &d, sizeof d), "%s: CKA_END_DATE = notAfter", nm);

	/* ---- vendor attributes */
	if (ok(ex != NULL, "%s: expectations known", nm)) {
		ok(attr_str(s, cert, CKA_EFIRMA_RFC, ex->rfc), "%s: CKA_EFIRMA_RFC '%s'", nm, ex->rfc);
		ok(attr_str(s, cert, CKA_EFIRMA_CURP, ex->curp), "%s: CKA_EFIRMA_CURP '%s'", nm, ex->curp);
		ok(attr_str(s, cert, CKA_EFIRMA_NUMERO, ex->numero), "%s: CKA_EFIRMA_NUMERO %s", nm, ex->numero);
		is_ul(api_attr_ulong(s, cert, CKA_EFIRMA_KIND, 99), ex->kind, "%s: CKA_EFIRMA_KIND", nm);
		is_ul(api_attr_ulong(s, cert, CKA_EFIRMA_PERSONA, 99), ex->persona, "%s: CKA_EFIRMA_PERSONA", nm);
		ok(attr_str(s, cert, CKA_EFIRMA_REP_RFC, ex->rep_rfc), "%s: CKA_EFIRMA_REP_RFC '%s'", nm, ex->rep_rfc);
		ok(attr_str(s, cert, CKA_EFIRMA_REP_CURP, ex->rep_curp), "%s: CKA_EFIRMA_REP_CURP '%s'", nm, ex->rep_curp);
		ok(cn && attr_str(s, cert, CKA_EFIRMA_HOLDER, cn), "%s: CKA_EFIRMA_HOLDER", nm);
		ok(attr_str(s, cert, CKA_EFIRMA_BRANCH, ex->branch), "%s: CKA_EFIRMA_BRANCH '%s'", nm, ex->branch);
	}
	is_ul(api_attr_ulong(s, cert, CKA_EFIRMA_SOURCE, 99), CKV_EFIRMA_SOURCE_BUNDLE,
	      "%s: CKA_EFIRMA_SOURCE = configured bundle", nm);
	ok(attr_str(s, cert, CKA_EFIRMA_VOLUME, ""), "%s: CKA_EFIRMA_VOLUME empty", nm);
	ok(attr_str(s, cert, CKA_EFIRMA_CERT_PATH, b->cer), "%s: CKA_EFIRMA_CERT_PATH '%s'", nm,
	   b->cer);

	/* ---- public key */
	CK_OBJECT_HANDLE pub = api_one(s, CKO_PUBLIC_KEY);
	const BIGNUM *nn = NULL, *ee = NULL;
	EVP_PKEY *pk = X509_get0_pubkey(x);
	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n_bn);
	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e_bn);
	nn = n_bn;
	ee = e_bn;
	ok(attr_eq(s, pub, CKA_ID, id, 20), "%s: public key CKA_ID = certificate CKA_ID", nm);
	ok(nn && bn_attr_eq(s, pub, CKA_MODULUS, nn), "%s: public CKA_MODULUS = certificate's", nm);
	ok(ee && bn_attr_eq(s, pub, CKA_PUBLIC_EXPONENT, ee), "%s: public CKA_PUBLIC_EXPONENT = certificate's", nm);
	is_ul(api_attr_ulong(s, pub, CKA_KEY_TYPE, 99), CKK_RSA, "%s: public CKA_KEY_TYPE CKK_RSA", nm);
	is_ul(api_attr_ulong(s, pub, CKA_MODULUS_BITS, 0), 2048, "%s: CKA_MODULUS_BITS 2048", nm);
	is_ul(api_attr_bool(s, pub, CKA_VERIFY), 1, "%s: public CKA_VERIFY TRUE", nm);
	is_ul(api_attr_bool(s, pub, CKA_PRIVATE), 0, "%s: public CKA_PRIVATE FALSE", nm);

	if (deep) {
		rules_for(s, cert, "cert", cert_attrs_required, N(cert_attrs_required),
			  cert_attrs_optional, N(cert_attrs_optional));
		rules_for(s, pub, "pubkey", pub_attrs_required, N(pub_attrs_required),
			  pub_attrs_optional, N(pub_attrs_optional));
	}

	/* ---- login: the private key appears */
	if (!is_ul(api_login(s, b->pin), CKR_OK, "%s: C_Login", nm))
		goto fin;
	CK_OBJECT_HANDLE pv[4];
	is_ul(api_find_class(s, CKO_PRIVATE_KEY, pv, 4), 1, "%s: one private key after login", nm);
	CK_OBJECT_HANDLE priv = pv[0];
	CK_OBJECT_CLASS pcls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE byid[2] = { { CKA_CLASS, &pcls, sizeof pcls }, { CKA_ID, id, 20 } };
	n = api_find(s, byid, 2, pv, 4, NULL);
	ok(n == 1 && pv[0] == priv, "%s: private key found by CKA_CLASS + CKA_ID", nm);
	ok(attr_eq(s, priv, CKA_ID, id, 20), "%s: private key CKA_ID = certificate CKA_ID", nm);
	is_ul(api_attr_bool(s, priv, CKA_SENSITIVE), 1, "%s: CKA_SENSITIVE TRUE", nm);
	is_ul(api_attr_bool(s, priv, CKA_EXTRACTABLE), 0, "%s: CKA_EXTRACTABLE FALSE", nm);
	is_ul(api_attr_bool(s, priv, CKA_ALWAYS_AUTHENTICATE), 0, "%s: CKA_ALWAYS_AUTHENTICATE FALSE", nm);
	is_ul(api_attr_bool(s, priv, CKA_SIGN), 1, "%s: CKA_SIGN TRUE", nm);
	is_ul(api_attr_bool(s, priv, CKA_PRIVATE), 1, "%s: private key CKA_PRIVATE TRUE", nm);
	is_ul(api_attr_ulong(s, priv, CKA_KEY_TYPE, 99), CKK_RSA, "%s: private CKA_KEY_TYPE CKK_RSA", nm);
	if (ex)
		is_ul(api_attr_bool(s, priv, CKA_DECRYPT), ex->kind == CKV_EFIRMA_KIND_EFIRMA,
		      "%s: CKA_DECRYPT %s (key usage dataEncipherment)", nm,
		      ex->kind == CKV_EFIRMA_KIND_EFIRMA ? "TRUE" : "FALSE");
	ok(nn && bn_attr_eq(s, priv, CKA_MODULUS, nn), "%s: private CKA_MODULUS = certificate's", nm);
	ok(ee && bn_attr_eq(s, priv, CKA_PUBLIC_EXPONENT, ee), "%s: private CKA_PUBLIC_EXPONENT", nm);
	for (size_t i = 0; i < N(priv_components); i++) {
		unsigned char buf[512];
		CK_ATTRIBUTE a = { priv_components[i], buf, sizeof buf };
		CK_RV rv = P->C_GetAttributeValue(s, priv, &a, 1);
		ok(rv == CKR_ATTRIBUTE_SENSITIVE && a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
		   "%s: private component 0x%lx -> CKR_ATTRIBUTE_SENSITIVE + CK_UNAVAILABLE_INFORMATION (%s)",
		   nm, (unsigned long)priv_components[i], ef_rv_name(rv));
	}
	if (deep) {
		rules_for(s, priv, "privkey", priv_attrs_required, N(priv_attrs_required),
			  priv_attrs_optional, N(priv_attrs_optional));
		test_template_mixes(s, cert, priv);
	}

	/* ---- logout: the private handle dies, the public ones live */
	is_ul(P->C_Logout(s), CKR_OK, "%s: C_Logout", nm);
	CK_OBJECT_CLASS c2 = 0;
	CK_ATTRIBUTE ca = { CKA_CLASS, &c2, sizeof c2 };
	is_ul(P->C_GetAttributeValue(s, priv, &ca, 1), CKR_OBJECT_HANDLE_INVALID,
	      "%s: private key handle after logout -> CKR_OBJECT_HANDLE_INVALID", nm);
	ca.ulValueLen = sizeof c2;
	is_ul(P->C_GetAttributeValue(s, cert, &ca, 1), CKR_OK, "%s: certificate handle still valid", nm);
	is_ul(api_find_class(s, CKO_PRIVATE_KEY, NULL, 0), 0, "%s: no private key after logout", nm);

fin:
	if (s != CK_INVALID_HANDLE)
		P->C_CloseSession(s);
	api_finalize();
done:
	free(cn);
	BN_free(n_bn);
	BN_free(e_bn);
	X509_free(x);
}

/* ------------------------------------------------------------- searches */

static void test_searches(const struct api_bundle *b)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s, s2;
	CK_OBJECT_HANDLE h[64];
	CK_ULONG n, got;
	CK_RV rv;
	X509 *x = api_load_cert(b->cer);
	unsigned char id[20];

	tap_diag("---- searches on %s", b->name);
	if (!x || !api_spki_sha1(x, id) || api_init_bundle(b) != CKR_OK) {
		ok(0, "setup for the search tests");
		X509_free(x);
		return;
	}
	if (api_first_token_slot(&slot) != CKR_OK || api_open(slot, false, &s) != CKR_OK) {
		ok(0, "session for the search tests");
		goto out;
	}
	CK_OBJECT_HANDLE cert = api_leaf_cert(s);
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, id, 20 } };
	n = api_find(s, t, 2, h, 64, &rv);
	ok(n == 1 && h[0] == cert, "CKA_CLASS=certificate + CKA_ID -> the certificate (%s, %lu)",
	   ef_rv_name(rv), (unsigned long)n);
	cls = CKO_PUBLIC_KEY;
	n = api_find(s, t, 2, h, 64, &rv);
	ok(n == 1, "CKA_CLASS=public key + CKA_ID -> one public key (%lu)", (unsigned long)n);
	cls = CKO_PRIVATE_KEY;
	is_ul(api_find(s, t, 2, h, 64, &rv), 0, "CKA_CLASS=private key + CKA_ID before login -> none");

	char *cn = api_cert_cn_utf8(x);
	CK_ATTRIBUTE lt[2] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, cn, cn ? strlen(cn) : 0 } };
	cls = CKO_CERTIFICATE;
	n = api_find(s, lt, 2, h, 64, &rv);
	ok(n == 1 && h[0] == cert, "CKA_CLASS + CKA_LABEL '%s' -> the certificate", cn ? cn : "?");
	CK_ATTRIBUTE nolabel[2] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, "no such label", 13 } };
	is_ul(api_find(s, nolabel, 2, h, 64, &rv), 0, "unknown CKA_LABEL -> no match");
	free(cn);

	/* What NSS asks to find a certificate's twin: issuer + serial. */
	unsigned char *iss = NULL, *ser = NULL;
	int il = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
	int sl = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &ser);
	CK_ATTRIBUTE is[3] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ISSUER, iss, (CK_ULONG)il },
			       { CKA_SERIAL_NUMBER, ser, (CK_ULONG)sl } };
	n = api_find(s, is, 3, h, 64, &rv);
	ok(n == 1 && h[0] == cert, "CKA_ISSUER + CKA_SERIAL_NUMBER -> the certificate");
	OPENSSL_free(iss);
	OPENSSL_free(ser);
	size_t derlen;
	unsigned char *der = api_read_file(b->cer, &derlen);
	CK_ATTRIBUTE byval = { CKA_VALUE, der, (CK_ULONG)derlen };
	n = api_find(s, &byval, 1, h, 64, &rv);
	ok(n == 1 && h[0] == cert, "CKA_VALUE = the DER -> the certificate");
	free(der);

	CK_ULONG all = api_find(s, NULL, 0, h, 64, &rv);
	ok(all != (CK_ULONG)-1 && all >= 4, "empty template -> all objects (%lu)", (unsigned long)all);
	/* one at a time gives the same set */
	CK_ULONG one = 0;
	if (P->C_FindObjectsInit(s, NULL, 0) == CKR_OK) {
		CK_OBJECT_HANDLE o;
		while (P->C_FindObjects(s, &o, 1, &got) == CKR_OK && got == 1 && one < 1000)
			one++;
		P->C_FindObjectsFinal(s);
	}
	is_ul(one, all, "C_FindObjects one by one returns as many");

	CK_OBJECT_CLASS unknown[] = { CKO_NSS_CRL_GUESS, CKO_NSS_TRUST, CKO_NSS_BUILTIN, CKO_DATA,
				      CKO_SECRET_KEY, CKO_HW_FEATURE };
	for (size_t i = 0; i < N(unknown); i++) {
		CK_ATTRIBUTE u = { CKA_CLASS, &unknown[i], sizeof unknown[i] };
		n = api_find(s, &u, 1, h, 64, &rv);
		ok(rv == CKR_OK && n == 0, "CKA_CLASS 0x%lx -> zero matches, not an error (%s)",
		   (unsigned long)unknown[i], ef_rv_name(rv));
	}
	/* NSS trust lookups carry vendor attributes as well */
	CK_OBJECT_CLASS trust = CKO_NSS_TRUST;
	unsigned char sha1[20] = { 0 };
	CK_ATTRIBUTE nss[2] = { { CKA_CLASS, &trust, sizeof trust }, { 0xCE5363B4UL, sha1, 20 } };
	n = api_find(s, nss, 2, h, 64, &rv);
	ok(rv == CKR_OK && n == 0, "NSS trust template with vendor attribute -> zero matches (%s)", ef_rv_name(rv));
	cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE bogus[2] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_BOGUS, sha1, 4 } };
	n = api_find(s, bogus, 2, h, 64, &rv);
	ok(rv == CKR_OK && n == 0, "template with an unknown attribute type -> zero matches (%s)", ef_rv_name(rv));

	is_ul(P->C_FindObjectsInit(s, NULL, 0), CKR_OK, "C_FindObjectsInit");
	is_ul(P->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE,
	      "C_FindObjectsInit twice -> CKR_OPERATION_ACTIVE");
	is_ul(P->C_FindObjectsFinal(s), CKR_OK, "C_FindObjectsFinal");
	is_ul(P->C_FindObjects(s, h, 64, &got), CKR_OPERATION_NOT_INITIALIZED,
	      "C_FindObjects without init -> CKR_OPERATION_NOT_INITIALIZED");
	is_ul(P->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED,
	      "C_FindObjectsFinal without init -> CKR_OPERATION_NOT_INITIALIZED");
	is_ul(P->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD,
	      "C_FindObjectsInit(NULL, 1) -> CKR_ARGUMENTS_BAD");
	P->C_FindObjectsFinal(s);
	is_ul(P->C_FindObjectsInit(0xdeadbeef, NULL, 0), CKR_SESSION_HANDLE_INVALID,
	      "C_FindObjectsInit(bad session) -> CKR_SESSION_HANDLE_INVALID");

	/* handles */
	CK_OBJECT_CLASS c2;
	CK_ATTRIBUTE ca = { CKA_CLASS, &c2, sizeof c2 };
	is_ul(P->C_GetAttributeValue(s, 0xdeadbeef, &ca, 1), CKR_OBJECT_HANDLE_INVALID,
	      "C_GetAttributeValue(0xdeadbeef) -> CKR_OBJECT_HANDLE_INVALID");
	ca.ulValueLen = sizeof c2;
	is_ul(P->C_GetAttributeValue(s, CK_INVALID_HANDLE, &ca, 1), CKR_OBJECT_HANDLE_INVALID,
	      "C_GetAttributeValue(CK_INVALID_HANDLE) -> CKR_OBJECT_HANDLE_INVALID");
	ca.ulValueLen = sizeof c2;
	is_ul(P->C_GetAttributeValue(0xdeadbeef, cert, &ca, 1), CKR_SESSION_HANDLE_INVALID,
	      "C_GetAttributeValue(bad session) -> CKR_SESSION_HANDLE_INVALID");
	if (api_open(slot, false, &s2) == CKR_OK) {
		ca.ulValueLen = sizeof c2;
		c2 = 0;
		rv = P->C_GetAttributeValue(s2, cert, &ca, 1);
		ok(rv == CKR_OK && c2 == CKO_CERTIFICATE,
		   "a token object handle is valid in another session (%s)", ef_rv_name(rv));
		P->C_CloseSession(s2);
	}

	/* handles stay the same across a logout/login cycle for public objects */
	if (api_login(s, b->pin) == CKR_OK) {
		CK_OBJECT_HANDLE c3 = api_leaf_cert(s);
		is_ul(c3, cert, "certificate handle unchanged after login");
		P->C_Logout(s);
	}
	P->C_CloseSession(s);
out:
	api_finalize();
	X509_free(x);
}

/* ------------------------------------------------------------- sources */

/* The source attributes of the one token the configuration conf shows. */
static void check_source(const char *conf, const char *what, CK_ULONG kind, const char *volume,
			 const char *cert_path)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	if (!is_ul(api_init(conf), CKR_OK, "%s: C_Initialize", what))
		return;
	if (!is_ul(api_first_token_slot(&slot), CKR_OK, "%s: a token", what) ||
	    !is_ul(api_open(slot, false, &s), CKR_OK, "%s: C_OpenSession", what)) {
		api_finalize();
		return;
	}
	CK_OBJECT_HANDLE cert = api_leaf_cert(s), h[8];
	is_ul(api_attr_ulong(s, cert, CKA_EFIRMA_SOURCE, 99), kind, "%s: CKA_EFIRMA_SOURCE", what);
	ok(attr_str(s, cert, CKA_EFIRMA_VOLUME, volume), "%s: CKA_EFIRMA_VOLUME '%s'", what,
	   volume);
	ok(attr_str(s, cert, CKA_EFIRMA_CERT_PATH, cert_path), "%s: CKA_EFIRMA_CERT_PATH '%s'",
	   what, cert_path);
	attr_rules(s, cert, what, CKA_EFIRMA_SOURCE, true);
	attr_rules(s, cert, what, CKA_EFIRMA_VOLUME, true);
	attr_rules(s, cert, what, CKA_EFIRMA_CERT_PATH, true);

	/* An application looks for the tokens of one source. */
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ULONG other = kind == CKV_EFIRMA_SOURCE_VOLUME ? CKV_EFIRMA_SOURCE_FOLDER
							  : CKV_EFIRMA_SOURCE_VOLUME;
	CK_ATTRIBUTE by[2] = { { CKA_CLASS, &cls, sizeof cls },
			       { CKA_EFIRMA_SOURCE, &kind, sizeof kind } };
	CK_ULONG n = api_find(s, by, 2, h, 8, NULL);
	ok(n == 1 && h[0] == cert, "%s: found by CKA_EFIRMA_SOURCE", what);
	by[1].pValue = &other;
	is_ul(api_find(s, by, 2, h, 8, NULL), 0, "%s: not found by another source", what);
	P->C_CloseSession(s);
	api_finalize();
}

/* A [bundle] is test_token's; here a [directory] folder and a folder
 * standing in for the removable volumes' mount root (/media/$USER). */
static void test_sources(const struct api_bundle *b)
{
	const char *tmp = api_tmpdir();
	const char *name = strrchr(b->cer, '/') + 1;
	char dir[1200], cer[1400], root[1200], conf[4000];

	snprintf(dir, sizeof dir, "%s/SAT", tmp);
	snprintf(cer, sizeof cer, "%s/%s", dir, name);
	if (!ok(api_sh("mkdir -p '%s' && cp '%s' '%s' '%s/'", dir, b->cer, b->key, dir) == 0,
		"a folder with the bundle"))
		return;
	snprintf(conf, sizeof conf, "dir=%s removable=0 empty-slots=0 ca=%s", dir, api_sat("ca"));
	check_source(conf, "folder", CKV_EFIRMA_SOURCE_FOLDER, "", cer);

	snprintf(root, sizeof root, "%s/media", tmp);
	snprintf(cer, sizeof cer, "%s/KINGSTON/SAT/%s", root, name);
	if (!ok(api_sh("mkdir -p '%s/KINGSTON/SAT' && cp '%s' '%s' '%s/KINGSTON/SAT/'", root,
		       b->cer, b->key, root) == 0,
		"a stand-in volume KINGSTON with the bundle in SAT/"))
		return;
	snprintf(conf, sizeof conf, "removable-root=%s ca=%s", root, api_sat("ca"));
	check_source(conf, "volume", CKV_EFIRMA_SOURCE_VOLUME, "KINGSTON", cer);
}

/* --------------------------------------------------------- writes refused */

static bool refused(CK_RV rv)
{
	return rv == CKR_ACTION_PROHIBITED || rv == CKR_SESSION_READ_ONLY ||
	       rv == CKR_TOKEN_WRITE_PROTECTED || rv == CKR_FUNCTION_NOT_SUPPORTED ||
	       rv == CKR_ATTRIBUTE_READ_ONLY || rv == CKR_TEMPLATE_INCONSISTENT;
}

static void test_writes(const struct api_bundle *b)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (api_init_bundle(b) != CKR_OK || api_first_token_slot(&slot) != CKR_OK) {
		ok(0, "setup for the write tests");
		return;
	}
	for (int rw = 0; rw < 2; rw++) {
		const char *kind = rw ? "R/W" : "R/O";
		if (!is_ul(api_open(slot, rw, &s), CKR_OK, "%s session", kind))
			continue;
		if (rw)
			api_login(s, b->pin);
		CK_OBJECT_HANDLE cert = api_leaf_cert(s), o = CK_INVALID_HANDLE;
		CK_OBJECT_CLASS dc = CKO_DATA;
		CK_BBOOL tok = CK_TRUE;
		CK_ATTRIBUTE data[3] = { { CKA_CLASS, &dc, sizeof dc }, { CKA_TOKEN, &tok, sizeof tok },
					 { CKA_VALUE, "x", 1 } };
		rv = P->C_CreateObject(s, data, 3, &o);
		ok(refused(rv), "%s: C_CreateObject(token CKO_DATA) refused: %s", kind, ef_rv_name(rv));
		tok = CK_FALSE;
		rv = P->C_CreateObject(s, data, 3, &o);
		is_ul(rv, CKR_FUNCTION_NOT_SUPPORTED, "%s: C_CreateObject(session CKO_DATA) refused: %s",
		      kind, ef_rv_name(rv));
		if (rv == CKR_OK)
			P->C_DestroyObject(s, o);
		rv = P->C_DestroyObject(s, cert);
		ok(refused(rv), "%s: C_DestroyObject(certificate) refused: %s", kind, ef_rv_name(rv));
		ok(api_leaf_cert(s) == cert, "%s: ... the certificate is still there", kind);
		CK_ATTRIBUTE lab = { CKA_LABEL, "otro", 4 };
		rv = P->C_SetAttributeValue(s, cert, &lab, 1);
		ok(refused(rv), "%s: C_SetAttributeValue(CKA_LABEL) refused: %s", kind, ef_rv_name(rv));
		unsigned char *v = NULL;
		CK_ULONG len = 0;
		api_attr(s, cert, CKA_LABEL, &v, &len);
		ok(!(len == 4 && memcmp(v, "otro", 4) == 0), "%s: ... the label is unchanged", kind);
		free(v);
		rv = P->C_CopyObject(s, cert, NULL, 0, &o);
		ok(refused(rv), "%s: C_CopyObject refused: %s", kind, ef_rv_name(rv));
		if (rw) {
			CK_OBJECT_HANDLE priv = api_one(s, CKO_PRIVATE_KEY);
			rv = P->C_DestroyObject(s, priv);
			ok(refused(rv), "%s: C_DestroyObject(private key) refused: %s", kind, ef_rv_name(rv));
			CK_BBOOL t = CK_TRUE;
			CK_ATTRIBUTE ex = { CKA_EXTRACTABLE, &t, sizeof t };
			rv = P->C_SetAttributeValue(s, priv, &ex, 1);
			ok(refused(rv), "%s: C_SetAttributeValue(CKA_EXTRACTABLE=TRUE) refused: %s", kind, ef_rv_name(rv));
			is_ul(api_attr_bool(s, priv, CKA_EXTRACTABLE), 0, "%s: ... still not extractable", kind);
			P->C_Logout(s);
		}
		P->C_CloseSession(s);
	}
	api_finalize();
}

int main(void)
{
	struct api_bundle *all = NULL, main_b;
	size_t n;

	api_setup_env();
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	n = api_sat_bundles(&all);
	ok(n >= 9, "%zu SAT bundles with a certificate in %s", n, api_sat_dir());
	for (size_t i = 0; i < n; i++)
		TAP_PART(test_token(&all[i], strcmp(all[i].name, "fiel-pf-CACX7605101P8-2023") == 0 ||
				    strcmp(all[i].name, "csd-pm-EKU9003173C9-2023") == 0));
	if (api_sat_bundle("fiel-pf-CACX7605101P8-2023", &main_b)) {
		TAP_PART(test_searches(&main_b));
		TAP_PART(test_sources(&main_b));
		TAP_PART(test_writes(&main_b));
	}
	free(all);
	return tap_done();
}
