/*
 * test-object.c - unit tests of the object layer (module/object.c) and the
 * mechanism table (module/mech.c): the attribute arrays built from a SAT
 * certificate and the rules of C_GetAttributeValue and C_FindObjects.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: test-object SAT_DATA_DIR   (tests/data/sat)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "tap.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (buf)
		*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static CK_ULONG ulong_attr(const struct ef_object *o, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };
	return ef_object_get(o, &a, 1) == CKR_OK ? v : (CK_ULONG)-1;
}

/* A string attribute, read the way an application does: its length
 * first, then into a buffer of exactly that size.  Static storage. */
static const char *str_attr(const struct ef_object *o, CK_ATTRIBUTE_TYPE type)
{
	static char buf[4096];
	CK_ATTRIBUTE a = { type, NULL, 0 };
	if (ef_object_get(o, &a, 1) != CKR_OK || a.ulValueLen >= sizeof(buf))
		return "(unreadable)";
	a.pValue = buf;
	if (ef_object_get(o, &a, 1) != CKR_OK)
		return "(unreadable)";
	buf[a.ulValueLen] = '\0';
	return buf;
}

/* [PKCS#11 3.0 C_GetAttributeValue] cases 1-5, on any object. */
static void test_get_rules(const struct ef_object *cert)
{
	unsigned char small[2], big[4096];
	CK_OBJECT_CLASS klass = 0;
	CK_ATTRIBUTE t[4] = {
		{ CKA_VALUE, NULL, 0 },                 /* length query */
		{ CKA_SUBJECT, small, sizeof(small) },  /* too small */
		{ 0x7fff1234UL, big, sizeof(big) },     /* unknown type */
		{ CKA_CLASS, &klass, sizeof(klass) },   /* fine */
	};
	CK_RV rv = ef_object_get(cert, t, 4);
	ok(rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID,
	   "mixed template reports a problem (0x%lx)", rv);
	ok(t[0].ulValueLen > 100, "NULL pValue gives the length (%lu)", t[0].ulValueLen);
	is_ul(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION, "short buffer -> CK_UNAVAILABLE_INFORMATION");
	is_ul(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION, "unknown type -> CK_UNAVAILABLE_INFORMATION");
	is_ul(klass, CKO_CERTIFICATE, "the good attribute is still filled");
	is_ul(t[3].ulValueLen, sizeof(klass), "... with its length");

	CK_ATTRIBUTE one = { 0x7fff1234UL, NULL, 0 };
	is_ul(ef_object_get(cert, &one, 1), CKR_ATTRIBUTE_TYPE_INVALID, "unknown alone -> TYPE_INVALID");
	CK_ATTRIBUTE sm = { CKA_VALUE, small, sizeof(small) };
	is_ul(ef_object_get(cert, &sm, 1), CKR_BUFFER_TOO_SMALL, "short alone -> BUFFER_TOO_SMALL");
	is_ul(ef_object_get(cert, NULL, 0), CKR_OK, "empty template -> OK");

	/* An exact-size buffer is enough. */
	CK_ATTRIBUTE q = { CKA_VALUE, NULL, 0 };
	ef_object_get(cert, &q, 1);
	unsigned char *exact = malloc(q.ulValueLen);
	CK_ATTRIBUTE e = { CKA_VALUE, exact, q.ulValueLen };
	is_ul(ef_object_get(cert, &e, 1), CKR_OK, "exact-size buffer -> OK");
	free(exact);
}

