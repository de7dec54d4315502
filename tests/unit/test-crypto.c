/*
 * test-crypto.c - unit tests of the crypto layer (module/crypto.h)
 * against the SAT test bundles.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: test-crypto [TESTDATA_SAT_DIR]   (default tests/data/sat)
 *
 * Expected facts are hard-coded from the table in SOURCE.md and from the
 * openssl command line (`openssl x509 -ocspid -fingerprint -sha1`).  Every
 * signature made by the crypto layer is also checked by code in this file that
 * uses OpenSSL's default library context (independent of it), and
 * some by the openssl command line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "tap.h"

static const char *g_dir = "tests/data/sat";
static char g_tmp[256];
static bool g_have_cli;

/* ---------------------------------------------------------------- helpers */

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static unsigned char *data_file(const char *rel, size_t *len)
{
	char path[1024];
	unsigned char *b;

	snprintf(path, sizeof(path), "%s/%s", g_dir, rel);
	b = slurp(path, len);
	if (b == NULL)
		tap_diag("cannot read %s", path);
	return b;
}

static bool spit(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool r;

	if (f == NULL)
		return false;
	r = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && r;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02X", p[i]);
	out[2 * n] = '\0';
}

static bool unhex(const char *h, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (unsigned char)v;
	}
	return h[2 * n] == '\0';
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static time_t utc(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return (time_t)-1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* Independent view of a certificate: OpenSSL's default context, used
 * only by the test. */
static X509 *indep_x509(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;

	return d2i_X509(NULL, &p, (long)len);
}

static EVP_PKEY *indep_pub(const struct ef_cert *c)
{
	const unsigned char *p = c->spki;

	return d2i_PUBKEY(NULL, &p, (long)c->spki_len);
}

static const EVP_MD *indep_md(enum ef_hash h)
{
	switch (h) {
	case EF_HASH_SHA1: return EVP_sha1();
	case EF_HASH_SHA224: return EVP_sha224();
	case EF_HASH_SHA256: return EVP_sha256();
	case EF_HASH_SHA384: return EVP_sha384();
	case EF_HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static const char *hash_name(enum ef_hash h)
{
	static const char *n[] = { "none", "sha1", "sha224", "sha256", "sha384", "sha512" };

	return (unsigned)h < 6 ? n[h] : "?";
}

/* Verifies what the crypto layer signed with OpenSSL itself, in library
 * context libctx (NULL: the default one), never with the module. */
static bool indep_verify_in(OSSL_LIB_CTX *libctx, EVP_PKEY *pub, const struct ef_rsa_params *p,
			    const unsigned char *in, size_t in_len,
			    const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(libctx, pub, NULL);
	bool r = false;

	if (c == NULL || EVP_PKEY_verify_init(c) <= 0)
		goto out;
	if (p->pad == EF_PAD_PKCS1) {
		if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)
			goto out;
		if (p->hash != EF_HASH_NONE &&
		    EVP_PKEY_CTX_set_signature_md(c, indep_md(p->hash)) <= 0)
			goto out;
	} else if (p->pad == EF_PAD_PSS) {
		if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(c, indep_md(p->hash)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(c, indep_md(p->mgf1)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(c, (int)p->salt_len) <= 0)
			goto out;
	} else {
		goto out;
	}
	r = EVP_PKEY_verify(c, sig, sig_len, in, in_len) == 1;
out:
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return r;
}

static bool indep_verify(EVP_PKEY *pub, const struct ef_rsa_params *p,
			 const unsigned char *in, size_t in_len,
			 const unsigned char *sig, size_t sig_len)
{
	return indep_verify_in(NULL, pub, p, in, in_len, sig, sig_len);
}

/* The same in a library context of the test's own (the child's default
 * context has only the null provider): the certificate's public key, and
 * the signature checked there. */
static bool own_verify(const struct ef_cert *c, const struct ef_rsa_params *p,
		       const unsigned char *in, size_t in_len,
		       const unsigned char *sig, size_t sig_len)
{
	OSSL_LIB_CTX *own = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *prov = own ? OSSL_PROVIDER_load(own, "default") : NULL;
	const unsigned char *der = c->spki;
	EVP_PKEY *pub = prov ? d2i_PUBKEY_ex(NULL, &der, (long)c->spki_len, own, NULL) : NULL;
	bool r = pub != NULL && indep_verify_in(own, pub, p, in, in_len, sig, sig_len);

	EVP_PKEY_free(pub);
	OSSL_PROVIDER_unload(prov);
	OSSL_LIB_CTX_free(own);
	return r;
}

/* ------------------------------------------------- the SAT bundle table */

struct leaf {
	const char *cer, *key;
	const char *rfc, *curp, *rep_rfc, *rep_curp, *numero, *holder, *branch;
	enum ef_sat_kind kind;
	enum ef_sat_persona persona;
	const char *not_before, *not_after;
	const char *key_id, *sha1;   /* openssl x509 -ocspid / -fingerprint -sha1 */
	const char *issuer_cn;
};

#define KU_FIEL (EF_KU_DIGITAL_SIGNATURE | EF_KU_NON_REPUDIATION | \
		 EF_KU_DATA_ENCIPHERMENT | EF_KU_KEY_AGREEMENT)
#define KU_CSD (EF_KU_DIGITAL_SIGNATURE | EF_KU_NON_REPUDIATION)

static const struct leaf g_leaves[] = {
	{ "fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.cer",
	  "fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.key",
	  "CACX7605101P8", "CACX760510MGTSHC04", "", "", "30001000000500003282",
	  "XOCHILT CASAS CHAVEZ", "", EF_SAT_EFIRMA, EF_SAT_FISICA,
	  "2023-05-09 18:05:49", "2027-05-08 18:05:49",
	  "713021F626D8EC622452360A863D6DC9F12465B7",
	  "9CE914C2C9BB47A2A16B2D3E504340D0CFF3C240", "AC UAT" },
	{ "fiel-pf-FUNK671228PH6-2023/FUNK671228PH6_fiel.cer",
	  "fiel-pf-FUNK671228PH6-2023/FUNK671228PH6_fiel.key",
	  "FUNK671228PH6", "FUNK671228MCLNLR05", "", "", "30001000000500003285",
	  "KARLA FUENTE NOLASCO", "", EF_SAT_EFIRMA, EF_SAT_FISICA,
	  "2023-05-09 18:07:00", "2027-05-08 18:07:00",
	  "41578D1C0F5BEDD4216DCEFF7D3A47AB327A69C0",
	  "105A43F4ABABA26ED6D1F28FCCCCE4FC3020131C", "AC UAT" },
	{ "fiel-pm-EKU9003173C9-2023/EKU9003173C9_fiel.cer",
	  "fiel-pm-EKU9003173C9-2023/EKU9003173C9_fiel.key",
	  "EKU9003173C9", "", "VADA800927DJ3", "VADA800927HSRSRL05", "30001000000500003415",
	  "ESCUELA KEMPER URGATE SA DE CV", "", EF_SAT_EFIRMA, EF_SAT_MORAL,
	  "2023-05-18 04:37:14", "2027-05-17 04:37:14",
	  "DD77B70422E12D677586F9030639D93B2AF7C3E9",
	  "A83F22A57B83929746B31D13AB48E48455D08A79", "AC UAT" },
	{ "csd-pf-CACX7605101P8-2023/CACX7605101P8_csd.cer",
	  "csd-pf-CACX7605101P8-2023/CACX7605101P8_csd.key",
	  "CACX7605101P8", "CACX760510MGTSHC04", "", "", "30001000000500003316",
	  "XOCHILT CASAS CHAVEZ", "Sucirsa 1", EF_SAT_CSD, EF_SAT_FISICA,
	  "2023-05-09 21:37:36", "2027-05-09 21:37:36",
	  "3BC63A96A875B4B1ACEA554EC9DC9E051032FDCE",
	  "A8C3A36EC534166ED527E8DC64427B407BE13AC1", "AC UAT" },
	{ "csd-pm-EKU9003173C9-2023/EKU9003173C9_csd.cer",
	  "csd-pm-EKU9003173C9-2023/EKU9003173C9_csd.key",
	  "EKU9003173C9", "", "VADA800927DJ3", "VADA800927HSRSRL05", "30001000000500003416",
	  "ESCUELA KEMPER URGATE SA DE CV", "Sucursal 1", EF_SAT_CSD, EF_SAT_MORAL,
	  "2023-05-18 11:43:51", "2027-05-18 11:43:51",
	  "46A47552487F707A9F9F7A5B9D0F4159AFB5E627",
	  "179B4271EA511BB9ECAFA2E0C4A255AAB93E17F9", "AC UAT" },
	{ "fiel-pf-IANL750210963-2019-expired/IANL750210963_fiel.cer",
	  "fiel-pf-IANL750210963-2019-expired/IANL750210963_fiel.key",
	  "IA\xC3\x91L750210963", "IANL750210HSRNZS09", "", "", "30001000000400002431",
	  "LUIS IAN \xC3\x91UZCO", "", EF_SAT_EFIRMA, EF_SAT_FISICA,
	  "2019-06-14 21:58:00", "2023-06-13 21:58:00",
	  "E983073E4A057AC1AC920FE2740E5AA055541ECA",
	  "9ED48908FA74E9E106C9A8D9D7F4CA8023D74583", "AC UAT" },
	{ "fiel-pm-HAN930228SM9-2019-expired/HAN930228SM9_fiel.cer",
	  "fiel-pm-HAN930228SM9-2019-expired/HAN930228SM9_fiel.key",
	  "HA\xC3\x91" "930228SM9", "", "KAHO641101B39", "KAHO641101HNTLKS06",
	  "30001000000400002421",
	  "HERMANOS ANZURES \xC3\x91" "ARVAEZ SA", "", EF_SAT_EFIRMA, EF_SAT_MORAL,
	  "2019-06-14 21:26:00", "2023-06-13 21:26:00",
	  "1DFF9A1EC8B0393A1B56EE5C0A616030063522DD",
	  "3ABB375482C962CA1C6112E1743612C943A51BDF", "AC UAT" },
	{ "fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.cer",
	  "fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.key",
	  "AAA010101AAA", "", "HEGT7610034S2", "HEGT761003MDFRNN09", "30001000000300023685",
	  "ACCEM SERVICIOS EMPRESARIALES SC", "", EF_SAT_EFIRMA, EF_SAT_MORAL,
	  "2017-05-16 23:29:17", "2021-05-15 23:29:17",
	  "0D98104F1EF67019B4B45FDE7003B0FEB97E5D05",
	  "3D2D560E90DCC3F75C46F30C2850CF9FB0640CCB", "A.C. 2 de pruebas(4096)" },
	{ "csd-pm-AAA010101AAA-2017-expired/AAA010101AAA_csd01.cer",
	  "csd-pm-AAA010101AAA-2017-expired/AAA010101AAA_csd01.key",
	  "AAA010101AAA", "", "HEGT7610034S2", "HEGT761003MDFRNN09", "30001000000300023708",
	  "ACCEM SERVICIOS EMPRESARIALES SC", "CSD01_AAA010101AAA", EF_SAT_CSD, EF_SAT_MORAL,
	  "2017-05-18 03:54:56", "2021-05-18 03:54:56",
	  "F34A07D1EE50BB044445D0235100ABB46F129C54",
	  "A0BCB94D11DF105AB3631FF197F3B603699D328F", "A.C. 2 de pruebas(4096)" },
};
#define N_LEAVES (sizeof(g_leaves) / sizeof(g_leaves[0]))

struct ca {
	const char *file;
	bool self_issued;
	const char *key_id;
};

static const struct ca g_cas[] = {
	{ "ca/AC5_SAT.cer", false, "DF69DC0976E82650DF6F37DEDE14ACB2E7902923" },
	{ "ca/AC_4096_2018.cer", false, "3B094447CBCDA51E3EBA828BBCD937EDCD0337D8" },
	{ "ca/AC_UAT_2022.cer", false, "82DA0BD9158BABFAF3368F44019BF00BD54B61CA" },
	{ "ca/ARC5_IES.cer", true, "6FB097963CA00E572754F6C09236847B80D24169" },
	{ "ca/ARC_UAT.cer", true, "09C44022486B8D492F6C32802766FE8019DD105D" },
	{ "ca/ARC_UAT_2022.cer", true, "D87503718B05F248758E20C519B56B75C2B8F6EF" },
	{ "ca/ac2_4096_DER.cer", false, "EB666A95500CE531BBEE3889EDCDB7B2530D6916" },
	{ "ca/arcbeta_crt_raiz.cer", true, "84C27736485AC3CE184EE13D0721F9B28A405117" },
};
#define N_CAS (sizeof(g_cas) / sizeof(g_cas[0]))

static const char *const g_pw = "12345678a";

static bool load_cert(const char *rel, struct ef_cert *c)
{
	size_t len;
	unsigned char *b = data_file(rel, &len);
	CK_RV rv;

	memset(c, 0, sizeof(*c));
	if (b == NULL)
		return false;
	rv = ef_cert_parse(b, len, c);
	free(b);
	return rv == CKR_OK;
}

static CK_RV open_key(const char *rel, const void *pin, size_t pin_len, struct ef_pkey **k)
{
	size_t len;
	unsigned char *b = data_file(rel, &len);
	CK_RV rv;

	*k = NULL;
	if (b == NULL)
		return CKR_GENERAL_ERROR;
	rv = ef_key_open(b, len, pin, pin_len, k);
	free(b);
	return rv;
}

/* -------------------------------------- the private context is private */

/*
 * A host whose openssl.cnf activates only the "null" provider: every fetch
 * from OpenSSL's default library context fails there.  A child process
 * runs the crypto layer under such a configuration; everything must still work,
 * which shows it fetches nothing from the default context.  The
 * control at the end shows the configuration was really in force.
 *
 * (OpenSSL 3.0 itself reads openssl.cnf on the first digest, cipher or RSA
 * operation whatever the library context - ENGINE_get_digest_engine and
 * OBJ_obj2nid call OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG) - so
 * "never read" cannot be tested, only "never used".)
 */
static int child_work(const char *dir)
{
	struct ef_cert c;
	struct ef_pkey *k = NULL;
	unsigned char *b, sig[512], h[32], *exp = NULL, out[512];
	size_t len, sl = 0, el = 0, ol = 0;
	struct ef_rsa_params pss = { EF_PAD_PSS, EF_HASH_SHA256, EF_HASH_SHA256, 32, NULL, 0 };
	struct ef_rsa_params pkcs = { EF_PAD_PKCS1, EF_HASH_SHA256, EF_HASH_NONE, 0, NULL, 0 };
	struct ef_rsa_params oaep = { EF_PAD_OAEP, EF_HASH_SHA256, EF_HASH_SHA256, 0,
				      (const unsigned char *)"l", 1 };
	struct ef_digest *d = NULL;
	char path[1024];
	EVP_MD *md;

	if (ef_crypto_init() != CKR_OK)
		return 10;
	snprintf(path, sizeof(path), "%s/%s", dir, g_leaves[0].cer);
	b = slurp(path, &len);
	if (b == NULL || ef_cert_parse(b, len, &c) != CKR_OK)
		return 11;
	free(b);
	snprintf(path, sizeof(path), "%s/%s", dir, "ca/chain-2023-AC_UAT_2022+ARC_UAT_2022.pem");
	b = slurp(path, &len);
	{
		struct ef_cert *all = NULL;
		size_t n = 0;
		bool good;

		if (b == NULL || ef_cert_parse_all(b, len, &all, &n) != CKR_OK || n != 2)
			return 12;
		good = ef_cert_issued_by(&c, &all[0]) && ef_cert_issued_by(&all[0], &all[1]);
		for (size_t i = 0; i < n; i++)
			ef_cert_clear(&all[i]);
		free(all);
		free(b);
		if (!good)
			return 13;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, g_leaves[0].key);
	b = slurp(path, &len);
	if (b == NULL || ef_key_open(b, len, (const unsigned char *)"x", 1, &k) != CKR_PIN_INCORRECT)
		return 14;
	if (ef_key_open(b, len, (const unsigned char *)g_pw, 9, &k) != CKR_OK)
		return 15;
	free(b);
	snprintf(path, sizeof(path), "%s/%s", dir,
		 "fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.traditional-des3.key.pem");
	b = slurp(path, &len);
	{
		struct ef_pkey *k2 = NULL;

		if (b == NULL || ef_key_open(b, len, (const unsigned char *)g_pw, 9, &k2) != CKR_OK)
			return 16;
		ef_key_unref(k2);
	}
	free(b);
	if (!ef_key_matches_spki(k, c.spki, c.spki_len))
		return 17;
	if (ef_digest_oneshot(EF_HASH_SHA256, (const unsigned char *)"abc", 3, h) != CKR_OK ||
	    ef_digest_new(EF_HASH_SHA512, &d) != CKR_OK ||
	    ef_digest_update(d, h, 32) != CKR_OK || ef_digest_final(d, out) != CKR_OK)
		return 18;
	ef_digest_free(d);
	if (ef_rsa_sign(k, &pss, h, 32, sig, &sl) != CKR_OK ||
	    !own_verify(&c, &pss, h, 32, sig, sl) ||
	    ef_rsa_sign(k, &pkcs, h, 32, sig, &sl) != CKR_OK ||
	    !own_verify(&c, &pkcs, h, 32, sig, sl))
		return 19;
	if (ef_rsa_encrypt(k, &oaep, h, 32, sig, &sl) != CKR_OK ||
	    ef_rsa_decrypt(k, &oaep, sig, sl, out, &ol) != CKR_OK || ol != 32)
		return 20;
	if (ef_key_export_sat(k, (const unsigned char *)"n", 1, &exp, &el) != CKR_OK)
		return 21;
	ef_key_unref(k);
	k = NULL;
	if (ef_key_open(exp, el, (const unsigned char *)"n", 1, &k) != CKR_OK)
		return 22;
	ef_free_secret(exp, el);
	if (ef_random(h, sizeof(h)) != CKR_OK)
		return 23;
	ef_key_unref(k);
	ef_cert_clear(&c);
	ef_crypto_fini();
	/* Control: the host configuration is in force. */
	md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	if (md != NULL) {
		EVP_MD_free(md);
		return 30;
	}
	return 0;
}

/* The VmFlags of the mapping that holds addr in /proc/self/smaps ("" when
 * no mapping holds it). */
static void vm_flags(const void *addr, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			size_t n = strcspn(line + 8, "\n");
			n = n < size ? n : size - 1;
			memcpy(out, line + 8, n);
			out[n] = '\0';
		}
	}
	if (f)
		fclose(f);
}

