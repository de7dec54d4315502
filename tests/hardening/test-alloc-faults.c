/*
 * test-alloc-faults.c - every allocation of the module may fail: the call
 * answers with a clean error, the state stays consistent, and the same
 * call then works.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The module's objects are linked into this program (as in
 * tests/fuzz/replay-api) with -Wl,--wrap for malloc, calloc, realloc,
 * strdup, strndup, asprintf and mmap, so the wrappers below see the
 * module's own allocations, and only while a C_* call of the sequence is
 * running.  OpenSSL's allocations (in libcrypto.so) are not counted.
 *
 * The sequence: C_Initialize with a folder scan, C_GetSlotList, the first
 * search that shows the CA certificates, a search of every object,
 * C_Login, C_SignInit/C_Sign, C_Logout, C_Finalize.  A run without
 * failures counts its allocations (T) and records what it saw; then for
 * every N in 1..T the sequence runs again with the Nth allocation failing.
 * The call that meets the failure must answer CKR_HOST_MEMORY (or another
 * error that does not lie: never CKR_PIN_INCORRECT, never a missing
 * token); it is then called again, and it and the rest of the sequence
 * must work and see exactly what the run without failures saw.  Memory
 * errors and leaks are left to ASan and valgrind (tests/run-tests.sh
 * asan_check, make memcheck), which run this program too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "api/api-util.h"
#include "tap.h"

/* The module's exported entry point, linked in. */
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

/* ------------------------------------------------------- the wrappers */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_asprintf(char **out, const char *fmt, ...);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

static bool armed;               /* a C_* call of the sequence is running */
static unsigned long n_allocs;   /* allocations seen while armed */
static unsigned long fail_at;    /* 0: none fails */
static bool failed_one;

/* True when this allocation is the one to fail. */
static bool fail_now(void)
{
	if (!armed)
		return false;
	if (++n_allocs != fail_at)
		return false;
	failed_one = true;
	errno = ENOMEM;
	return true;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fail_now() ? NULL : __real_strndup(s, n);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (fail_now())
		return -1;
	va_start(ap, fmt);
	r = vasprintf(out, fmt, ap);
	va_end(ap);
	return r;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return fail_now() ? MAP_FAILED : __real_mmap(addr, len, prot, flags, fd, off);
}

/* ------------------------------------------------------- the sequence */

static CK_FUNCTION_LIST_PTR F;
static char reserved[3000];
static struct api_bundle bundle;
static EVP_PKEY *pub;

/* What one run saw. */
struct run {
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_ULONG n_slots, n_certs, n_all;
	CK_OBJECT_HANDLE priv;
	CK_ULONG n_priv;
	bool sig_ok;
};

static CK_RV find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out,
		  CK_ULONG *count)
{
	CK_OBJECT_HANDLE h[32];
	CK_RV rv = F->C_FindObjectsInit(s, tmpl, n);
	if (rv != CKR_OK)
		return rv;
	rv = F->C_FindObjects(s, h, 32, count);
	CK_RV rv2 = F->C_FindObjectsFinal(s);
	if (rv == CKR_OK && *count && out)
		*out = h[0];
	return rv != CKR_OK ? rv : rv2;
}

static CK_RV step_init(struct run *r)
{
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK, .pReserved = reserved };
	(void)r;
	return F->C_Initialize(&args);
}

static CK_RV step_slots(struct run *r)
{
	CK_ULONG n = 0;
	CK_RV rv = F->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv != CKR_OK)
		return rv;
	r->n_slots = n;
	n = 1;
	return F->C_GetSlotList(CK_TRUE, &r->slot, &n);
}

static CK_RV step_open(struct run *r)
{
	return F->C_OpenSession(r->slot, CKF_SERIAL_SESSION, NULL, NULL, &r->s);
}

static CK_RV step_find_certs(struct run *r)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof cls };
	return find(r->s, &t, 1, NULL, &r->n_certs);
}

static CK_RV step_find_all(struct run *r)
{
	return find(r->s, NULL, 0, NULL, &r->n_all);
}

static CK_RV step_login(struct run *r)
{
	return F->C_Login(r->s, CKU_USER, (CK_UTF8CHAR_PTR)bundle.pin, strlen(bundle.pin));
}

static CK_RV step_find_priv(struct run *r)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof cls };
	return find(r->s, &t, 1, &r->priv, &r->n_priv);
}

static CK_RV step_sign(struct run *r)
{
	static const char msg[] = "a|b|c";
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG len = sizeof sig;
	CK_RV rv = F->C_SignInit(r->s, &m, r->priv);
	if (rv == CKR_OK)
		rv = F->C_Sign(r->s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len);
	if (rv == CKR_OK)
		r->sig_ok = api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, len);
	return rv;
}

static CK_RV step_logout(struct run *r)
{
	return F->C_Logout(r->s);
}

static CK_RV step_finalize(struct run *r)
{
	(void)r;
	return F->C_Finalize(NULL);
}

static const struct step {
	const char *name;
	CK_RV (*fn)(struct run *);
} steps[] = {
	{ "C_Initialize (folder scan)", step_init },
	{ "C_GetSlotList (rescan)", step_slots },
	{ "C_OpenSession", step_open },
	{ "first certificate search (CA chain)", step_find_certs },
	{ "search of every object", step_find_all },
	{ "C_Login", step_login },
	{ "private key search", step_find_priv },
	{ "C_SignInit/C_Sign", step_sign },
	{ "C_Logout", step_logout },
	{ "C_Finalize", step_finalize },
};
#define N_STEPS (sizeof steps / sizeof steps[0])