static void test_cert(const struct ef_cert *c, const unsigned char *der, size_t der_len)
{
	struct ef_object o = {0};
	struct ef_cert_source src = { CKV_EFIRMA_SOURCE_VOLUME, "KINGSTON",
				      "/media/ana/KINGSTON/SAT/x.cer" };
	is_ul(ef_object_build_cert(&o, c, 1, "XOCHILT CASAS CHAVEZ", &src), CKR_OK,
	      "build certificate object");
	ok(!o.is_private, "certificate is public");
	is_ul(ulong_attr(&o, CKA_CLASS), CKO_CERTIFICATE, "CKA_CLASS");
	is_ul(ulong_attr(&o, CKA_CERTIFICATE_TYPE), CKC_X_509, "CKA_CERTIFICATE_TYPE");
	is_ul(ulong_attr(&o, CKA_CERTIFICATE_CATEGORY), 1, "CKA_CERTIFICATE_CATEGORY = token user");
	ok(!ef_object_bool(&o, CKA_TRUSTED), "CKA_TRUSTED = FALSE");
	ok(ef_object_bool(&o, CKA_TOKEN), "CKA_TOKEN = TRUE");
	ok(!ef_object_bool(&o, CKA_MODIFIABLE), "CKA_MODIFIABLE = FALSE");

	const struct ef_attr *v = ef_object_attr(&o, CKA_VALUE);
	ok(v && v->len == der_len && memcmp(v->value, der, der_len) == 0, "CKA_VALUE is the .cer");
	const struct ef_attr *sn = ef_object_attr(&o, CKA_SERIAL_NUMBER);
	ok(sn && sn->len == 22 && ((unsigned char *)sn->value)[0] == 0x02 &&
	   ((unsigned char *)sn->value)[1] == 20,
	   "CKA_SERIAL_NUMBER is the DER INTEGER with its tag (20 ASCII digits)");
	const struct ef_attr *lab = ef_object_attr(&o, CKA_LABEL);
	ok(lab && lab->len == strlen("XOCHILT CASAS CHAVEZ"), "CKA_LABEL is the holder, no NUL");

	CK_DATE start, end;
	CK_ATTRIBUTE d[2] = { { CKA_START_DATE, &start, sizeof(start) },
			      { CKA_END_DATE, &end, sizeof(end) } };
	is_ul(ef_object_get(&o, d, 2), CKR_OK, "dates readable");
	ok(memcmp(start.year, "2023", 4) == 0 && memcmp(start.month, "05", 2) == 0 &&
	   memcmp(start.day, "09", 2) == 0, "CKA_START_DATE 2023-05-09");
	ok(memcmp(end.year, "2027", 4) == 0 && memcmp(end.month, "05", 2) == 0,
	   "CKA_END_DATE 2027-05");

	char rfc[32] = "", numero[32] = "";
	CK_ATTRIBUTE s[2] = { { CKA_EFIRMA_RFC, rfc, sizeof(rfc) - 1 },
			      { CKA_EFIRMA_NUMERO, numero, sizeof(numero) - 1 } };
	is_ul(ef_object_get(&o, s, 2), CKR_OK, "vendor attributes readable");
	is_str(rfc, "CACX7605101P8", "CKA_EFIRMA_RFC");
	is_str(numero, "30001000000500003282", "CKA_EFIRMA_NUMERO");
	is_ul(ulong_attr(&o, CKA_EFIRMA_KIND), CKV_EFIRMA_KIND_EFIRMA, "CKA_EFIRMA_KIND = e.firma");
	is_ul(ulong_attr(&o, CKA_EFIRMA_PERSONA), CKV_EFIRMA_PERSONA_FISICA, "CKA_EFIRMA_PERSONA = física");

	is_ul(ulong_attr(&o, CKA_EFIRMA_SOURCE), CKV_EFIRMA_SOURCE_VOLUME,
	      "CKA_EFIRMA_SOURCE = removable volume");
	is_str(str_attr(&o, CKA_EFIRMA_VOLUME), "KINGSTON", "CKA_EFIRMA_VOLUME");
	is_str(str_attr(&o, CKA_EFIRMA_CERT_PATH), "/media/ana/KINGSTON/SAT/x.cer",
	       "CKA_EFIRMA_CERT_PATH");

	/* Matching, as C_FindObjects uses it. */
	CK_OBJECT_CLASS klass = CKO_CERTIFICATE, other = CKO_PRIVATE_KEY, nss_trust = 0xCE534353UL;
	CK_ATTRIBUTE m1 = { CKA_CLASS, &klass, sizeof(klass) };
	CK_ATTRIBUTE m2 = { CKA_CLASS, &other, sizeof(other) };
	CK_ATTRIBUTE m3 = { CKA_CLASS, &nss_trust, sizeof(nss_trust) };
	CK_ATTRIBUTE m4[2] = { { CKA_CLASS, &klass, sizeof(klass) },
			       { CKA_ID, (void *)c->key_id, sizeof(c->key_id) } };
	CK_ATTRIBUTE m5 = { CKA_ID, (void *)c->key_id, 3 };
	ok(ef_object_matches(&o, &m1, 1), "matches its class");
	ok(!ef_object_matches(&o, &m2, 1), "does not match another class");
	ok(!ef_object_matches(&o, &m3, 1), "an unknown (NSS trust) class matches nothing");
	ok(ef_object_matches(&o, m4, 2), "matches class + CKA_ID");
	ok(!ef_object_matches(&o, &m5, 1), "a prefix of CKA_ID does not match");
	ok(ef_object_matches(&o, NULL, 0), "the empty template matches");

	test_get_rules(&o);
	ok(ef_object_size(&o) > der_len, "C_GetObjectSize covers the value");
	ef_object_clear(&o);
}