/* Secret buffers are zeroed, aligned, and on pages that core dumps skip
 * (doc/DESIGN.md §8): the kernel shows MADV_DONTDUMP as "dd". */
static void test_secret_alloc(void)
{
	static const size_t sizes[] = { 1, 256, 4080, 5000, 70000 };
	char flags[256];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = ef_secret_alloc(n);
		bool zero = true;

		if (!ok(p != NULL, "ef_secret_alloc(%zu)", n))
			continue;
		for (size_t j = 0; j < n; j++)
			zero &= p[j] == 0;
		ok(zero && (uintptr_t)p % 16 == 0, "... zeroed, 16-byte aligned");
		memset(p, 0x5a, n);
		vm_flags(p, flags, sizeof(flags));
		ok(strstr(flags, " dd") != NULL, "... its first page is marked dd:%s", flags);
		vm_flags(p + n - 1, flags, sizeof(flags));
		ok(strstr(flags, " dd") != NULL, "... its last byte's page too");
		ef_secret_free(p);
		vm_flags(p, flags, sizeof(flags));
		is_str(flags, "", "... unmapped by ef_secret_free");
	}
	ef_secret_free(NULL);
}

static void test_no_default_context(void)
{
	static const char cnf[] =
		"openssl_conf = openssl_init\n"
		"[openssl_init]\n"
		"providers = provider_sect\n"
		"[provider_sect]\n"
		"null = null_sect\n"
		"[null_sect]\n"
		"activate = 1\n";
	char path[300];
	pid_t pid;
	int st = 0;

	snprintf(path, sizeof(path), "%s/null-only.cnf", g_tmp);
	if (!ok(spit(path, cnf, sizeof(cnf) - 1), "write a null-provider-only openssl.cnf"))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setenv("OPENSSL_CONF", path, 1);
		_exit(child_work(g_dir));
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		ok(0, "child ran");
		return;
	}
	is_ul(WEXITSTATUS(st), 0, "with a host openssl.cnf that disables the default context, "
	      "the crypto layer still parses, opens, signs, verifies, encrypts, decrypts, exports "
	      "(exit code 30 = the host config was not in force)");
}

