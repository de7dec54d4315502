/*
 * api-util.c - shared helpers of the API tests: module loading through
 * dlopen(), slot/session/object shortcuts, and the independent OpenSSL side
 * (certificate facts, signature verification, encryption, generated
 * bundles).  No TAP here: the test programs do the reporting.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "api-util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

CK_FUNCTION_LIST_PTR P;
CK_FUNCTION_LIST_3_0_PTR P3;
CK_C_GetInterfaceList api_get_interface_list;
CK_C_GetInterface api_get_interface;

static char *tmpdirs[64];
static size_t n_tmpdirs;
static pid_t owner_pid;

/* ------------------------------------------------------------------ env */

static void cleanup_tmpdirs(void)
{
	/* A forked child that returns from main must not remove the parent's
	 * folders. */
	if (getpid() != owner_pid)
		return;
	for (size_t i = 0; i < n_tmpdirs; i++) {
		if (!getenv("EF_TEST_KEEP"))
			api_sh("rm -rf '%s'", tmpdirs[i]);
		free(tmpdirs[i]);
	}
	n_tmpdirs = 0;
}

const char *api_tmpdir(void)
{
	char tmpl[] = "/tmp/ef-api-XXXXXX";
	if (!mkdtemp(tmpl)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		return NULL;
	}
	if (n_tmpdirs == 0 && owner_pid == 0) {
		owner_pid = getpid();
		atexit(cleanup_tmpdirs);
	}
	if (n_tmpdirs >= sizeof tmpdirs / sizeof tmpdirs[0])
		return NULL;
	tmpdirs[n_tmpdirs] = strdup(tmpl);
	return tmpdirs[n_tmpdirs++];
}

void api_setup_env(void)
{
	const char *xdg = api_tmpdir();
	/* Never pick up a developer's own configuration. */
	if (xdg)
		setenv("XDG_CONFIG_HOME", xdg, 1);
	unsetenv("EFIRMA_PKCS11_CONF");
	setvbuf(stdout, NULL, _IOLBF, 0);
}

const char *api_module_path(void)
{
	static char buf[4096];
	const char *m = getenv("EF_TEST_MODULE");
	if (m && *m)
		return m;
	const char *b = getenv("EF_TEST_BUILDDIR");
	snprintf(buf, sizeof buf, "%s/module/.libs/efirma-pkcs11.so", b && *b ? b : ".");
	return buf;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *api_sat_dir(void)
{
	static char buf[4096];
	if (buf[0])
		return buf;
	const char *d = getenv("EF_TEST_DATA");
	const char *src = getenv("EF_TEST_SRCDIR");
	char cand[4][4096];
	int n = 0;
	if (d && *d)
		snprintf(cand[n++], sizeof cand[0], "%s/sat", d);
	if (src && *src)
		snprintf(cand[n++], sizeof cand[0], "%s/tests/data/sat", src);
	snprintf(cand[n++], sizeof cand[0], "tests/data/sat");
	snprintf(cand[n++], sizeof cand[0], "../tests/data/sat");
	for (int i = 0; i < n; i++) {
		char probe[4200];
		snprintf(probe, sizeof probe, "%s/fiel-pf-CACX7605101P8-2023", cand[i]);
		if (is_dir(probe)) {
			if (!realpath(cand[i], buf))
				snprintf(buf, sizeof buf, "%s", cand[i]);
			return buf;
		}
	}
	snprintf(buf, sizeof buf, "%s", cand[0]);
	return buf;
}

const char *api_sat(const char *rel)
{
	static char bufs[8][4096];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", api_sat_dir(), rel);
	return b;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

bool api_bundle_from_dir(const char *dir, struct api_bundle *b)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char cer[512] = "", key[512] = "", anykey[512] = "";
	int nkeys = 0;

	memset(b, 0, sizeof *b);
	if (!d)
		return false;
	while ((e = readdir(d))) {
		if (ends_with(e->d_name, ".cer") && !cer[0])
			snprintf(cer, sizeof cer, "%s", e->d_name);
		else if (ends_with(e->d_name, ".key")) {
			nkeys++;
			snprintf(anykey, sizeof anykey, "%s", e->d_name);
		}
	}
	closedir(d);
	if (!cer[0])
		return false;
	/* The key named like the certificate, or the only one. */
	snprintf(key, sizeof key, "%.*s.key", (int)(strlen(cer) - 4), cer);
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, key);
	if (access(path, R_OK) != 0) {
		if (nkeys != 1)
			return false;
		snprintf(key, sizeof key, "%s", anykey);
	}
	const char *base = strrchr(dir, '/');
	snprintf(b->name, sizeof b->name, "%s", base ? base + 1 : dir);
	snprintf(b->cer, sizeof b->cer, "%s/%s", dir, cer);
	snprintf(b->key, sizeof b->key, "%s/%s", dir, key);
	snprintf(path, sizeof path, "%s/password.txt", dir);
	size_t plen = 0;
	unsigned char *pw = api_read_file(path, &plen);
	if (pw) {
		while (plen && (pw[plen - 1] == '\n' || pw[plen - 1] == '\r'))
			plen--;
		if (plen >= sizeof b->pin)
			plen = sizeof b->pin - 1;
		memcpy(b->pin, pw, plen);
		free(pw);
	} else {
		snprintf(b->pin, sizeof b->pin, "%s", API_PIN);
	}
	return true;
}