/* A folder's or a [bundle]'s token: no volume; an authority's
 * certificate: no source at all, it is not the token's bundle. */
static void test_cert_sources(const struct ef_cert *c)
{
	struct ef_object dir = { 0 }, conf = { 0 }, ca = { 0 };
	struct ef_cert_source in_dir = { CKV_EFIRMA_SOURCE_FOLDER, NULL, "/home/ana/SAT/x.cer" };
	struct ef_cert_source in_conf = { CKV_EFIRMA_SOURCE_BUNDLE, NULL, "efirma/x.cer" };
	CK_ATTRIBUTE vol = { CKA_EFIRMA_VOLUME, NULL, 0 };

	is_ul(ef_object_build_cert(&dir, c, 1, "x", &in_dir), CKR_OK,
	      "build a folder's certificate");
	is_ul(ulong_attr(&dir, CKA_EFIRMA_SOURCE), CKV_EFIRMA_SOURCE_FOLDER,
	      "CKA_EFIRMA_SOURCE = folder");
	is_ul(ef_object_get(&dir, &vol, 1), CKR_OK, "CKA_EFIRMA_VOLUME exists for a folder");
	is_ul(vol.ulValueLen, 0, "... and is empty");
	is_str(str_attr(&dir, CKA_EFIRMA_CERT_PATH), "/home/ana/SAT/x.cer",
	       "CKA_EFIRMA_CERT_PATH of a folder's");

	is_ul(ef_object_build_cert(&conf, c, 1, "x", &in_conf), CKR_OK,
	      "build a [bundle]'s certificate");
	is_ul(ulong_attr(&conf, CKA_EFIRMA_SOURCE), CKV_EFIRMA_SOURCE_BUNDLE,
	      "CKA_EFIRMA_SOURCE = configured bundle");
	is_str(str_attr(&conf, CKA_EFIRMA_CERT_PATH), "efirma/x.cer",
	       "CKA_EFIRMA_CERT_PATH as configured, even relative");
	CK_ULONG bundle = CKV_EFIRMA_SOURCE_BUNDLE;
	CK_ATTRIBUTE by_source = { CKA_EFIRMA_SOURCE, &bundle, sizeof(bundle) };
	ok(ef_object_matches(&conf, &by_source, 1) && !ef_object_matches(&dir, &by_source, 1),
	   "a search by CKA_EFIRMA_SOURCE tells the sources apart");

	is_ul(ef_object_build_cert(&ca, c, 2, "SAT CA", NULL), CKR_OK, "build an authority's");
	bool none = !ef_object_attr(&ca, CKA_EFIRMA_SOURCE) &&
		    !ef_object_attr(&ca, CKA_EFIRMA_VOLUME) &&
		    !ef_object_attr(&ca, CKA_EFIRMA_CERT_PATH);
	ok(none, "an authority's has no source");
	ef_object_clear(&dir);
	ef_object_clear(&conf);
	ef_object_clear(&ca);
}