/* ----------------------------------------------------------------- digests */

static void test_digests(void)
{
	static const char *abc256 =
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
	static const char *abc1 = "A9993E364706816ABA3E25717850C26C9CD0D89D";
	static const char *abc512 =
		"DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A"
		"2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F";
	unsigned char out[64], out2[64];
	char h[129];
	struct ef_digest *d = NULL;
	static const size_t sizes[] = { 0, 20, 28, 32, 48, 64 };

	for (int i = 0; i <= EF_HASH_SHA512; i++)
		is_ul(ef_hash_size((enum ef_hash)i), sizes[i], "ef_hash_size(%s)",
		      hash_name((enum ef_hash)i));
	is_ul(ef_digest_oneshot(EF_HASH_SHA256, (const unsigned char *)"abc", 3, out), CKR_OK,
	      "SHA-256 oneshot");
	hex(out, 32, h);
	is_str(h, abc256, "SHA-256(\"abc\") = FIPS 180-2 vector");
	is_ul(ef_digest_oneshot(EF_HASH_SHA1, (const unsigned char *)"abc", 3, out), CKR_OK,
	      "SHA-1 oneshot");
	hex(out, 20, h);
	is_str(h, abc1, "SHA-1(\"abc\")");
	is_ul(ef_digest_oneshot(EF_HASH_SHA512, (const unsigned char *)"abc", 3, out), CKR_OK,
	      "SHA-512 oneshot");
	hex(out, 64, h);
	is_str(h, abc512, "SHA-512(\"abc\")");
	ok(ef_digest_oneshot(EF_HASH_NONE, (const unsigned char *)"abc", 3, out) != CKR_OK,
	   "oneshot with EF_HASH_NONE fails");

	for (int i = EF_HASH_SHA1; i <= EF_HASH_SHA512; i++) {
		enum ef_hash hh = (enum ef_hash)i;
		unsigned int n = 0;

		ok(ef_digest_new(hh, &d) == CKR_OK && d != NULL, "digest_new %s", hash_name(hh));
		if (d == NULL)
			continue;
		ef_digest_update(d, (const unsigned char *)"a", 1);
		ef_digest_update(d, (const unsigned char *)"", 0);
		ef_digest_update(d, (const unsigned char *)"bc", 2);
		is_ul(ef_digest_final(d, out), CKR_OK, "digest_final %s", hash_name(hh));
		ef_digest_free(d);
		d = NULL;
		EVP_Digest("abc", 3, out2, &n, indep_md(hh), NULL);
		ok(n == ef_hash_size(hh) && memcmp(out, out2, n) == 0,
		   "multi-part %s equals OpenSSL's default-context digest", hash_name(hh));
	}
	ok(ef_digest_new(EF_HASH_NONE, &d) != CKR_OK && d == NULL, "digest_new(NONE) fails");
}

/* ------------------------------------------------------------ certificates */

static void check_against_indep(const char *name, const struct ef_cert *c)
{
	X509 *x = indep_x509(c->der, c->der_len);
	unsigned char *tmp = NULL, md[20];
	unsigned int mdlen = 0;
	EVP_PKEY *pub;
	BIGNUM *n = NULL;
	int len;

	if (!ok(x != NULL, "%s: OpenSSL parses our DER copy", name))
		return;
	len = i2d_X509_NAME(X509_get_subject_name(x), &tmp);
	ok(len > 0 && (size_t)len == c->subject_len && memcmp(tmp, c->subject, c->subject_len) == 0,
	   "%s: subject DER", name);
	OPENSSL_free(tmp);
	tmp = NULL;
	len = i2d_X509_NAME(X509_get_issuer_name(x), &tmp);
	ok(len > 0 && (size_t)len == c->issuer_len && memcmp(tmp, c->issuer, c->issuer_len) == 0,
	   "%s: issuer DER", name);
	OPENSSL_free(tmp);
	tmp = NULL;
	len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &tmp);
	ok(len > 0 && (size_t)len == c->serial_len && memcmp(tmp, c->serial, c->serial_len) == 0 &&
	   c->serial[0] == 0x02, "%s: serial is the DER INTEGER with its tag", name);
	OPENSSL_free(tmp);
	tmp = NULL;
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &tmp);
	ok(len > 0 && (size_t)len == c->spki_len && memcmp(tmp, c->spki, c->spki_len) == 0,
	   "%s: SubjectPublicKeyInfo DER", name);
	OPENSSL_free(tmp);
	X509_pubkey_digest(x, EVP_sha1(), md, &mdlen);
	ok(mdlen == 20 && memcmp(md, c->key_id, 20) == 0,
	   "%s: key_id equals X509_pubkey_digest (SHA-1 of the BIT STRING)", name);
	X509_digest(x, EVP_sha1(), md, &mdlen);
	ok(mdlen == 20 && memcmp(md, c->hash_sha1, 20) == 0, "%s: hash_sha1 of the DER", name);
	pub = X509_get0_pubkey(x);
	if (c->is_rsa && pub != NULL && EVP_PKEY_get_bn_param(pub, "n", &n) == 1) {
		unsigned char *nb = malloc((size_t)BN_num_bytes(n));
		int nl = BN_bn2bin(n, nb);

		ok((size_t)nl == c->modulus_len && memcmp(nb, c->modulus, c->modulus_len) == 0 &&
		   c->modulus[0] != 0 && c->modulus_bits == (unsigned long)BN_num_bits(n),
		   "%s: modulus, big endian without leading zeros, %lu bits", name, c->modulus_bits);
		free(nb);
		BN_free(n);
	} else {
		ok(0, "%s: RSA modulus", name);
	}
	ok(c->not_before_t == timegm(&(struct tm){ .tm_year = c->not_before.tm_year,
		.tm_mon = c->not_before.tm_mon, .tm_mday = c->not_before.tm_mday,
		.tm_hour = c->not_before.tm_hour, .tm_min = c->not_before.tm_min,
		.tm_sec = c->not_before.tm_sec }) &&
	   ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), c->not_before_t) == 0 &&
	   ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), c->not_after_t) == 0,
	   "%s: validity struct tm / time_t agree with OpenSSL", name);
	X509_free(x);
	ERR_clear_error();
}

static void test_leaf(const struct leaf *L)
{
	struct ef_cert c;
	unsigned char want[20];
	char h[41];
	const char *n = L->cer;

	if (!ok(load_cert(L->cer, &c), "%s: parses", n))
		return;
	check_against_indep(n, &c);
	hex(c.key_id, 20, h);
	is_str(h, L->key_id, "%s: key_id (openssl x509 -ocspid)", n);
	hex(c.hash_sha1, 20, h);
	is_str(h, L->sha1, "%s: SHA-1 fingerprint", n);
	ok(unhex(L->key_id, want, 20), "%s: vector ok", n);
	ok(c.is_rsa && c.modulus_bits == 2048 && c.modulus_len == 256, "%s: RSA-2048", n);
	ok(c.exponent_len == 3 && memcmp(c.exponent, "\x01\x00\x01", 3) == 0, "%s: e = 65537", n);
	is_ul((unsigned long)c.not_before_t, (unsigned long)utc(L->not_before), "%s: notBefore %s",
	      n, L->not_before);
	is_ul((unsigned long)c.not_after_t, (unsigned long)utc(L->not_after), "%s: notAfter %s",
	      n, L->not_after);
	is_ul((unsigned long)c.not_before.tm_year + 1900, (unsigned long)atoi(L->not_before),
	      "%s: notBefore year in struct tm", n);
	ok(!c.is_ca && !c.self_issued, "%s: not a CA, not self-issued", n);
	ok(c.has_key_usage, "%s: has keyUsage", n);
	is_ul(c.key_usage, L->kind == EF_SAT_CSD ? KU_CSD : KU_FIEL, "%s: keyUsage bits", n);
	is_ul(c.ext_key_usage, L->kind == EF_SAT_CSD ? 0 :
	      EF_EKU_CLIENT_AUTH | EF_EKU_EMAIL_PROTECTION, "%s: extendedKeyUsage bits", n);
	is_str(c.issuer_cn, L->issuer_cn, "%s: issuer CN", n);
	ok(c.serial_len == 22 && c.serial[0] == 0x02 && c.serial[1] == 20 &&
	   memcmp(c.serial + 2, L->numero, 20) == 0, "%s: serial holds the número's ASCII", n);
	ok(c.is_sat, "%s: is a SAT certificate", n);
	is_str(c.sat.rfc, L->rfc, "%s: RFC", n);
	is_str(c.sat.curp, L->curp, "%s: CURP", n);
	is_str(c.sat.rep_rfc, L->rep_rfc, "%s: representative's RFC", n);
	is_str(c.sat.rep_curp, L->rep_curp, "%s: representative's CURP", n);
	is_str(c.sat.numero, L->numero, "%s: número de certificado", n);
	is_str(c.sat.holder, L->holder, "%s: holder name (UTF-8)", n);
	is_str(c.sat.branch, L->branch, "%s: branch", n);
	is_ul(c.sat.kind, L->kind, "%s: kind", n);
	is_ul(c.sat.persona, L->persona, "%s: persona", n);
	ef_cert_clear(&c);
	ok(c.der == NULL && c.sat.holder == NULL && c.issuer_cn == NULL, "%s: clear", n);
}