static int cmp_bundle(const void *a, const void *b)
{
	return strcmp(((const struct api_bundle *)a)->name,
		      ((const struct api_bundle *)b)->name);
}

size_t api_sat_bundles(struct api_bundle **out)
{
	DIR *d = opendir(api_sat_dir());
	struct dirent *e;
	size_t n = 0, cap = 0;
	struct api_bundle *v = NULL;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char dir[4096];
		struct api_bundle b;
		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof dir, "%s/%s", api_sat_dir(), e->d_name);
		if (!is_dir(dir) || !api_bundle_from_dir(dir, &b))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof *v);
			if (!v)
				abort();
		}
		v[n++] = b;
	}
	closedir(d);
	qsort(v, n, sizeof *v, cmp_bundle);
	*out = v;
	return n;
}

bool api_sat_bundle(const char *name, struct api_bundle *b)
{
	return api_bundle_from_dir(api_sat(name), b);
}

/* --------------------------------------------------------------- module */

bool api_load(void)
{
	const char *path = api_module_path();
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("# cannot load %s: %s\n", path, dlerror());
		return false;
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	api_get_interface_list = (CK_C_GetInterfaceList)dlsym(h, "C_GetInterfaceList");
	api_get_interface = (CK_C_GetInterface)dlsym(h, "C_GetInterface");
	if (!gfl || gfl(&P) != CKR_OK || !P) {
		printf("# C_GetFunctionList failed in %s\n", path);
		return false;
	}
	if (api_get_interface) {
		CK_INTERFACE_PTR i = NULL;
		CK_VERSION v = { 3, 0 };
		if (api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", &v, &i, 0) == CKR_OK && i)
			P3 = i->pFunctionList;
	}
	return true;
}

CK_RV api_init(const char *conf)
{
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK;
	a.pReserved = (void *)conf;
	return P->C_Initialize(&a);
}

CK_RV api_init_bundle(const struct api_bundle *b)
{
	char conf[4096];
	snprintf(conf, sizeof conf, "cert=%s key=%s ca=%s", b->cer, b->key, api_sat("ca"));
	return api_init(conf);
}

CK_RV api_init_bundles(const struct api_bundle *b, size_t n)
{
	const char *dir = api_tmpdir();
	char path[4096], conf[4200];
	FILE *f;
	if (!dir)
		return CKR_GENERAL_ERROR;
	snprintf(path, sizeof path, "%s/test.conf", dir);
	f = fopen(path, "w");
	if (!f)
		return CKR_GENERAL_ERROR;
	fprintf(f, "# written by the API tests\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "[bundle]\ncert = %s\nkey = %s\n\n", b[i].cer, b[i].key);
	fprintf(f, "[ca]\npath = %s\n", api_sat("ca"));
	fclose(f);
	snprintf(conf, sizeof conf, "conf=%s", path);
	return api_init(conf);
}

CK_RV api_finalize(void)
{
	return P->C_Finalize(NULL);
}

/* ------------------------------------------------ slots, sessions, objects */

void api_field(const unsigned char *p, size_t len, char *out, size_t outsize)
{
	size_t n = len;
	while (n && p[n - 1] == ' ')
		n--;
	if (n >= outsize)
		n = outsize - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

static CK_RV slot_list(CK_BBOOL present, CK_SLOT_ID **ids, CK_ULONG *n)
{
	CK_RV rv = P->C_GetSlotList(present, NULL, n);
	if (rv != CKR_OK)
		return rv;
	*ids = calloc(*n + 1, sizeof **ids);
	if (!*ids)
		return CKR_HOST_MEMORY;
	return P->C_GetSlotList(present, *ids, n);
}

CK_RV api_find_slot(const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID *ids = NULL;
	CK_ULONG n = 0;
	CK_RV rv = slot_list(CK_TRUE, &ids, &n);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_SLOT_ID_INVALID;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		char l[64];
		if (P->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		api_field(ti.label, sizeof ti.label, l, sizeof l);
		if (strcmp(l, label) == 0) {
			*slot = ids[i];
			rv = CKR_OK;
			break;
		}
	}
out:
	free(ids);
	return rv;
}

CK_RV api_first_token_slot(CK_SLOT_ID *slot)
{
	CK_SLOT_ID *ids = NULL;
	CK_ULONG n = 0;
	CK_RV rv = slot_list(CK_TRUE, &ids, &n);
	if (rv == CKR_OK && n == 0)
		rv = CKR_TOKEN_NOT_PRESENT;
	if (rv == CKR_OK)
		*slot = ids[0];
	free(ids);
	return rv;
}

CK_RV api_open(CK_SLOT_ID slot, bool rw, CK_SESSION_HANDLE *s)
{
	CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	return P->C_OpenSession(slot, fl, NULL, NULL, s);
}

CK_RV api_login(CK_SESSION_HANDLE s, const char *pin)
{
	return P->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

CK_ULONG api_find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		  CK_OBJECT_HANDLE *out, CK_ULONG max, CK_RV *rvp)
{
	CK_OBJECT_HANDLE buf[16];
	CK_ULONG total = 0, got = 0;
	CK_RV rv = P->C_FindObjectsInit(s, tmpl, n);
	if (rv != CKR_OK)
		goto fail;
	do {
		rv = P->C_FindObjects(s, buf, 16, &got);
		if (rv != CKR_OK) {
			P->C_FindObjectsFinal(s);
			goto fail;
		}
		for (CK_ULONG i = 0; i < got; i++, total++)
			if (out && total < max)
				out[total] = buf[i];
	} while (got > 0 && total < 100000);
	rv = P->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		goto fail;
	if (rvp)
		*rvp = CKR_OK;
	return total;
fail:
	if (rvp)
		*rvp = rv;
	return (CK_ULONG)-1;
}

CK_ULONG api_find_class(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
			CK_OBJECT_HANDLE *out, CK_ULONG max)
{
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof cls };
	return api_find(s, &t, 1, out, max, NULL);
}

CK_OBJECT_HANDLE api_leaf_cert(CK_SESSION_HANDLE s)
{
	CK_OBJECT_HANDLE h[64];
	CK_ULONG n = api_find_class(s, CKO_CERTIFICATE, h, 64);
	if (n == (CK_ULONG)-1)
		return CK_INVALID_HANDLE;
	for (CK_ULONG i = 0; i < n && i < 64; i++)
		if (api_attr_ulong(s, h[i], CKA_CERTIFICATE_CATEGORY, 99) == 1)
			return h[i];
	return CK_INVALID_HANDLE;
}

CK_OBJECT_HANDLE api_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_OBJECT_HANDLE h[4];
	CK_ULONG n = api_find_class(s, cls, h, 4);
	return n >= 1 && n != (CK_ULONG)-1 ? h[0] : CK_INVALID_HANDLE;
}

CK_RV api_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
	       unsigned char **val, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { t, NULL, 0 };
	CK_RV rv = P->C_GetAttributeValue(s, o, &a, 1);
	*val = NULL;
	*len = 0;
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_GENERAL_ERROR;
	a.pValue = malloc(a.ulValueLen + 1);
	if (!a.pValue)
		return CKR_HOST_MEMORY;
	rv = P->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	((unsigned char *)a.pValue)[a.ulValueLen] = 0;
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

CK_ULONG api_attr_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
			CK_ATTRIBUTE_TYPE t, CK_ULONG fallback)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { t, &v, sizeof v };
	if (P->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen != sizeof v)
		return fallback;
	return v;
}

