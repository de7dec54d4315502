/*
 * test-stress.c - concurrency: 8 threads doing random things to two
 * tokens for a bounded time, C_Finalize racing with other calls, and
 * fork() while other threads sign.  No crash, no deadlock, no wrong
 * signature; under "make memcheck" / the ASan build, no leak.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every thread keeps a few sessions and picks at random: open or close a
 * session, log in, log out, sign (CKM_SHA256_RSA_PKCS or PSS, one- or
 * multi-part), find objects, read attributes.  Other threads log the same
 * token out at any moment, so a call may lose its key under it: those
 * answers (listed in race_ok) are expected; any other answer is a failure,
 * and every signature that is returned is verified by OpenSSL against the
 * token's .cer.  EF_STRESS_SECONDS sets the time (default 5).  An alarm
 * turns a deadlock into a failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/api-util.h"
#include "tap.h"

#define THREADS 8
#define SESS 4

static struct api_bundle bundles[2];
static EVP_PKEY *pubs[2];
static CK_SLOT_ID slots[2];
static double seconds = 5;
static atomic_bool stop;
static atomic_bool finalizing;   /* C_Finalize may run under any call */
static char conf[1200];          /* "conf=PATH" of both bundles */
static atomic_long ops, signatures, bad_answers, bad_sigs, raced;
static const unsigned char msg[] = "firma bajo carga";

/* Answers a call may get because another thread logged the token out,
 * closed all its sessions or finalized meanwhile. */
static bool race_ok(CK_RV rv)
{
	if (rv == CKR_CRYPTOKI_NOT_INITIALIZED && atomic_load(&finalizing))
		return true;
	switch (rv) {
	case CKR_OK:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_USER_ALREADY_LOGGED_IN:
	case CKR_OPERATION_NOT_INITIALIZED:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_FUNCTION_FAILED:   /* another thread is inside this session's operation */
		return true;
	default:
		return false;
	}
}

static void note(CK_RV rv, const char *what)
{
	atomic_fetch_add(&ops, 1);
	if (rv != CKR_OK)
		atomic_fetch_add(&raced, 1);
	if (!race_ok(rv) && atomic_fetch_add(&bad_answers, 1) < 5)
		printf("# unexpected %s from %s\n", ef_rv_name(rv), what);
}

struct worker {
	unsigned seed;
	CK_SESSION_HANDLE s[SESS];
	int tok[SESS];
};

static CK_OBJECT_HANDLE find_priv(CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS c = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &c, sizeof c };
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	CK_RV rv = P->C_FindObjectsInit(s, &t, 1);
	note(rv, "C_FindObjectsInit");
	if (rv != CKR_OK)
		return h;
	note(P->C_FindObjects(s, &h, 1, &n), "C_FindObjects");
	note(P->C_FindObjectsFinal(s), "C_FindObjectsFinal");
	return n == 1 ? h : CK_INVALID_HANDLE;
}