static void test_every_cer(void)
{
	char sub[1200], rel[2400];
	DIR *top = opendir(g_dir), *d;
	struct dirent *e, *f;
	int count = 0;

	if (!ok(top != NULL, "open %s", g_dir))
		return;
	while ((e = readdir(top)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", g_dir, e->d_name);
		d = opendir(sub);
		if (d == NULL)
			continue;
		while ((f = readdir(d)) != NULL) {
			size_t l = strlen(f->d_name);
			struct ef_cert c;

			if (l < 4 || strcmp(f->d_name + l - 4, ".cer") != 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", e->d_name, f->d_name);
			count++;
			if (ok(load_cert(rel, &c), "every .cer: %s parses", rel)) {
				check_against_indep(rel, &c);
				ok(c.issuer_cn != NULL && c.sat.holder != NULL && c.sat.branch != NULL,
				   "%s: strings present", rel);
			}
			ef_cert_clear(&c);
		}
		closedir(d);
	}
	closedir(top);
	ok(count >= 9 + 9, "found %d .cer files", count);
}

static void test_cas(void)
{
	for (size_t i = 0; i < N_CAS; i++) {
		struct ef_cert c;
		char h[41];

		if (!ok(load_cert(g_cas[i].file, &c), "%s parses", g_cas[i].file))
			continue;
		ok(c.is_ca, "%s: basicConstraints cA", g_cas[i].file);
		ok(c.self_issued == g_cas[i].self_issued, "%s: self_issued = %d", g_cas[i].file,
		   g_cas[i].self_issued);
		ok(c.has_key_usage && (c.key_usage & EF_KU_KEY_CERT_SIGN), "%s: keyCertSign",
		   g_cas[i].file);
		hex(c.key_id, 20, h);
		is_str(h, g_cas[i].key_id, "%s: key_id", g_cas[i].file);
		if (g_cas[i].self_issued)
			ok(ef_cert_issued_by(&c, &c), "%s: root verifies itself", g_cas[i].file);
		ef_cert_clear(&c);
	}
	{
		struct ef_cert c;

		ok(load_cert("ca/ocsp.ac5_sat.cer", &c) && !c.is_ca && !c.has_key_usage,
		   "OCSP responder certificate: not a CA, no keyUsage");
		ef_cert_clear(&c);
	}
}

static void test_chains(void)
{
	static const struct { const char *chain, *leaf, *ca, *root; } ch[] = {
		{ "ca/chain-2023-AC_UAT_2022+ARC_UAT_2022.pem", g_leaves[0].cer,
		  "ca/AC_UAT_2022.cer", "ca/ARC_UAT_2022.cer" },
		{ "ca/chain-2019-AC_4096_2018+arcbeta.pem", g_leaves[6].cer,
		  "ca/AC_4096_2018.cer", "ca/arcbeta_crt_raiz.cer" },
		{ "ca/chain-2017-ac2_4096+ARC_UAT.pem", g_leaves[7].cer,
		  "ca/ac2_4096_DER.cer", "ca/ARC_UAT.cer" },
	};
	struct ef_cert *all = NULL, leaf, ca, root, other;
	size_t n = 0, len;
	unsigned char *b;

	for (size_t i = 0; i < sizeof(ch) / sizeof(ch[0]); i++) {
		b = data_file(ch[i].chain, &len);
		is_ul(ef_cert_parse_all(b, len, &all, &n), CKR_OK, "%s: parse_all", ch[i].chain);
		free(b);
		if (!is_ul(n, 2, "%s: two certificates", ch[i].chain))
			goto next;
		load_cert(ch[i].leaf, &leaf);
		load_cert(ch[i].ca, &ca);
		load_cert(ch[i].root, &root);
		ok(all[0].der_len == ca.der_len && memcmp(all[0].der, ca.der, ca.der_len) == 0,
		   "%s: first block is %s", ch[i].chain, ch[i].ca);
		ok(all[1].der_len == root.der_len && memcmp(all[1].der, root.der, root.der_len) == 0,
		   "%s: second block is %s", ch[i].chain, ch[i].root);
		ok(ef_cert_issued_by(&leaf, &all[0]), "%s issued by %s", ch[i].leaf, ch[i].ca);
		ok(ef_cert_issued_by(&all[0], &all[1]), "%s issued by %s", ch[i].ca, ch[i].root);
		ok(!ef_cert_issued_by(&leaf, &all[1]), "%s not issued by the root", ch[i].leaf);
		ok(!ef_cert_issued_by(&all[1], &leaf), "root not issued by the leaf");
		ef_cert_clear(&leaf);
		ef_cert_clear(&ca);
		ef_cert_clear(&root);
next:
		for (size_t j = 0; j < n; j++)
			ef_cert_clear(&all[j]);
		free(all);
		all = NULL;
	}
	/* Same issuer name ("AC UAT"), different key: the signature decides. */
	load_cert(g_leaves[0].cer, &leaf);
	load_cert("ca/AC_4096_2018.cer", &other);
	ok(strcmp(leaf.issuer_cn, other.sat.holder) == 0 && !ef_cert_issued_by(&leaf, &other),
	   "2023 leaf is not issued by the 2018 'AC UAT' (same CN, other key)");
	ef_cert_clear(&other);

	/* DER input to parse_all: exactly one certificate. */
	b = data_file(g_leaves[0].cer, &len);
	ok(ef_cert_parse_all(b, len, &all, &n) == CKR_OK && n == 1 &&
	   all[0].der_len == leaf.der_len, "parse_all on a DER file: one certificate");
	for (size_t j = 0; j < n; j++)
		ef_cert_clear(&all[j]);
	free(all);
	all = NULL;
	/* Truncated DER: not a certificate. */
	{
		struct ef_cert t;

		is_ul(ef_cert_parse(b, len - 1, &t), CKR_DATA_INVALID, "truncated .cer: CKR_DATA_INVALID");
		is_ul(ef_cert_parse(b, 100, &t), CKR_DATA_INVALID, "100-byte prefix: CKR_DATA_INVALID");
		is_ul(ef_cert_parse((const unsigned char *)"hello", 5, &t), CKR_DATA_INVALID,
		      "garbage: CKR_DATA_INVALID");
		is_ul(ef_cert_parse((const unsigned char *)"-----BEGIN CERTIFICATE-----\nAAAA\n"
				    "-----END CERTIFICATE-----\n", 58, &t), CKR_DATA_INVALID,
		      "PEM with a bogus body: CKR_DATA_INVALID");
		ok(ef_cert_parse_all((const unsigned char *)"hello", 5, &all, &n) == CKR_OK && n == 0,
		   "parse_all on garbage: CKR_OK with no certificates");
		free(all);
		all = NULL;
	}
	free(b);
	/* PEM variant of a certificate. */
	{
		struct ef_cert der, pem;

		load_cert("fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.cer", &der);
		ok(load_cert("fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.cer.pem", &pem),
		   "PEM certificate parses");
		ok(pem.der_len == der.der_len && memcmp(pem.der, der.der, der.der_len) == 0 &&
		   strcmp(pem.sat.rfc, "AAA010101AAA") == 0, "PEM and DER give the same certificate");
		ef_cert_clear(&der);
		ef_cert_clear(&pem);
	}
	ef_cert_clear(&leaf);
}

/* ------------------------------------------------------------------- keys */

static void test_keys(void)
{
	struct ef_pkey *k = NULL;
	struct ef_cert c, other;
	size_t len;
	unsigned char *b;
	CK_RV rv;

	load_cert(g_leaves[1].cer, &other);
	for (size_t i = 0; i < N_LEAVES; i++) {
		const char *n = g_leaves[i].key;

		b = data_file(n, &len);
		ok(b != NULL && ef_key_is_encrypted(b, len), "%s: is encrypted", n);
		is_ul(b ? ef_key_kdf_iterations(b, len) : 0, 2048,
		      "%s: 2048 PBKDF2 iterations, read before any derivation", n);
		free(b);
		is_ul(open_key(n, g_pw, 9, &k), CKR_OK, "%s: opens with 12345678a", n);
		if (k == NULL)
			continue;
		is_ul(ef_key_size(k), 256, "%s: 256-byte modulus", n);
		load_cert(g_leaves[i].cer, &c);
		ok(ef_key_matches_spki(k, c.spki, c.spki_len), "%s: matches its certificate", n);
		ok(!ef_key_matches_spki(k, other.spki, other.spki_len) || i == 1,
		   "%s: does not match another certificate", n);
		ef_cert_clear(&c);
		ef_key_unref(k);
		is_ul(open_key(n, "12345678b", 9, &k), CKR_PIN_INCORRECT, "%s: wrong password", n);
		ok(k == NULL, "%s: no key on failure", n);
	}
	ef_cert_clear(&other);

	is_ul(open_key(g_leaves[0].key, "", 0, &k), CKR_PIN_INCORRECT, "empty PIN: CKR_PIN_INCORRECT");
	is_ul(open_key(g_leaves[0].key, NULL, 0, &k), CKR_PIN_INCORRECT, "NULL PIN: CKR_PIN_INCORRECT");
	is_ul(open_key(g_leaves[0].key, "12345678", 8, &k), CKR_PIN_INCORRECT,
	      "a prefix of the PIN: CKR_PIN_INCORRECT");
	is_ul(open_key(g_leaves[0].key, "12345678a ", 10, &k), CKR_PIN_INCORRECT,
	      "the PIN plus a blank: CKR_PIN_INCORRECT");
	/* (The PIN plus NUL bytes does open it: HMAC pads its key with
	 * zeros, so PBKDF2 cannot tell those apart.) */

	/* Not keys at all. */
	is_ul(ef_key_open((const unsigned char *)"garbage garbage", 15, (const unsigned char *)g_pw,
			  9, &k), CKR_DATA_INVALID, "garbage: CKR_DATA_INVALID");
	b = data_file(g_leaves[0].cer, &len);
	is_ul(ef_key_open(b, len, (const unsigned char *)g_pw, 9, &k), CKR_DATA_INVALID,
	      "a certificate given as key: CKR_DATA_INVALID");
	ok(!ef_key_is_encrypted(b, len), "a certificate is not an encrypted key");
	is_ul(ef_key_kdf_iterations(b, len), 0, "a certificate costs no key derivation");
	free(b);
	/* A DigestInfo has the shape of an EncryptedPrivateKeyInfo. */
	{
		static const unsigned char di[] = {
			0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
			0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
			11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
			29, 30, 31, 32 };

		is_ul(ef_key_open(di, sizeof(di), (const unsigned char *)g_pw, 9, &k),
		      CKR_DATA_INVALID, "a DigestInfo is not an encrypted key");
	}
	b = data_file("csd-pm-AAA010101AAA-2017-expired/AAA010101AAA_csd01.protected.pfx", &len);
	rv = ef_key_open(b, len, (const unsigned char *)g_pw, 9, &k);
	ok(rv == CKR_DATA_INVALID, "a PKCS#12 file is not a key (0x%lx)", rv);
	ef_key_unref(k);
	k = NULL;
	free(b);

	/* Truncations of a real key: never OK, never a crash. */
	b = data_file(g_leaves[0].key, &len);
	{
		bool all_fail = true;

		for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 37)) {
			rv = ef_key_open(b, cut, (const unsigned char *)g_pw, 9, &k);
			if (rv == CKR_OK)
				all_fail = false;
			ef_key_unref(k);
			k = NULL;
		}
		rv = ef_key_open(b, len - 8, (const unsigned char *)g_pw, 9, &k);
		ok(all_fail && rv != CKR_OK, "every truncated .key fails (last block cut: 0x%lx)", rv);
		is_ul(ef_key_open(b, len / 2, (const unsigned char *)g_pw, 9, &k), CKR_DATA_INVALID,
		      "half a .key is not a key");
	}
	/* A flipped byte in the first ciphertext block (the PrivateKeyInfo
	 * header): the container parses, its plaintext does not. */
	ok(len == 1298, "the CACX7605101P8 .key has SAT's 1298 bytes");
	b[len - 1224 + 2] ^= 0x5a;
	is_ul(ef_key_open(b, len, (const unsigned char *)g_pw, 9, &k), CKR_PIN_INCORRECT,
	      "corrupted ciphertext in a parsed container: CKR_PIN_INCORRECT");
	free(b);

	/* Key-only Certifica vectors: passwords are bytes. */
	static const struct { const char *key, *good, *bad; } ko[] = {
		{ "keyonly-certifica-2022-nonascii-password/csd_HAN930228SM9_certifica.key",
		  "keyonly-certifica-2022-nonascii-password/csd_HAN930228SM9_certifica.password.cp1252.bin",
		  "keyonly-certifica-2022-nonascii-password/csd_HAN930228SM9_certifica.password.utf8.txt" },
		{ "keyonly-certifica-2022-nonascii-password/fiel_IANL750210963_certifica.key",
		  "keyonly-certifica-2022-nonascii-password/fiel_IANL750210963_certifica.password.cp1252.bin",
		  "keyonly-certifica-2022-nonascii-password/fiel_IANL750210963_certifica.password.utf8.txt" },
		{ "keyonly-certifica-2022-nonascii-password/fiel_HAN930228SM9_certifica_1290bytes.key",
		  "keyonly-certifica-2022-nonascii-password/fiel_HAN930228SM9_certifica_1290bytes.password.txt",
		  NULL },
	};
	for (size_t i = 0; i < sizeof(ko) / sizeof(ko[0]); i++) {
		size_t pl;
		unsigned char *pw = data_file(ko[i].good, &pl);

		is_ul(open_key(ko[i].key, pw, pl, &k), CKR_OK, "%s opens with %s", ko[i].key, ko[i].good);
		ef_key_unref(k);
		free(pw);
		if (ko[i].bad == NULL)
			continue;
		pw = data_file(ko[i].bad, &pl);
		is_ul(open_key(ko[i].key, pw, pl, &k), CKR_PIN_INCORRECT,
		      "%s refuses the UTF-8 bytes", ko[i].key);
		free(pw);
	}

	/* Converted variants. */
	load_cert("fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.cer", &c);
	{
		const char *trad = "fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.traditional-des3.key.pem";
		const char *p8pem = "fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.unencrypted-pkcs8.key.pem";
		const char *p8der = "csd-pm-AAA010101AAA-2017-expired/AAA010101AAA_csd01.unencrypted-pkcs8.der";
		struct ef_cert csd;

		b = data_file(trad, &len);
		ok(ef_key_is_encrypted(b, len), "traditional encrypted PEM: is encrypted");
		is_ul(ef_key_kdf_iterations(b, len), 1, "traditional encrypted PEM: one MD5");
		free(b);
		is_ul(open_key(trad, g_pw, 9, &k), CKR_OK, "traditional DES-EDE3 PEM opens");
		ok(k != NULL && ef_key_matches_spki(k, c.spki, c.spki_len), "... and matches its .cer");
		ef_key_unref(k);
		is_ul(open_key(trad, "12345678", 8, &k), CKR_PIN_INCORRECT,
		      "traditional PEM, wrong password: CKR_PIN_INCORRECT");
		b = data_file(p8pem, &len);
		ok(!ef_key_is_encrypted(b, len), "unencrypted PKCS#8 PEM: not encrypted");
		is_ul(ef_key_kdf_iterations(b, len), 0, "unencrypted PKCS#8 PEM: no key derivation");
		free(b);
		is_ul(open_key(p8pem, NULL, 0, &k), CKR_OK, "unencrypted PKCS#8 PEM opens without PIN");
		ok(k != NULL && ef_key_matches_spki(k, c.spki, c.spki_len), "... and matches its .cer");
		ef_key_unref(k);
		is_ul(open_key(p8pem, "whatever", 8, &k), CKR_OK, "... the PIN is ignored");
		ef_key_unref(k);
		load_cert("csd-pm-AAA010101AAA-2017-expired/AAA010101AAA_csd01.cer", &csd);
		is_ul(open_key(p8der, NULL, 0, &k), CKR_OK, "unencrypted PKCS#8 DER opens");
		ok(k != NULL && ef_key_matches_spki(k, csd.spki, csd.spki_len) &&
		   !ef_key_matches_spki(k, c.spki, c.spki_len), "... matches its CSD, not the FIEL");
		ef_key_unref(k);
		ef_cert_clear(&csd);
	}

	/* Formats made at test time with the openssl command line. */
	if (!g_have_cli) {
		ok(1, "# SKIP no openssl command line");
	} else {
		char src[1200];
		/* iter: what ef_key_kdf_iterations reads (openssl's default
		 * count is 2048; PKCS#12 PBEs and scrypt count as unbounded). */
		static const struct {
			const char *file, *cmd;
			CK_RV want;
			const char *pin;
			unsigned long iter;
		} gen[] = {
			{ "pkcs1.der", "openssl rsa -in %s -traditional -outform DER -out %s/pkcs1.der 2>/dev/null",
			  CKR_OK, NULL, 0 },
			{ "pkcs1.pem", "openssl rsa -in %s -traditional -out %s/pkcs1.pem 2>/dev/null", CKR_OK, NULL, 0 },
			{ "aes.p8.pem", "openssl pkcs8 -topk8 -in %s -v2 aes-256-cbc -v2prf hmacWithSHA256 "
			  "-passout pass:otra -out %s/aes.p8.pem", CKR_OK, "otra", 2048 },
			{ "aes.p8.der", "openssl pkcs8 -topk8 -in %s -v2 aes-128-cbc -outform DER "
			  "-passout pass:otra -out %s/aes.p8.der", CKR_OK, "otra", 2048 },
			{ "pbe-sha1-3des.p8.pem", "openssl pkcs8 -topk8 -in %s -v1 PBE-SHA1-3DES "
			  "-passout pass:otra -out %s/pbe-sha1-3des.p8.pem", CKR_OK, "otra", ULONG_MAX },
			{ "scrypt.p8.der", "openssl pkcs8 -topk8 -in %s -scrypt -outform DER "
			  "-passout pass:otra -out %s/scrypt.p8.der", CKR_OK, "otra", ULONG_MAX },
			{ "aes-trad.pem", "openssl rsa -in %s -traditional -aes128 -passout pass:otra "
			  "-out %s/aes-trad.pem 2>/dev/null", CKR_OK, "otra", 1 },
		};
		snprintf(src, sizeof(src), "%s/%s", g_dir,
			 "fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.unencrypted-pkcs8.key.pem");
		for (size_t i = 0; i < sizeof(gen) / sizeof(gen[0]); i++) {
			char path[400];

			snprintf(path, sizeof(path), "%s/%s", g_tmp, gen[i].file);
			if (!is_ul(run(gen[i].cmd, src, g_tmp), 0, "openssl makes %s", gen[i].file))
				continue;
			b = slurp(path, &len);
			is_ul(ef_key_open(b, len, (const unsigned char *)gen[i].pin,
					  gen[i].pin ? strlen(gen[i].pin) : 0, &k), gen[i].want,
			      "%s opens", gen[i].file);
			ok(k != NULL && ef_key_matches_spki(k, c.spki, c.spki_len), "%s matches", gen[i].file);
			ef_key_unref(k);
			is_ul(ef_key_kdf_iterations(b, len), gen[i].iter, "%s: key derivation cost",
			      gen[i].file);
			if (gen[i].pin != NULL) {
				is_ul(ef_key_open(b, len, (const unsigned char *)"nope", 4, &k),
				      CKR_PIN_INCORRECT, "%s: wrong PIN", gen[i].file);
				ok(ef_key_is_encrypted(b, len), "%s: is encrypted", gen[i].file);
			}
			free(b);
		}
		/* Not RSA. */
		if (is_ul(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
			      "-out %s/ec.pem 2>/dev/null && openssl pkcs8 -topk8 -in %s/ec.pem "
			      "-passout pass:otra -outform DER -out %s/ec.p8.der && openssl pkey "
			      "-in %s/ec.pem -pubout -outform DER -out %s/ec.spki",
			      g_tmp, g_tmp, g_tmp, g_tmp, g_tmp), 0, "openssl makes an EC key")) {
			char path[400];

			snprintf(path, sizeof(path), "%s/ec.pem", g_tmp);
			b = slurp(path, &len);
			is_ul(ef_key_open(b, len, NULL, 0, &k), CKR_KEY_TYPE_INCONSISTENT,
			      "unencrypted EC key: CKR_KEY_TYPE_INCONSISTENT");
			free(b);
			snprintf(path, sizeof(path), "%s/ec.p8.der", g_tmp);
			b = slurp(path, &len);
			is_ul(ef_key_open(b, len, (const unsigned char *)"otra", 4, &k),
			      CKR_KEY_TYPE_INCONSISTENT, "encrypted EC PKCS#8: CKR_KEY_TYPE_INCONSISTENT");
			is_ul(ef_key_open(b, len, (const unsigned char *)"nope", 4, &k),
			      CKR_PIN_INCORRECT, "encrypted EC PKCS#8, wrong PIN: CKR_PIN_INCORRECT");
			free(b);
			snprintf(path, sizeof(path), "%s/ec.spki", g_tmp);
			b = slurp(path, &len);
			is_ul(ef_pubkey_from_spki(b, len, &k), CKR_KEY_TYPE_INCONSISTENT,
			      "EC SubjectPublicKeyInfo: CKR_KEY_TYPE_INCONSISTENT");
			free(b);
		}
		/* A public key file is not a private key. */
		if (is_ul(run("openssl pkey -in %s -pubout -outform DER -out %s/pub.der", src, g_tmp),
			  0, "openssl makes a public key")) {
			char path[400];

			snprintf(path, sizeof(path), "%s/pub.der", g_tmp);
			b = slurp(path, &len);
			is_ul(ef_key_open(b, len, NULL, 0, &k), CKR_DATA_INVALID,
			      "a public key is not a private key");
			free(b);
		}
	}
	ef_cert_clear(&c);

	/* Public-only handles. */
	load_cert(g_leaves[0].cer, &c);
	is_ul(ef_pubkey_from_spki(c.spki, c.spki_len, &k), CKR_OK, "pubkey from SPKI");
	is_ul(ef_key_size(k), 256, "public key size");
	ok(ef_key_matches_spki(k, c.spki, c.spki_len), "public key matches its own SPKI");
	ef_key_unref(k);
	is_ul(ef_pubkey_from_spki(c.spki, c.spki_len - 3, &k), CKR_DATA_INVALID,
	      "truncated SPKI: CKR_DATA_INVALID");
	ef_cert_clear(&c);
}