int api_attr_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL v = 0x55;
	CK_ATTRIBUTE a = { t, &v, sizeof v };
	if (P->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen != sizeof v)
		return -1;
	return v == CK_TRUE ? 1 : v == CK_FALSE ? 0 : -1;
}

/* ---------------------------------------------------------------- files */

unsigned char *api_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			unsigned char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

bool api_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

bool api_copy_file(const char *src, const char *dst)
{
	size_t n;
	unsigned char *b = api_read_file(src, &n);
	if (!b)
		return false;
	bool ok = api_write_file(dst, b, n);
	free(b);
	return ok;
}

/* -------------------------------------------------------------- OpenSSL */

X509 *api_load_cert(const char *path)
{
	size_t n;
	unsigned char *b = api_read_file(path, &n);
	const unsigned char *p = b;
	X509 *x = NULL;
	if (!b)
		return NULL;
	x = d2i_X509(NULL, &p, (long)n);
	if (!x) {
		BIO *bio = BIO_new_mem_buf(b, (int)n);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	free(b);
	ERR_clear_error();
	return x;
}

EVP_PKEY *api_cert_pubkey(const char *path)
{
	X509 *x = api_load_cert(path);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
	X509_free(x);
	return k;
}

struct pass_ref {
	const void *pass;
	size_t len;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	const struct pass_ref *r = u;
	(void)rwflag;
	if (!r || (int)r->len > size)
		return -1;
	memcpy(buf, r->pass, r->len);
	return (int)r->len;
}

EVP_PKEY *api_load_key(const char *path, const void *pass, size_t passlen)
{
	size_t n;
	unsigned char *b = api_read_file(path, &n);
	struct pass_ref r = { pass, passlen };
	EVP_PKEY *k = NULL;
	BIO *bio;
	if (!b)
		return NULL;
	bio = BIO_new_mem_buf(b, (int)n);
	k = d2i_PKCS8PrivateKey_bio(bio, NULL, pass_cb, &r);
	if (!k) {
		BIO_free(bio);
		bio = BIO_new_mem_buf(b, (int)n);
		k = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &r);
	}
	BIO_free(bio);
	free(b);
	ERR_clear_error();
	return k;
}