static void test_keys(const struct ef_cert *c)
{
	struct ef_object pub = {0}, priv = {0};
	is_ul(ef_object_build_pubkey(&pub, c, "x", true), CKR_OK, "build public key");
	is_ul(ef_object_build_privkey(&priv, c, "x", false), CKR_OK, "build private key (no decrypt)");
	ok(!pub.is_private && priv.is_private, "only the private key is private");

	const struct ef_attr *n1 = ef_object_attr(&pub, CKA_MODULUS), *n2 = ef_object_attr(&priv, CKA_MODULUS);
	ok(n1 && n2 && n1->len == 256 && n1->len == n2->len && !memcmp(n1->value, n2->value, n1->len),
	   "both halves carry the 2048-bit modulus");
	const struct ef_attr *i1 = ef_object_attr(&pub, CKA_ID), *i2 = ef_object_attr(&priv, CKA_ID);
	ok(i1 && i2 && i1->len == 20 && !memcmp(i1->value, c->key_id, 20) && !memcmp(i2->value, c->key_id, 20),
	   "CKA_ID shared with the certificate");
	ok(ef_object_bool(&priv, CKA_SENSITIVE) && !ef_object_bool(&priv, CKA_EXTRACTABLE),
	   "sensitive and not extractable");
	ok(ef_object_bool(&priv, CKA_SIGN) && !ef_object_bool(&priv, CKA_DECRYPT),
	   "a key built without decrypt signs only");
	ok(!ef_object_bool(&priv, CKA_ALWAYS_AUTHENTICATE), "no per-signature PIN");

	static const CK_ATTRIBUTE_TYPE secret[] = { CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
						    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		unsigned char buf[512];
		CK_ATTRIBUTE a = { secret[i], buf, sizeof(buf) };
		CK_ATTRIBUTE q = { secret[i], NULL, 0 };
		is_ul(ef_object_get(&priv, &a, 1), CKR_ATTRIBUTE_SENSITIVE, "secret 0x%lx with a buffer -> SENSITIVE", secret[i]);
		is_ul(a.ulValueLen, CK_UNAVAILABLE_INFORMATION, "... and no length");
		is_ul(ef_object_get(&priv, &q, 1), CKR_ATTRIBUTE_SENSITIVE, "secret 0x%lx length query -> SENSITIVE", secret[i]);
		CK_ATTRIBUTE m = { secret[i], NULL, 0 };
		ok(!ef_object_matches(&priv, &m, 1), "a sensitive attribute never matches a search");
	}

	/* CSD: OAEP is left out of the allowed mechanisms. */
	CK_MECHANISM_TYPE mechs[32];
	CK_ATTRIBUTE am = { CKA_ALLOWED_MECHANISMS, mechs, sizeof(mechs) };
	ef_object_get(&priv, &am, 1);
	bool has_oaep = false;
	for (size_t i = 0; i < am.ulValueLen / sizeof(mechs[0]); i++)
		has_oaep |= mechs[i] == CKM_RSA_PKCS_OAEP;
	ok(!has_oaep, "a key that may not decrypt does not allow OAEP");
	ef_object_clear(&pub);
	ef_object_clear(&priv);

	struct ef_object prof = {0};
	is_ul(ef_object_build_profile(&prof, CKP_PUBLIC_CERTIFICATES_TOKEN), CKR_OK, "build profile");
	is_ul(ulong_attr(&prof, CKA_PROFILE_ID), CKP_PUBLIC_CERTIFICATES_TOKEN, "CKA_PROFILE_ID");
	is_ul(ulong_attr(&prof, CKA_CLASS), CKO_PROFILE, "CKO_PROFILE");
	ef_object_clear(&prof);
}