/* ---------------------------------------------------------------- RSA */

struct pair {
	struct ef_pkey *k;
	struct ef_cert c;
	EVP_PKEY *pub;   /* default context, from the .cer */
};

static bool load_pair(size_t i, struct pair *p)
{
	memset(p, 0, sizeof(*p));
	if (!load_cert(g_leaves[i].cer, &p->c) ||
	    open_key(g_leaves[i].key, g_pw, 9, &p->k) != CKR_OK)
		return false;
	p->pub = indep_pub(&p->c);
	return p->pub != NULL;
}

static void free_pair(struct pair *p)
{
	ef_key_unref(p->k);
	ef_cert_clear(&p->c);
	EVP_PKEY_free(p->pub);
}

static void test_sign(struct pair *P)
{
	unsigned char msg[] = "cadena original |1.1|...", h[64], sig[256], sig2[256];
	size_t sl = 0, sl2 = 0;
	struct ef_rsa_params p;

	for (int i = EF_HASH_SHA1; i <= EF_HASH_SHA512; i++) {
		enum ef_hash hh = (enum ef_hash)i;
		size_t hl = ef_hash_size(hh);
		const char *hn = hash_name(hh);

		ef_digest_oneshot(hh, msg, sizeof(msg), h);
		p = (struct ef_rsa_params){ EF_PAD_PKCS1, hh, EF_HASH_NONE, 0, NULL, 0 };
		is_ul(ef_rsa_sign(P->k, &p, h, hl, sig, &sl), CKR_OK, "PKCS1-%s sign", hn);
		is_ul(sl, 256, "PKCS1-%s: 256-byte signature", hn);
		ok(indep_verify(P->pub, &p, h, hl, sig, sl), "PKCS1-%s verifies with OpenSSL", hn);
		is_ul(ef_rsa_verify(P->k, &p, h, hl, sig, sl), CKR_OK, "PKCS1-%s verify", hn);
		ef_rsa_sign(P->k, &p, h, hl, sig2, &sl2);
		ok(sl2 == sl && memcmp(sig, sig2, sl) == 0, "PKCS1-%s is deterministic", hn);
		sig[100] ^= 1;
		is_ul(ef_rsa_verify(P->k, &p, h, hl, sig, sl), CKR_SIGNATURE_INVALID,
		      "PKCS1-%s: flipped bit -> CKR_SIGNATURE_INVALID", hn);
		is_ul(ef_rsa_verify(P->k, &p, h, hl, sig, sl - 1), CKR_SIGNATURE_LEN_RANGE,
		      "PKCS1-%s: short signature -> CKR_SIGNATURE_LEN_RANGE", hn);
		is_ul(ef_rsa_sign(P->k, &p, h, hl - 1, sig, &sl), CKR_DATA_LEN_RANGE,
		      "PKCS1-%s: wrong hash length -> CKR_DATA_LEN_RANGE", hn);

		for (int m = EF_HASH_SHA1; m <= EF_HASH_SHA512; m += (m == EF_HASH_SHA1 ? 2 : 4)) {
			size_t salts[3] = { hl, 0, 256 - hl - 2 };

			for (int s = 0; s < 3; s++) {
				p = (struct ef_rsa_params){ EF_PAD_PSS, hh, (enum ef_hash)m, salts[s],
							    NULL, 0 };
				is_ul(ef_rsa_sign(P->k, &p, h, hl, sig, &sl), CKR_OK,
				      "PSS-%s mgf1-%s salt %zu sign", hn, hash_name(m), salts[s]);
				ok(indep_verify(P->pub, &p, h, hl, sig, sl),
				   "PSS-%s mgf1-%s salt %zu verifies with OpenSSL", hn,
				   hash_name(m), salts[s]);
				is_ul(ef_rsa_verify(P->k, &p, h, hl, sig, sl), CKR_OK,
				      "PSS-%s mgf1-%s salt %zu verify", hn, hash_name(m), salts[s]);
			}
			p.salt_len = hl;
			ef_rsa_sign(P->k, &p, h, hl, sig, &sl);
			p.salt_len = hl + 1;
			is_ul(ef_rsa_verify(P->k, &p, h, hl, sig, sl), CKR_SIGNATURE_INVALID,
			      "PSS-%s mgf1-%s: other salt length -> CKR_SIGNATURE_INVALID", hn,
			      hash_name(m));
		}
		p = (struct ef_rsa_params){ EF_PAD_PSS, hh, hh, 256 - hl - 1, NULL, 0 };
		is_ul(ef_rsa_sign(P->k, &p, h, hl, sig, &sl), CKR_MECHANISM_PARAM_INVALID,
		      "PSS-%s: salt one byte too long -> CKR_MECHANISM_PARAM_INVALID", hn);
		p.salt_len = hl;
		is_ul(ef_rsa_sign(P->k, &p, h, hl + 1, sig, &sl), CKR_DATA_LEN_RANGE,
		      "PSS-%s: wrong hash length -> CKR_DATA_LEN_RANGE", hn);
	}
	p = (struct ef_rsa_params){ EF_PAD_PSS, EF_HASH_NONE, EF_HASH_SHA256, 32, NULL, 0 };
	is_ul(ef_rsa_sign(P->k, &p, h, 32, sig, &sl), CKR_MECHANISM_PARAM_INVALID,
	      "PSS without a hash -> CKR_MECHANISM_PARAM_INVALID");

	/* CKM_RSA_PKCS over a DigestInfo (what TLS 1.2 and NSS send). */
	{
		static const unsigned char prefix[19] = {
			0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
			0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
		unsigned char di[51], big[246];
		struct ef_rsa_params with = { EF_PAD_PKCS1, EF_HASH_SHA256, EF_HASH_NONE, 0, NULL, 0 };

		ef_digest_oneshot(EF_HASH_SHA256, msg, sizeof(msg), h);
		memcpy(di, prefix, 19);
		memcpy(di + 19, h, 32);
		p = (struct ef_rsa_params){ EF_PAD_PKCS1, EF_HASH_NONE, EF_HASH_NONE, 0, NULL, 0 };
		is_ul(ef_rsa_sign(P->k, &p, di, 51, sig, &sl), CKR_OK, "RSA_PKCS over a DigestInfo");
		ok(indep_verify(P->pub, &with, h, 32, sig, sl),
		   "... verifies with OpenSSL as sha256WithRSAEncryption");
		ef_rsa_sign(P->k, &with, h, 32, sig2, &sl2);
		ok(sl == sl2 && memcmp(sig, sig2, sl) == 0, "... equals SHA256-RSA-PKCS over the hash");
		is_ul(ef_rsa_verify(P->k, &p, di, 51, sig, sl), CKR_OK, "RSA_PKCS verify");
		di[50] ^= 1;
		is_ul(ef_rsa_verify(P->k, &p, di, 51, sig, sl), CKR_SIGNATURE_INVALID,
		      "RSA_PKCS verify, other data -> CKR_SIGNATURE_INVALID");
		memset(big, 0x41, sizeof(big));
		is_ul(ef_rsa_sign(P->k, &p, big, 245, sig, &sl), CKR_OK, "RSA_PKCS: k-11 bytes sign");
		is_ul(ef_rsa_verify(P->k, &p, big, 245, sig, sl), CKR_OK, "RSA_PKCS: k-11 bytes verify");
		is_ul(ef_rsa_sign(P->k, &p, big, 246, sig, &sl), CKR_DATA_LEN_RANGE,
		      "RSA_PKCS: k-10 bytes -> CKR_DATA_LEN_RANGE");
	}

	/* No raw RSA with the private key: it is a decryption oracle
	 * (doc/DESIGN.md §8). */
	p = (struct ef_rsa_params){ EF_PAD_NONE, EF_HASH_NONE, EF_HASH_NONE, 0, NULL, 0 };
	is_ul(ef_rsa_sign(P->k, &p, h, 32, sig, &sl), CKR_MECHANISM_INVALID,
	      "no raw RSA signature -> CKR_MECHANISM_INVALID");
	sl = 256;
	is_ul(ef_rsa_verify(P->k, &p, h, 32, sig, sl), CKR_MECHANISM_INVALID,
	      "no raw RSA verification -> CKR_MECHANISM_INVALID");
}

static void test_sign_cli(struct pair *P)
{
	unsigned char msg[1000], h[32], sig[256];
	size_t sl = 0;
	char path[400];
	struct ef_rsa_params p;

	if (!g_have_cli) {
		ok(1, "# SKIP no openssl command line");
		return;
	}
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7);
	snprintf(path, sizeof(path), "%s/msg.bin", g_tmp);
	spit(path, msg, sizeof(msg));
	snprintf(path, sizeof(path), "%s/leaf.cer", g_tmp);
	spit(path, P->c.der, P->c.der_len);
	run("openssl x509 -inform DER -in %s/leaf.cer -pubkey -noout > %s/leaf.pub", g_tmp, g_tmp);
	ef_digest_oneshot(EF_HASH_SHA256, msg, sizeof(msg), h);

	p = (struct ef_rsa_params){ EF_PAD_PKCS1, EF_HASH_SHA256, EF_HASH_NONE, 0, NULL, 0 };
	ef_rsa_sign(P->k, &p, h, 32, sig, &sl);
	snprintf(path, sizeof(path), "%s/sig.bin", g_tmp);
	spit(path, sig, sl);
	is_ul(run("openssl dgst -sha256 -verify %s/leaf.pub -signature %s/sig.bin %s/msg.bin "
		  ">/dev/null", g_tmp, g_tmp, g_tmp), 0,
	      "openssl dgst verifies SHA256-RSA-PKCS against the .cer");
	sig[5] ^= 0x80;
	spit(path, sig, sl);
	ok(run("openssl dgst -sha256 -verify %s/leaf.pub -signature %s/sig.bin %s/msg.bin "
	       ">/dev/null 2>&1", g_tmp, g_tmp, g_tmp) != 0, "... and refuses a damaged signature");

	p = (struct ef_rsa_params){ EF_PAD_PSS, EF_HASH_SHA256, EF_HASH_SHA256, 32, NULL, 0 };
	ef_rsa_sign(P->k, &p, h, 32, sig, &sl);
	spit(path, sig, sl);
	is_ul(run("openssl dgst -sha256 -verify %s/leaf.pub -sigopt rsa_padding_mode:pss "
		  "-sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 -signature %s/sig.bin "
		  "%s/msg.bin >/dev/null", g_tmp, g_tmp, g_tmp), 0,
	      "openssl dgst verifies PSS-SHA256 (MGF1-SHA256, salt 32) against the .cer");
	p = (struct ef_rsa_params){ EF_PAD_PSS, EF_HASH_SHA256, EF_HASH_SHA1, 20, NULL, 0 };
	ef_rsa_sign(P->k, &p, h, 32, sig, &sl);
	spit(path, sig, sl);
	is_ul(run("openssl dgst -sha256 -verify %s/leaf.pub -sigopt rsa_padding_mode:pss "
		  "-sigopt rsa_pss_saltlen:20 -sigopt rsa_mgf1_md:sha1 -signature %s/sig.bin "
		  "%s/msg.bin >/dev/null", g_tmp, g_tmp, g_tmp), 0,
	      "openssl dgst verifies PSS-SHA256 (MGF1-SHA1, salt 20)");
}