static void do_sign(struct worker *w, int i)
{
	CK_SESSION_HANDLE s = w->s[i];
	CK_OBJECT_HANDLE k = find_priv(s);
	if (k == CK_INVALID_HANDLE)
		return;
	bool pss = rand_r(&w->seed) & 1, multi = rand_r(&w->seed) & 1;
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM m = { pss ? CKM_SHA256_RSA_PKCS_PSS : CKM_SHA256_RSA_PKCS,
			   pss ? &pp : NULL, pss ? sizeof pp : 0 };
	unsigned char sig[256];
	CK_ULONG len = sizeof sig;
	CK_RV rv = P->C_SignInit(s, &m, k);
	note(rv, "C_SignInit");
	if (rv != CKR_OK)
		return;
	if (multi) {
		rv = P->C_SignUpdate(s, (CK_BYTE_PTR)msg, 5);
		note(rv, "C_SignUpdate");
		if (rv == CKR_OK) {
			rv = P->C_SignUpdate(s, (CK_BYTE_PTR)msg + 5, sizeof msg - 6);
			note(rv, "C_SignUpdate");
		}
		if (rv == CKR_OK) {
			rv = P->C_SignFinal(s, sig, &len);
			note(rv, "C_SignFinal");
		}
	} else {
		rv = P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len);
		note(rv, "C_Sign");
	}
	if (rv != CKR_OK) {
		P->C_SignFinal(s, NULL, &len);   /* nothing to end if it failed */
		return;
	}
	EVP_PKEY *pk = pubs[w->tok[i]];
	bool good = pss ? api_verify_pss(pk, EVP_sha256(), EVP_sha256(), 32, msg, sizeof msg - 1,
					 sig, len)
			: api_verify_pkcs1(pk, EVP_sha256(), msg, sizeof msg - 1, sig, len);
	atomic_fetch_add(&signatures, 1);
	if (!good)
		atomic_fetch_add(&bad_sigs, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	CK_ULONG n;
	while (!atomic_load(&stop)) {
		int i = rand_r(&w->seed) % SESS;
		int r = rand_r(&w->seed) % 100;
		if (w->s[i] == CK_INVALID_HANDLE || r < 5) {
			if (w->s[i] != CK_INVALID_HANDLE)
				note(P->C_CloseSession(w->s[i]), "C_CloseSession");
			w->tok[i] = rand_r(&w->seed) % 2;
			CK_RV rv = P->C_OpenSession(slots[w->tok[i]], CKF_SERIAL_SESSION, NULL, NULL,
						    &w->s[i]);
			note(rv, "C_OpenSession");
			if (rv != CKR_OK)
				w->s[i] = CK_INVALID_HANDLE;
			continue;
		}
		CK_SESSION_HANDLE s = w->s[i];
		if (r < 25) {
			note(api_login(s, bundles[w->tok[i]].pin), "C_Login");
		} else if (r < 30) {
			note(P->C_Logout(s), "C_Logout");
		} else if (r < 31) {
			note(P->C_CloseAllSessions(slots[w->tok[i]]), "C_CloseAllSessions");
		} else if (r < 70) {
			do_sign(w, i);
		} else if (r < 85) {
			CK_OBJECT_HANDLE objs[16];
			CK_RV rv = P->C_FindObjectsInit(s, NULL, 0);
			note(rv, "C_FindObjectsInit(all)");
			if (rv == CKR_OK) {
				note(P->C_FindObjects(s, objs, 16, &n), "C_FindObjects");
				note(P->C_FindObjectsFinal(s), "C_FindObjectsFinal");
			}
		} else {
			CK_SESSION_INFO si;
			CK_TOKEN_INFO ti;
			unsigned char buf[64];
			CK_ATTRIBUTE a = { CKA_LABEL, buf, sizeof buf };
			note(P->C_GetSessionInfo(s, &si), "C_GetSessionInfo");
			note(P->C_GetTokenInfo(slots[w->tok[i]], &ti), "C_GetTokenInfo");
			CK_OBJECT_HANDLE c = api_leaf_cert(s);
			if (c != CK_INVALID_HANDLE)
				note(P->C_GetAttributeValue(s, c, &a, 1), "C_GetAttributeValue");
		}
	}
	for (int i = 0; i < SESS; i++)
		if (w->s[i] != CK_INVALID_HANDLE)
			P->C_CloseSession(w->s[i]);
	return NULL;
}

static void test_random_ops(void)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	tap_diag("---- %d threads x %d sessions, random operations, %.0f s", THREADS, SESS, seconds);
	memset(w, 0, sizeof w);
	atomic_store(&stop, false);
	for (int i = 0; i < THREADS; i++) {
		w[i].seed = (unsigned)time(NULL) ^ (unsigned)(i * 7919);
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	double t0 = tap_now();
	while (tap_now() - t0 < seconds)
		usleep(50000);
	atomic_store(&stop, true);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	long o = atomic_load(&ops), sg = atomic_load(&signatures);
	printf("# %ld calls (%ld answered by a race: logged out / closed meanwhile), "
	       "%ld signatures verified\n", o, atomic_load(&raced), sg);
	ok(o > 100, "stress: %ld calls in %.0f s", o, seconds);
	ok(sg > 5, "stress: %ld signatures made", sg);
	is_ul(atomic_load(&bad_sigs), 0, "stress: every signature verifies with OpenSSL");
	is_ul(atomic_load(&bad_answers), 0, "stress: no unexpected return code");
}