static void test_mech(void)
{
	CK_ULONG n = 0, n_csd = 0;
	is_ul(ef_mech_list(true, NULL, &n), CKR_OK, "mechanism count (e.firma)");
	is_ul(ef_mech_list(false, NULL, &n_csd), CKR_OK, "mechanism count (CSD)");
	ok(n == n_csd + 1, "the CSD lacks exactly OAEP (%lu vs %lu)", n, n_csd);
	CK_MECHANISM_TYPE list[64];
	CK_ULONG small = 2;
	is_ul(ef_mech_list(true, list, &small), CKR_BUFFER_TOO_SMALL, "short list -> BUFFER_TOO_SMALL");
	is_ul(small, n, "... with the count");

	CK_MECHANISM_INFO info;
	is_ul(ef_mech_info(CKM_RSA_PKCS, false, &info), CKR_OK, "RSA_PKCS on a CSD");
	ok((info.flags & CKF_SIGN) && !(info.flags & CKF_DECRYPT), "... signs, never decrypts");
	is_ul(ef_mech_info(CKM_RSA_PKCS_OAEP, false, &info), CKR_MECHANISM_INVALID, "OAEP on a CSD -> invalid");
	is_ul(ef_mech_info(CKM_SHA256, true, &info), CKR_OK, "SHA256 digest");
	ok(info.flags == CKF_DIGEST && info.ulMaxKeySize == 0, "... digest only, no key size");
	is_ul(ef_mech_info(CKM_MD5, true, &info), CKR_MECHANISM_INVALID, "MD5 -> invalid");

	/* doc/DESIGN.md §8: no raw RSA; PKCS#1 v1.5 decrypts only when allowed,
	 * and never on a CSD. */
	ok(ef_mech_find(CKM_RSA_X_509) == NULL, "CKM_RSA_X_509 is not offered");
	is_ul(ef_mech_info(CKM_RSA_PKCS, true, &info), CKR_OK, "RSA_PKCS on an e.firma");
	ok((info.flags & (CKF_SIGN | CKF_ENCRYPT)) == (CKF_SIGN | CKF_ENCRYPT) && !(info.flags & CKF_DECRYPT),
	   "... signs and encrypts, does not decrypt by default");
	ef_mech_allow_pkcs1_decrypt(true);
	ef_mech_info(CKM_RSA_PKCS, true, &info);
	ok(info.flags & CKF_DECRYPT, "... decrypts once allowed");
	ef_mech_info(CKM_RSA_PKCS, false, &info);
	ok(!(info.flags & CKF_DECRYPT), "... but not on a CSD");
	ef_mech_allow_pkcs1_decrypt(false);

	struct ef_rsa_params p;
	unsigned char *label = NULL;
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss) };
	const struct ef_mech *d = ef_mech_find(m.mechanism);
	is_ul(ef_mech_params(&m, d, EF_OP_SIGN, 256, &p, &label), CKR_OK, "SHA256-PSS {SHA256, MGF1-SHA256, 32}");
	ok(p.pad == EF_PAD_PSS && p.hash == EF_HASH_SHA256 && p.mgf1 == EF_HASH_SHA256 && p.salt_len == 32,
	   "... parameters carried over");
	pss.hashAlg = CKM_SHA_1;
	is_ul(ef_mech_params(&m, d, EF_OP_SIGN, 256, &p, &label), CKR_MECHANISM_PARAM_INVALID,
	      "SHA256-PSS with hashAlg SHA-1 -> PARAM_INVALID");
	pss.hashAlg = CKM_SHA256;
	pss.sLen = 256 - 32 - 1;
	is_ul(ef_mech_params(&m, d, EF_OP_SIGN, 256, &p, &label), CKR_MECHANISM_PARAM_INVALID,
	      "salt one byte too long -> PARAM_INVALID");
	pss.sLen = 256 - 32 - 2;
	is_ul(ef_mech_params(&m, d, EF_OP_SIGN, 256, &p, &label), CKR_OK, "the longest salt -> OK");
	m.ulParameterLen = sizeof(pss) - 1;
	is_ul(ef_mech_params(&m, d, EF_OP_SIGN, 256, &p, &label), CKR_MECHANISM_PARAM_INVALID,
	      "wrong parameter size -> PARAM_INVALID");
	pss.mgf = 0x99;
	m.ulParameterLen = sizeof(pss);
	is_ul(ef_mech_params(&m, d, EF_OP_SIGN, 256, &p, &label), CKR_MECHANISM_PARAM_INVALID,
	      "unknown MGF -> PARAM_INVALID");

	CK_MECHANISM raw = { CKM_RSA_PKCS, &pss, sizeof(pss) };
	is_ul(ef_mech_params(&raw, ef_mech_find(CKM_RSA_PKCS), EF_OP_SIGN, 256, &p, &label),
	      CKR_MECHANISM_PARAM_INVALID, "RSA_PKCS with a parameter -> PARAM_INVALID");
	CK_MECHANISM oaep_m = { CKM_RSA_PKCS_OAEP, NULL, 0 };
	is_ul(ef_mech_params(&oaep_m, ef_mech_find(CKM_RSA_PKCS_OAEP), EF_OP_SIGN, 256, &p, &label),
	      CKR_MECHANISM_INVALID, "OAEP cannot sign");
	CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "abc", 3 };
	oaep_m.pParameter = &oaep;
	oaep_m.ulParameterLen = sizeof(oaep);
	is_ul(ef_mech_params(&oaep_m, ef_mech_find(CKM_RSA_PKCS_OAEP), EF_OP_DECRYPT, 256, &p, &label),
	      CKR_OK, "OAEP with a label");
	ok(label && p.label == label && p.label_len == 3 && memcmp(label, "abc", 3) == 0,
	   "... the label is copied");
	free(label);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data/sat";
	char path[1024];
	size_t len = 0;
	struct ef_cert c = {0};

	snprintf(path, sizeof(path), "%s/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.cer", dir);
	unsigned char *der = slurp(path, &len);
	if (!ok(der != NULL, "read %s", path))
		return tap_done();
	is_ul(ef_crypto_init(), CKR_OK, "crypto init");
	is_ul(ef_cert_parse(der, len, &c), CKR_OK, "parse the SAT e.firma certificate");
	TAP_PART(test_cert(&c, der, len));
	TAP_PART(test_cert_sources(&c));
	TAP_PART(test_keys(&c));
	TAP_PART(test_mech());
	ef_cert_clear(&c);
	free(der);
	ef_crypto_fini();
	return tap_done();
}