static void test_cipher(struct pair *P)
{
	unsigned char in[256], ct[256], pt[256];
	size_t cl = 0, ptl = 0;
	struct ef_rsa_params p;
	struct ef_pkey *pubk = NULL;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i + 1);
	ef_pubkey_from_spki(P->c.spki, P->c.spki_len, &pubk);

	p = (struct ef_rsa_params){ EF_PAD_PKCS1, EF_HASH_NONE, EF_HASH_NONE, 0, NULL, 0 };
	is_ul(ef_rsa_encrypt(pubk, &p, in, 245, ct, &cl), CKR_OK, "PKCS1 encrypt k-11 bytes");
	is_ul(ef_rsa_decrypt(P->k, &p, ct, cl, pt, &ptl), CKR_OK, "PKCS1 decrypt");
	ok(ptl == 245 && memcmp(pt, in, 245) == 0, "PKCS1 round trip");
	is_ul(ef_rsa_encrypt(pubk, &p, in, 246, ct, &cl), CKR_DATA_LEN_RANGE,
	      "PKCS1 encrypt k-10 bytes -> CKR_DATA_LEN_RANGE");
	is_ul(ef_rsa_decrypt(P->k, &p, ct, 255, pt, &ptl), CKR_ENCRYPTED_DATA_LEN_RANGE,
	      "decrypt 255 bytes -> CKR_ENCRYPTED_DATA_LEN_RANGE");
	ef_rsa_encrypt(pubk, &p, in, 16, ct, &cl);
	ct[0] ^= 0x01;   /* stays below n for this modulus? checked below either way */
	{
		CK_RV rv = ef_rsa_decrypt(P->k, &p, ct, cl, pt, &ptl);

		is_ul(rv, CKR_ENCRYPTED_DATA_INVALID, "PKCS1 damaged ciphertext -> CKR_ENCRYPTED_DATA_INVALID");
	}
	memset(ct, 0xff, 256);
	is_ul(ef_rsa_decrypt(P->k, &p, ct, 256, pt, &ptl), CKR_ENCRYPTED_DATA_INVALID,
	      "ciphertext >= n -> CKR_ENCRYPTED_DATA_INVALID");

	for (int h = EF_HASH_SHA1; h <= EF_HASH_SHA512; h++) {
		size_t hl = ef_hash_size((enum ef_hash)h), max = 256 - 2 * hl - 2;
		const char *hn = hash_name((enum ef_hash)h);

		for (int lab = 0; lab < 2; lab++) {
			p = (struct ef_rsa_params){ EF_PAD_OAEP, (enum ef_hash)h, (enum ef_hash)h, 0,
				lab ? (const unsigned char *)"etiqueta" : NULL, lab ? 8 : 0 };
			is_ul(ef_rsa_encrypt(pubk, &p, in, max, ct, &cl), CKR_OK,
			      "OAEP-%s%s encrypt max bytes", hn, lab ? " with label" : "");
			ok(ef_rsa_decrypt(P->k, &p, ct, cl, pt, &ptl) == CKR_OK && ptl == max &&
			   memcmp(pt, in, max) == 0, "OAEP-%s%s round trip", hn, lab ? " with label" : "");
			p.label = (const unsigned char *)"otra";
			p.label_len = 4;
			is_ul(ef_rsa_decrypt(P->k, &p, ct, cl, pt, &ptl), CKR_ENCRYPTED_DATA_INVALID,
			      "OAEP-%s: other label -> CKR_ENCRYPTED_DATA_INVALID", hn);
		}
		is_ul(ef_rsa_encrypt(pubk, &p, in, max + 1, ct, &cl), CKR_DATA_LEN_RANGE,
		      "OAEP-%s: max+1 bytes -> CKR_DATA_LEN_RANGE", hn);
	}
	/* OAEP SHA-256 / MGF1-SHA-1 with a label, against OpenSSL's default context. */
	{
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(P->pub, NULL);
		unsigned char *lab = OPENSSL_memdup("etiqueta", 8);
		size_t olen = sizeof(ct);

		p = (struct ef_rsa_params){ EF_PAD_OAEP, EF_HASH_SHA256, EF_HASH_SHA1, 0,
					    (const unsigned char *)"etiqueta", 8 };
		ok(c != NULL && EVP_PKEY_encrypt_init(c) > 0 &&
		   EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
		   EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 &&
		   EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()) > 0 &&
		   EVP_PKEY_CTX_set0_rsa_oaep_label(c, lab, 8) > 0 &&
		   EVP_PKEY_encrypt(c, ct, &olen, in, 50) > 0, "OpenSSL encrypts OAEP-SHA256/MGF1-SHA1");
		EVP_PKEY_CTX_free(c);
		ok(ef_rsa_decrypt(P->k, &p, ct, olen, pt, &ptl) == CKR_OK && ptl == 50 &&
		   memcmp(pt, in, 50) == 0, "... the crypto layer decrypts it");
	}
	/* No raw RSA (doc/DESIGN.md §8). */
	p = (struct ef_rsa_params){ EF_PAD_NONE, EF_HASH_NONE, EF_HASH_NONE, 0, NULL, 0 };
	is_ul(ef_rsa_encrypt(pubk, &p, in, 20, ct, &cl), CKR_MECHANISM_INVALID,
	      "no raw RSA encryption -> CKR_MECHANISM_INVALID");
	ef_rsa_encrypt(pubk, &(struct ef_rsa_params){ EF_PAD_PKCS1, EF_HASH_NONE, EF_HASH_NONE, 0, NULL, 0 },
		       in, 20, ct, &cl);
	is_ul(ef_rsa_decrypt(P->k, &p, ct, cl, pt, &ptl), CKR_MECHANISM_INVALID,
	      "no raw RSA decryption -> CKR_MECHANISM_INVALID");
	ef_key_unref(pubk);
}