bool api_spki_sha1(X509 *x, unsigned char out[20])
{
	const ASN1_BIT_STRING *bs = X509_get0_pubkey_bitstr(x);
	unsigned int len = 0;
	return bs && EVP_Digest(bs->data, (size_t)bs->length, out, &len, EVP_sha1(), NULL) == 1 &&
	       len == 20;
}

char *api_cert_cn_utf8(X509 *x)
{
	X509_NAME *nm = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
	unsigned char *u = NULL;
	if (i < 0)
		return NULL;
	ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
	int n = ASN1_STRING_to_UTF8(&u, s);
	if (n < 0)
		return NULL;
	char *r = strndup((char *)u, (size_t)n);
	OPENSSL_free(u);
	return r;
}

const EVP_MD *api_md_for_mech(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1: case CKM_SHA1_RSA_PKCS: case CKM_SHA1_RSA_PKCS_PSS:
		return EVP_sha1();
	case CKM_SHA224: case CKM_SHA224_RSA_PKCS: case CKM_SHA224_RSA_PKCS_PSS:
		return EVP_sha224();
	case CKM_SHA256: case CKM_SHA256_RSA_PKCS: case CKM_SHA256_RSA_PKCS_PSS:
		return EVP_sha256();
	case CKM_SHA384: case CKM_SHA384_RSA_PKCS: case CKM_SHA384_RSA_PKCS_PSS:
		return EVP_sha384();
	case CKM_SHA512: case CKM_SHA512_RSA_PKCS: case CKM_SHA512_RSA_PKCS_PSS:
		return EVP_sha512();
	default:
		return NULL;
	}
}