/* C_Finalize while other threads are in the middle of calls. */
static void *finalize_racer(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg;
	while (!atomic_load(&stop)) {
		CK_SESSION_HANDLE s;
		CK_ULONG n;
		CK_RV rv = P->C_OpenSession(slots[seed % 2], CKF_SERIAL_SESSION, NULL, NULL, &s);
		if (rv == CKR_OK) {
			rv = api_login(s, bundles[seed % 2].pin);
			CK_OBJECT_HANDLE k = find_priv(s);
			CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
			unsigned char sig[256];
			CK_ULONG len = sizeof sig;
			if (k && P->C_SignInit(s, &m, k) == CKR_OK &&
			    P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len) == CKR_OK) {
				atomic_fetch_add(&signatures, 1);
				if (!api_verify_pkcs1(pubs[seed % 2], EVP_sha256(), msg, sizeof msg - 1,
						      sig, len))
					atomic_fetch_add(&bad_sigs, 1);
			}
			P->C_CloseSession(s);
		} else if (rv != CKR_CRYPTOKI_NOT_INITIALIZED && rv != CKR_SLOT_ID_INVALID) {
			atomic_fetch_add(&bad_answers, 1);
			printf("# C_OpenSession during C_Finalize races: %s\n", ef_rv_name(rv));
		}
		P->C_GetSlotList(CK_TRUE, NULL, &n);
		seed = seed * 1103515245 + 12345;
	}
	return NULL;
}

static void test_finalize_race(void)
{
	pthread_t th[4];
	int cycles = 0;
	tap_diag("---- C_Finalize racing with other calls");
	atomic_store(&signatures, 0);
	atomic_store(&bad_sigs, 0);
	atomic_store(&bad_answers, 0);
	atomic_store(&stop, false);
	atomic_store(&finalizing, true);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, finalize_racer, (void *)(size_t)(i + 1));
	double t0 = tap_now();
	bool init_ok = true;
	while (tap_now() - t0 < seconds / 2) {
		usleep(20000);
		if (P->C_Finalize(NULL) != CKR_OK)
			init_ok = false;
		usleep(5000);
		CK_RV rv = api_init(conf);
		if (rv != CKR_OK) {
			if (init_ok)
				printf("# C_Initialize: %s\n", ef_rv_name(rv));
			init_ok = false;
		}
		cycles++;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	atomic_store(&finalizing, false);
	ok(init_ok, "%d C_Finalize/C_Initialize cycles under 4 busy threads", cycles);
	is_ul(atomic_load(&bad_sigs), 0, "finalize race: %ld signatures, all verify",
	      atomic_load(&signatures));
	is_ul(atomic_load(&bad_answers), 0, "finalize race: only the expected answers");
}