/* ---------------------------------------------------------------- export */

static void test_export(struct pair *P)
{
	static const unsigned char newpw[] = "nueva-contrase\xc3\xb1" "a";
	size_t npl = sizeof(newpw) - 1, len = 0, len2 = 0;
	unsigned char *der = NULL, *der2 = NULL;
	struct ef_pkey *k = NULL;
	const unsigned char *q;
	X509_SIG *sig = NULL;

	is_ul(ef_key_export_sat(P->k, newpw, npl, &der, &len), CKR_OK, "export_sat");
	if (der == NULL)
		return;
	ok(ef_key_is_encrypted(der, len), "export is an encrypted key");
	is_ul(ef_key_open(der, len, newpw, npl, &k), CKR_OK, "export opens with the new password");
	ok(k != NULL && ef_key_matches_spki(k, P->c.spki, P->c.spki_len), "... and matches the .cer");
	ef_key_unref(k);
	is_ul(ef_key_open(der, len, (const unsigned char *)g_pw, 9, &k), CKR_PIN_INCORRECT,
	      "... not with the old one");
	ok(len > 1250 && len < 1350, "export is about the size of a SAT .key (%zu bytes)", len);

	/* The layout SAT writes, read with OpenSSL's ASN.1 parser. */
	q = der;
	sig = d2i_X509_SIG(NULL, &q, (long)len);
	if (ok(sig != NULL && q == der + len, "export is one DER EncryptedPrivateKeyInfo")) {
		const X509_ALGOR *alg;
		const ASN1_OBJECT *oid;
		int ptype;
		const void *pval;
		PBE2PARAM *pbe2 = NULL;
		PBKDF2PARAM *kdf = NULL;

		X509_SIG_get0(sig, &alg, NULL);
		X509_ALGOR_get0(&oid, &ptype, &pval, alg);
		is_ul(OBJ_obj2nid(oid), NID_pbes2, "algorithm PBES2");
		if (ptype == V_ASN1_SEQUENCE)
			pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
							 &(ASN1_TYPE){ .type = V_ASN1_SEQUENCE,
							 .value.sequence = (ASN1_STRING *)pval });
		if (ok(pbe2 != NULL, "PBES2-params parse")) {
			is_ul(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_pbkdf2, "KDF PBKDF2");
			kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
							pbe2->keyfunc->parameter);
			if (ok(kdf != NULL, "PBKDF2-params parse")) {
				ok(kdf->salt->type == V_ASN1_OCTET_STRING &&
				   kdf->salt->value.octet_string->length == 8, "salt: 8-byte OCTET STRING");
				is_ul(ASN1_INTEGER_get(kdf->iter), 2048, "2048 iterations");
				ok(kdf->keylength == NULL, "no keyLength");
				ok(kdf->prf == NULL, "no prf (hmacWithSHA1 by default)");
			}
			is_ul(OBJ_obj2nid(pbe2->encryption->algorithm), NID_des_ede3_cbc,
			      "encryption des-ede3-cbc");
			ok(pbe2->encryption->parameter != NULL &&
			   pbe2->encryption->parameter->type == V_ASN1_OCTET_STRING &&
			   pbe2->encryption->parameter->value.octet_string->length == 8,
			   "IV: 8-byte OCTET STRING");
		}
		PBKDF2PARAM_free(kdf);
		PBE2PARAM_free(pbe2);
	}
	X509_SIG_free(sig);

	/* Salt and IV are fresh each time. */
	is_ul(ef_key_export_sat(P->k, newpw, npl, &der2, &len2), CKR_OK, "second export");
	ok(der2 != NULL && len2 == len && memcmp(der, der2, len) != 0,
	   "two exports differ (random salt and IV)");
	ef_free_secret(der2, len2);

	/* A PIN with a NUL inside is taken byte for byte. */
	is_ul(ef_key_export_sat(P->k, (const unsigned char *)"a\0b", 3, &der2, &len2), CKR_OK,
	      "export with a PIN containing NUL");
	is_ul(ef_key_open(der2, len2, (const unsigned char *)"a\0b", 3, &k), CKR_OK,
	      "... opens with the same 3 bytes");
	ef_key_unref(k);
	is_ul(ef_key_open(der2, len2, (const unsigned char *)"a", 1, &k), CKR_PIN_INCORRECT,
	      "... not with the first byte only");
	ef_free_secret(der2, len2);

	if (g_have_cli) {
		char path[400];

		snprintf(path, sizeof(path), "%s/export.key", g_tmp);
		spit(path, der, len);
		snprintf(path, sizeof(path), "%s/newpw.txt", g_tmp);
		spit(path, newpw, npl);
		snprintf(path, sizeof(path), "%s/leaf.spki", g_tmp);
		spit(path, P->c.spki, P->c.spki_len);
		is_ul(run("openssl pkcs8 -inform DER -in %s/export.key -passin file:%s/newpw.txt "
			  "-out %s/export.plain.pem", g_tmp, g_tmp, g_tmp), 0,
		      "openssl pkcs8 decrypts the export with the new password");
		is_ul(run("openssl pkey -in %s/export.plain.pem -pubout -outform DER | "
			  "cmp -s - %s/leaf.spki", g_tmp, g_tmp), 0,
		      "... and its public key is the certificate's");
		ok(run("openssl pkcs8 -inform DER -in %s/export.key -passin pass:12345678a "
		       "-out /dev/null 2>/dev/null", g_tmp) != 0,
		   "openssl pkcs8 refuses the old password");
		snprintf(path, sizeof(path), "%s/export.plain.pem", g_tmp);
		unlink(path);
	} else {
		ok(1, "# SKIP no openssl command line");
	}
	ef_free_secret(der, len);
}