const EVP_MD *api_md_for_mgf(CK_RSA_PKCS_MGF_TYPE g)
{
	switch (g) {
	case CKG_MGF1_SHA1: return EVP_sha1();
	case CKG_MGF1_SHA224: return EVP_sha224();
	case CKG_MGF1_SHA256: return EVP_sha256();
	case CKG_MGF1_SHA384: return EVP_sha384();
	case CKG_MGF1_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

bool api_verify_pkcs1(EVP_PKEY *k, const EVP_MD *md, const void *msg, size_t len,
		      const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = c && EVP_DigestVerifyInit(c, &pc, md, NULL, k) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0 &&
		  EVP_DigestVerify(c, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok;
}

bool api_verify_pss(EVP_PKEY *k, const EVP_MD *md, const EVP_MD *mgf1, int saltlen,
		    const void *msg, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = c && EVP_DigestVerifyInit(c, &pc, md, NULL, k) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, saltlen) > 0 &&
		  EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mgf1) > 0 &&
		  EVP_DigestVerify(c, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok;
}

bool api_verify_pss_hash(EVP_PKEY *k, const EVP_MD *md, const EVP_MD *mgf1, int saltlen,
			 const unsigned char *hash, size_t hlen,
			 const unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	bool ok = pc && EVP_PKEY_verify_init(pc) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		  EVP_PKEY_CTX_set_signature_md(pc, md) > 0 &&
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, saltlen) > 0 &&
		  EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mgf1) > 0 &&
		  EVP_PKEY_verify(pc, sig, siglen, hash, hlen) == 1;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok;
}

bool api_verify_recover(EVP_PKEY *k, int padding, const void *data, size_t len,
			const unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	unsigned char out[1024];
	size_t outlen = sizeof out;
	bool ok = pc && EVP_PKEY_verify_recover_init(pc) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, padding) > 0 &&
		  EVP_PKEY_verify_recover(pc, out, &outlen, sig, siglen) == 1 &&
		  outlen == len && memcmp(out, data, len) == 0;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok;
}

static bool set_oaep(EVP_PKEY_CTX *pc, int padding, const EVP_MD *md, const EVP_MD *mgf1,
		     const void *label, size_t labellen)
{
	if (EVP_PKEY_CTX_set_rsa_padding(pc, padding) <= 0)
		return false;
	if (padding != RSA_PKCS1_OAEP_PADDING)
		return true;
	if (EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mgf1) <= 0)
		return false;
	if (labellen) {
		void *l = OPENSSL_memdup(label, labellen);
		if (!l || EVP_PKEY_CTX_set0_rsa_oaep_label(pc, l, (int)labellen) <= 0) {
			OPENSSL_free(l);
			return false;
		}
	}
	return true;
}

size_t api_encrypt(EVP_PKEY *k, int padding, const EVP_MD *md, const EVP_MD *mgf1,
		   const void *label, size_t labellen, const void *in, size_t inlen,
		   unsigned char *out, size_t outsize)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	size_t outlen = outsize;
	bool ok = pc && EVP_PKEY_encrypt_init(pc) == 1 &&
		  set_oaep(pc, padding, md, mgf1, label, labellen) &&
		  EVP_PKEY_encrypt(pc, out, &outlen, in, inlen) == 1;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok ? outlen : 0;
}

size_t api_decrypt(EVP_PKEY *priv, int padding, const EVP_MD *md, const EVP_MD *mgf1,
		   const void *label, size_t labellen, const void *in, size_t inlen,
		   unsigned char *out, size_t outsize)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(priv, NULL);
	size_t outlen = outsize;
	bool ok = pc && EVP_PKEY_decrypt_init(pc) == 1 &&
		  set_oaep(pc, padding, md, mgf1, label, labellen) &&
		  EVP_PKEY_decrypt(pc, out, &outlen, in, inlen) == 1;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok ? outlen : 0;
}

size_t api_sign_pkcs1(EVP_PKEY *priv, const EVP_MD *md, const void *msg, size_t len,
		      unsigned char *sig, size_t sigsize)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t siglen = sigsize;
	bool ok = c && EVP_DigestSignInit(c, NULL, md, NULL, priv) == 1 &&
		  EVP_DigestSign(c, sig, &siglen, msg, len) == 1;
	EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok ? siglen : 0;
}

/* ------------------------------------------------------ generated bundles */

int api_sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof cmd)
		return -1;
	fflush(stdout);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* The configuration both for the string types SAT uses (x500UniqueIdentifier
 * as PrintableString) and for "req -x509" (the leaf extensions). */