/* Errors that tell the truth about a failed allocation. */
static bool clean_error(CK_RV rv)
{
	return rv == CKR_HOST_MEMORY || rv == CKR_DEVICE_MEMORY || rv == CKR_GENERAL_ERROR ||
	       rv == CKR_FUNCTION_FAILED;
}

/* One run with the fail_at-th allocation failing.  Returns NULL when all
 * went as it should, else what did not (a static string). */
static const char *run(struct run *r)
{
	static char why[256];
	size_t i;

	memset(r, 0, sizeof *r);
	n_allocs = 0;
	failed_one = false;
	why[0] = '\0';
	for (i = 0; i < N_STEPS; i++) {
		armed = true;
		CK_RV rv = steps[i].fn(r);
		armed = false;
		if (rv == CKR_OK)
			continue;
		if (!failed_one || !clean_error(rv)) {
			snprintf(why, sizeof why, "%s answered %s%s", steps[i].name, ef_rv_name(rv),
				 failed_one ? " after a failed allocation" : " with no failure");
			break;
		}
		/* The retry: every allocation from here on succeeds. */
		rv = steps[i].fn(r);
		if (rv != CKR_OK) {
			snprintf(why, sizeof why, "%s answered %s again on the retry",
				 steps[i].name, ef_rv_name(rv));
			break;
		}
	}
	if (i < N_STEPS) {
		/* Leave the module finalized for the next run. */
		if (i > 0)
			F->C_Finalize(NULL);
		return why;
	}
	return NULL;
}

static const char *differs(const struct run *r, const struct run *base)
{
	if (r->n_slots != base->n_slots)
		return "token count";
	if (r->n_certs != base->n_certs)
		return "certificate search";
	if (r->n_all != base->n_all)
		return "search of every object";
	if (r->n_priv != 1)
		return "private key search";
	if (!r->sig_ok)
		return "the signature does not verify";
	return NULL;
}

int main(void)
{
	const char *dir;
	char cer[1200], key[1200], cadir[1200], ca1[1300], ca2[1300];
	struct run base, r;
	const char *why;

	api_setup_env();
	tap_alarm("test-alloc-faults", 120);
	dir = api_tmpdir();
	if (!ok(dir && api_sat_bundle("fiel-pf-CACX7605101P8-2023", &bundle), "SAT bundle"))
		return tap_done();
	/* A folder of its own, scanned at C_Initialize and C_GetSlotList. */
	snprintf(cer, sizeof cer, "%s/CACX7605101P8_fiel.cer", dir);
	snprintf(key, sizeof key, "%s/CACX7605101P8_fiel.key", dir);
	ok(api_copy_file(bundle.cer, cer) && api_copy_file(bundle.key, key),
	   "bundle copied into a folder");
	/* Only the two CA certificates of the chain (tests/data/sat/ca has
	 * copies of them in several files, which would hide one dropped). */
	snprintf(cadir, sizeof cadir, "%s/ca", dir);
	snprintf(ca1, sizeof ca1, "%s/AC_UAT_2022.cer", cadir);
	snprintf(ca2, sizeof ca2, "%s/ARC_UAT_2022.cer", cadir);
	ok(mkdir(cadir, 0700) == 0 && api_copy_file(api_sat("ca/AC_UAT_2022.cer"), ca1) &&
	   api_copy_file(api_sat("ca/ARC_UAT_2022.cer"), ca2), "its CA certificates");
	snprintf(reserved, sizeof reserved, "dir=%s ca=%s", dir, cadir);
	pub = api_cert_pubkey(bundle.cer);
	if (!ok(pub && C_GetFunctionList(&F) == CKR_OK, "function list and public key"))
		return tap_done();

	/* Twice: the first run allocates what the process keeps for good
	 * (the slot ID of each path), the second counts what every run does. */
	fail_at = 0;
	why = run(&base);
	if (!why)
		why = run(&base);
	if (!ok(why == NULL, "the sequence works without failures%s%s", why ? ": " : "",
		why ? why : ""))
		return tap_done();
	unsigned long total = n_allocs;
	ok(base.n_slots == 1 && base.n_certs == 3 && base.n_priv == 1 && base.sig_ok,
	   "it sees one token, %lu certificates (the chain included), signs (%lu allocations)",
	   (unsigned long)base.n_certs, total);

	unsigned long bad = 0, n_failed_calls = 0;
	double t0 = tap_now();
	for (fail_at = 1; fail_at <= total; fail_at++) {
		why = run(&r);
		if (!why)
			why = differs(&r, &base);
		if (why && bad++ < 10)
			tap_diag("allocation %lu failing: %s", fail_at, why);
		n_failed_calls += failed_one;
	}
	tap_diag("%lu runs in %.1f s", total, tap_now() - t0);
	is_ul(bad, 0, "with any one of the %lu allocations failing, the call answers a clean "
	      "error, and the retry and the rest of the sequence work as without failures",
	      total);
	is_ul(n_failed_calls, total, "every run met its failure");
	EVP_PKEY_free(pub);
	return tap_done();
}