/* ------------------------------------------------------------ error queue */

static void test_error_queue(struct pair *P)
{
	unsigned long marker;
	unsigned char sig[256], h[32] = { 0 }, *der = NULL;
	size_t sl = 0, len;
	struct ef_cert c;
	struct ef_pkey *k = NULL;
	struct ef_rsa_params pss = { EF_PAD_PSS, EF_HASH_SHA256, EF_HASH_SHA256, 32, NULL, 0 };
	unsigned char *key = data_file(g_leaves[0].key, &len);

	ERR_clear_error();
	ERR_raise(ERR_LIB_USER, 42);
	marker = ERR_peek_last_error();
	ok(ERR_GET_LIB(marker) == ERR_LIB_USER && ERR_GET_REASON(marker) == 42,
	   "marker error pushed");

	/* Calls that make OpenSSL push errors internally. */
	ef_cert_parse((const unsigned char *)"garbage", 7, &c);
	ok(ERR_peek_last_error() == marker, "queue intact after a failed ef_cert_parse");
	ef_key_open(key, len, (const unsigned char *)"wrong", 5, &k);
	ok(ERR_peek_last_error() == marker, "queue intact after CKR_PIN_INCORRECT");
	ef_key_open(key, len / 2, (const unsigned char *)"wrong", 5, &k);
	ok(ERR_peek_last_error() == marker, "queue intact after CKR_DATA_INVALID");
	ef_rsa_sign(P->k, &pss, h, 32, sig, &sl);
	sig[3] ^= 1;
	ef_rsa_verify(P->k, &pss, h, 32, sig, sl);
	ok(ERR_peek_last_error() == marker, "queue intact after a failed verify");
	memset(sig, 0x11, sizeof(sig));
	ef_rsa_decrypt(P->k, &(struct ef_rsa_params){ EF_PAD_OAEP, EF_HASH_SHA1, EF_HASH_SHA1,
			0, NULL, 0 }, sig, 256, sig, &sl);
	ok(ERR_peek_last_error() == marker, "queue intact after a failed decrypt");
	ef_key_export_sat(P->k, (const unsigned char *)"x", 1, &der, &sl);
	ef_free_secret(der, sl);
	ok(ERR_peek_last_error() == marker, "queue intact after export");
	ok(!ef_cert_issued_by(&P->c, &P->c), "a leaf is not self-signed");
	ok(ERR_peek_last_error() == marker, "queue intact after a failed issued_by");
	ok(ERR_peek_error() == marker && ERR_get_error() == marker && ERR_get_error() == 0,
	   "the marker is the only error left");

	/* And with an empty queue, nothing is left behind. */
	ef_key_open(key, len, (const unsigned char *)"wrong", 5, &k);
	ef_cert_parse((const unsigned char *)"garbage", 7, &c);
	ok(ERR_peek_error() == 0, "an empty queue stays empty");
	free(key);
}

/* ---------------------------------------------------------------- random */

static void test_random(void)
{
	unsigned char a[32], b[32], z[32] = { 0 };

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	is_ul(ef_random(a, sizeof(a)), CKR_OK, "ef_random");
	ef_random(b, sizeof(b));
	ok(memcmp(a, b, 32) != 0 && memcmp(a, z, 32) != 0, "two random draws differ");
	is_ul(ef_random(a, 0), CKR_OK, "ef_random of 0 bytes");
	ef_cleanse(a, sizeof(a));
	ok(memcmp(a, z, 32) == 0, "ef_cleanse zeroes");
	ef_free_secret(NULL, 10);
	ef_free_secret(malloc(16), 16);
	ok(1, "ef_free_secret takes NULL and malloc'd buffers");
}

/* ---------------------------------------------------------------- threads */

struct thr {
	struct ef_pkey *k;
	EVP_PKEY *pub;
	int id, bad;
};

static void *thr_sign(void *arg)
{
	struct thr *t = arg;
	unsigned char h[32], sig[256];
	size_t sl;

	for (int i = 0; i < 40; i++) {
		struct ef_rsa_params p = { (i & 1) ? EF_PAD_PSS : EF_PAD_PKCS1, EF_HASH_SHA256,
					   EF_HASH_SHA256, 32, NULL, 0 };
		struct ef_pkey *k = ef_key_ref(t->k);
		unsigned char m[8] = { (unsigned char)t->id, (unsigned char)i };

		ef_digest_oneshot(EF_HASH_SHA256, m, sizeof(m), h);
		if (ef_rsa_sign(k, &p, h, 32, sig, &sl) != CKR_OK ||
		    ef_rsa_verify(k, &p, h, 32, sig, sl) != CKR_OK)
			t->bad++;
		ef_key_unref(k);
	}
	return NULL;
}

static void test_threads(struct pair *P)
{
	pthread_t th[4];
	struct thr t[4];
	int bad = 0;

	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ P->k, P->pub, i, 0 };
		pthread_create(&th[i], NULL, thr_sign, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += t[i].bad;
	}
	is_ul((unsigned long)bad, 0, "4 threads x 40 signatures with one shared key");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct pair P;
	char cmd[400];

	if (argc > 1)
		g_dir = argv[1];
	snprintf(g_tmp, sizeof(g_tmp), "%s/test-crypto.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(g_tmp) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	/* First, before this process touches OpenSSL's default context. */
	TAP_PART(test_no_default_context());

	g_have_cli = run("openssl version >/dev/null 2>&1") == 0;
	is_ul(ef_crypto_init(), CKR_OK, "ef_crypto_init");
	is_ul(ef_crypto_init(), CKR_OK, "ef_crypto_init again (idempotent)");

	TAP_PART(test_digests());
	TAP_PART(test_secret_alloc());
	for (size_t i = 0; i < N_LEAVES; i++)
		TAP_PART(test_leaf(&g_leaves[i]));
	TAP_PART(test_every_cer());
	TAP_PART(test_cas());
	TAP_PART(test_chains());
	TAP_PART(test_keys());
	if (ok(load_pair(0, &P), "load the CACX7605101P8 e.firma pair")) {
		TAP_PART(test_sign(&P));
		TAP_PART(test_sign_cli(&P));
		TAP_PART(test_cipher(&P));
		TAP_PART(test_export(&P));
		TAP_PART(test_error_queue(&P));
		TAP_PART(test_threads(&P));
	}
	free_pair(&P);
	/* A Latin-1 bundle signs too. */
	if (ok(load_pair(6, &P), "load the HAÑ930228SM9 pair")) {
		unsigned char h[32] = { 9 }, sig[256];
		size_t sl;
		struct ef_rsa_params p = { EF_PAD_PSS, EF_HASH_SHA256, EF_HASH_SHA256, 32, NULL, 0 };

		ok(ef_rsa_sign(P.k, &p, h, 32, sig, &sl) == CKR_OK &&
		   indep_verify(P.pub, &p, h, 32, sig, sl), "HAÑ930228SM9 PSS signature verifies");
	}
	free_pair(&P);
	TAP_PART(test_random());

	ef_crypto_fini();
	is_ul(ef_crypto_init(), CKR_OK, "init after fini");
	ef_crypto_fini();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", g_tmp);
	return tap_done();
}