static bool write_req_conf(const char *path, const char *cn, const char *rfc, bool csd)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f,
		"openssl_conf = openssl_init\n"
		"[openssl_init]\nstbl_section = stbl\n"
		"[stbl]\nx500UniqueIdentifier = mask:PRINTABLESTRING|T61STRING,flags:nomask\n"
		"[req]\nprompt = no\nutf8 = yes\nstring_mask = nombstr\n"
		"distinguished_name = dn\nx509_extensions = ext\n"
		"[dn]\nCN = %s\nO = %s\nx500UniqueIdentifier = %s\n%s"
		"[ext]\nsubjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n"
		"basicConstraints = critical,CA:FALSE\n%s",
		cn, cn, rfc, csd ? "OU = Sucursal Generada 1\n" : "C = MX\n",
		csd ? "keyUsage = digitalSignature,nonRepudiation\n"
		    : "keyUsage = digitalSignature,nonRepudiation,dataEncipherment,keyAgreement\n"
		      "extendedKeyUsage = emailProtection,clientAuth\n");
	return fclose(f) == 0;
}

static void ascii_hex(const char *s, char *out, size_t outsize)
{
	size_t o = 0;
	for (; *s && o + 3 < outsize; s++)
		o += (size_t)snprintf(out + o, outsize - o, "%02x", (unsigned char)*s);
	out[o] = 0;
}

static bool make_cert(const char *dir, const char *name, const char *keypem,
		      const char *cn, const char *rfc, const char *numero, bool csd)
{
	char conf[4096], serial[128];
	snprintf(conf, sizeof conf, "%s/%s.cnf", dir, name);
	if (!write_req_conf(conf, cn, rfc, csd))
		return false;
	ascii_hex(numero, serial, sizeof serial);
	return api_sh("cd '%s' && OPENSSL_CONF='%s' openssl req -x509 -new -config '%s' "
		      "-key '%s' -sha256 -days 1460 -set_serial 0x%s -outform DER "
		      "-out '%s.cer' 2>/dev/null",
		      dir, conf, conf, keypem, serial, name) == 0;
}

bool api_gen_bundle(const char *dir, const char *name, const char *cn,
		    const char *rfc, const char *numero, bool csd,
		    const void *pass, size_t passlen, struct api_bundle *b)
{
	char pf[4096];
	snprintf(pf, sizeof pf, "%s/%s.pass", dir, name);
	if (!api_write_file(pf, pass, passlen))
		return false;
	if (api_sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
		   "-out '%s.pem' 2>/dev/null && "
		   "openssl pkcs8 -topk8 -in '%s.pem' -outform DER -v2 des3 -v2prf hmacWithSHA1 "
		   "-iter 2048 -passout 'file:%s.pass' -out '%s.key' 2>/dev/null",
		   dir, name, name, name, name) != 0)
		return false;
	char keypem[4200];
	snprintf(keypem, sizeof keypem, "%s.pem", name);
	if (!make_cert(dir, name, keypem, cn, rfc, numero, csd))
		return false;
	memset(b, 0, sizeof *b);
	snprintf(b->name, sizeof b->name, "%s", name);
	snprintf(b->cer, sizeof b->cer, "%s/%s.cer", dir, name);
	snprintf(b->key, sizeof b->key, "%s/%s.key", dir, name);
	if (passlen >= sizeof b->pin)
		return false;
	memcpy(b->pin, pass, passlen);
	return true;
}

bool api_gen_cert_for_key(const char *dir, const char *name, const char *keyfile,
			  const void *pass, size_t passlen, struct api_bundle *b)
{
	char pf[4096], keypem[4200], kdst[4200];
	snprintf(pf, sizeof pf, "%s/%s.pass", dir, name);
	snprintf(kdst, sizeof kdst, "%s/%s.key", dir, name);
	if (!api_write_file(pf, pass, passlen) || !api_copy_file(keyfile, kdst))
		return false;
	if (api_sh("cd '%s' && openssl pkcs8 -inform DER -in '%s.key' -passin 'file:%s.pass' "
		   "-out '%s.pem' 2>/dev/null", dir, name, name, name) != 0)
		return false;
	snprintf(keypem, sizeof keypem, "%s.pem", name);
	if (!make_cert(dir, name, keypem, "CERTIFICADO PARA LLAVE CERTIFICA",
		       "HAN930228SM9", "30001000000999909001", false))
		return false;
	memset(b, 0, sizeof *b);
	snprintf(b->name, sizeof b->name, "%s", name);
	snprintf(b->cer, sizeof b->cer, "%s/%s.cer", dir, name);
	snprintf(b->key, sizeof b->key, "%s/%s.key", dir, name);
	if (passlen >= sizeof b->pin)
		return false;
	memcpy(b->pin, pass, passlen);
	return true;
}