/* fork() while other threads sign: the child starts clean. */
static void test_fork_while_signing(void)
{
	pthread_t th[4];
	struct worker w[4];
	int good = 0, forks = 6;
	tap_diag("---- fork() while other threads sign");
	memset(w, 0, sizeof w);
	atomic_store(&stop, false);
	atomic_store(&bad_sigs, 0);
	for (int i = 0; i < 4; i++) {
		w[i].seed = 1000u + (unsigned)i;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (int f = 0; f < forks; f++) {
		/* The child answers through a pipe, not its exit status: under
		 * valgrind the status of a forked child is valgrind's (the
		 * parent's threads' memory, unreachable there, counts as
		 * leaked). */
		int res[2];
		if (pipe(res) != 0)
			break;
		usleep(100000);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			/* One thread here; the parent's lock may have been held. */
			tap_alarm("test-stress", 60);
			close(res[0]);
			CK_INFO info;
			unsigned char code = 0;
			if (P->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
				code |= 1;
			CK_SESSION_HANDLE s;
			if (api_init(conf) != CKR_OK)
				code |= 2;
			else if (P->C_OpenSession(slots[f % 2], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
				 api_login(s, bundles[f % 2].pin) != CKR_OK)
				code |= 4;
			else {
				CK_OBJECT_HANDLE k = api_one(s, CKO_PRIVATE_KEY);
				CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
				unsigned char sig[256];
				CK_ULONG len = sizeof sig;
				if (P->C_SignInit(s, &m, k) != CKR_OK ||
				    P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len) != CKR_OK ||
				    !api_verify_pkcs1(pubs[f % 2], EVP_sha256(), msg, sizeof msg - 1, sig, len))
					code |= 8;
				P->C_Finalize(NULL);
			}
			(void)!write(res[1], &code, 1);
			_exit(0);
		}
		close(res[1]);
		unsigned char code = 0xff;
		if (pid > 0 && read(res[0], &code, 1) == 1 && code == 0)
			good++;
		else
			printf("# fork %d: child answer 0x%x\n", f, code);
		close(res[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	is_ul(good, forks, "%d forks while 4 threads sign: each child gets "
	      "CKR_CRYPTOKI_NOT_INITIALIZED, then initializes, logs in and signs (verified)", forks);
	is_ul(atomic_load(&bad_sigs), 0, "the parent's signatures meanwhile all verify");
}

/* One configuration file for every C_Initialize of this test. */
static bool write_conf(void)
{
	const char *dir = api_tmpdir();
	char path[1100];
	if (!dir)
		return false;
	snprintf(path, sizeof path, "%s/stress.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	for (int i = 0; i < 2; i++)
		fprintf(f, "[bundle]\ncert = %s\nkey = %s\n", bundles[i].cer, bundles[i].key);
	fprintf(f, "[ca]\npath = %s\n", api_sat("ca"));
	fclose(f);
	snprintf(conf, sizeof conf, "conf=%s", path);
	return true;
}

int main(void)
{
	api_setup_env();
	const char *e = getenv("EF_STRESS_SECONDS");
	if (e && atof(e) > 0)
		seconds = atof(e);
	/* Under valgrind everything is ~50x slower; the work per second is
	 * what shrinks, the time stays bounded. */
	tap_alarm("test-stress", (unsigned)(seconds * 4 + 240));
	if (!ok(api_load(), "module loads") ||
	    !ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &bundles[0]) &&
		api_sat_bundle("csd-pm-EKU9003173C9-2023", &bundles[1]), "SAT bundles") ||
	    !ok(write_conf(), "configuration written") ||
	    !is_ul(api_init(conf), CKR_OK, "C_Initialize with two bundles") ||
	    !is_ul(api_find_slot("e.firma CACX7605101P8", &slots[0]), CKR_OK, "e.firma slot") ||
	    !is_ul(api_find_slot("CSD EKU9003173C9", &slots[1]), CKR_OK, "CSD slot"))
		return tap_done();
	pubs[0] = api_cert_pubkey(bundles[0].cer);
	pubs[1] = api_cert_pubkey(bundles[1].cer);
	TAP_PART(test_random_ops());
	TAP_PART(test_finalize_race());
#ifdef __SANITIZE_ADDRESS__
	/* gcc 12's AddressSanitizer has no fork handlers for its allocator's
	 * locks: a child forked while another thread is inside malloc waits
	 * on that lock forever (seen in CI: the child stuck in
	 * SizeClassAllocator64::GetFromAllocator, under the KDF's first
	 * allocation).  The module is not what hangs there; the fork test
	 * runs in the plain build and under valgrind. */
	ok(1, "# SKIP fork while signing: ASan's allocator is not fork-safe");
#else
	TAP_PART(test_fork_while_signing());
#endif
	is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize");
	EVP_PKEY_free(pubs[0]);
	EVP_PKEY_free(pubs[1]);
	return tap_done();
}