static bool file_exists(const char *p)
{
	return access(p, R_OK) == 0;
}

static const char *gen_dir(void)
{
	static char dir[4096];
	const char *g = getenv("EF_TEST_GEN");
	char path[4200];
	if (dir[0])
		return dir;
	if (g && *g) {
		snprintf(path, sizeof path, "%s/MANIFEST", g);
		if (file_exists(path)) {
			snprintf(dir, sizeof dir, "%s", g);
			return dir;
		}
	}
	/* Not made by the build: run the generator ourselves. */
	const char *src = getenv("EF_TEST_SRCDIR");
	const char *data = getenv("EF_TEST_DATA");
	char cand[3][4096];
	int n = 0;
	if (src && *src)
		snprintf(cand[n++], sizeof cand[0], "%s/tests/gen-bundles.sh", src);
	if (data && *data)
		snprintf(cand[n++], sizeof cand[0], "%s/../gen-bundles.sh", data);
	snprintf(cand[n++], sizeof cand[0], "tests/gen-bundles.sh");
	for (int i = 0; i < n; i++) {
		if (!file_exists(cand[i]))
			continue;
		const char *t = api_tmpdir();
		if (t && api_sh("bash '%s' '%s' >/dev/null 2>&1", cand[i], t) == 0) {
			snprintf(dir, sizeof dir, "%s", t);
			return dir;
		}
		printf("# %s failed\n", cand[i]);
		break;
	}
	return NULL;
}

static char *next_field(char **p)
{
	char *f = *p, *t;
	if (!f)
		return NULL;
	t = strchr(f, '\t');
	if (t) {
		*t = 0;
		*p = t + 1;
	} else {
		t = strchr(f, '\n');
		if (t)
			*t = 0;
		*p = NULL;
	}
	return f;
}

size_t api_gen_bundles(struct api_gen **out)
{
	const char *dir = gen_dir();
	char path[4200], line[2048];
	size_t n = 0, cap = 0;
	struct api_gen *v = NULL;
	FILE *f;

	*out = NULL;
	if (!dir)
		return 0;
	snprintf(path, sizeof path, "%s/MANIFEST", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		char *p = line, *fl[9];
		int k;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		for (k = 0; k < 9; k++)
			if (!(fl[k] = next_field(&p)))
				break;
		if (k < 8)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof *v);
			if (!v)
				abort();
		}
		struct api_gen *g = &v[n++];
		memset(g, 0, sizeof *g);
		snprintf(g->b.name, sizeof g->b.name, "%s", fl[0]);
		snprintf(g->b.cer, sizeof g->b.cer, "%s/%s", dir, fl[1]);
		snprintf(g->b.key, sizeof g->b.key, "%s/%s", dir, fl[2]);
		snprintf(g->kind, sizeof g->kind, "%s", fl[4]);
		snprintf(g->numero, sizeof g->numero, "%s", fl[5]);
		snprintf(g->rfc, sizeof g->rfc, "%s", fl[6]);
		snprintf(g->expect, sizeof g->expect, "%s", fl[7]);
		snprintf(g->b.pin, sizeof g->b.pin, "%s", API_PIN);
		if (strcmp(fl[3], "-") != 0) {
			char pf[4200];
			size_t pl = 0;
			snprintf(pf, sizeof pf, "%s/%s", dir, fl[3]);
			unsigned char *pw = api_read_file(pf, &pl);
			if (pw) {
				while (pl && (pw[pl - 1] == '\n' || pw[pl - 1] == '\r'))
					pl--;
				if (pl < sizeof g->b.pin) {
					memcpy(g->b.pin, pw, pl);
					g->b.pin[pl] = 0;
				}
				free(pw);
			}
		}
	}
	fclose(f);
	*out = v;
	return n;
}

/* ----------------------------------------------------------- diagnostics */

bool api_utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		unsigned long cp;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		/* overlong forms and surrogates are not valid UTF-8 */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += n + 1;
	}
	return true;
}

bool api_blank_padded(const unsigned char *p, size_t len)
{
	if (memchr(p, 0, len))
		return false;
	return api_utf8_valid(p, len);
}

bool api_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
	return memmem(hay, hlen, needle, nlen) != NULL;
}

void api_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		memset(buf, 0x5a, len);
}
