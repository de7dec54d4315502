/*
 * test-api-lockfree.c - no call waits on another token's password work
 * (issue 9 item 1), black-box through the function list:
 *   - while a thread is inside C_Login on a .key with a high PBKDF2
 *     iteration count, C_GetSlotList (with its rescan), C_GetTokenInfo,
 *     C_OpenSession, C_Login and C_Sign on another token complete, and so
 *     does C_GetTokenInfo on the token being logged in to;
 *   - the same while a thread is inside C_SetPIN on that key; a second
 *     C_SetPIN of the same token meanwhile waits for it, and then finds
 *     its old PIN wrong (one password change wins, none is lost);
 *   - what happens to a login in flight: its session closed
 *     (CKR_SESSION_HANDLE_INVALID), C_Finalize (CKR_CRYPTOKI_NOT_INITIALIZED,
 *     and C_Initialize works again), its certificate removed or changed
 *     and the folder rescanned (CKR_DEVICE_REMOVED); no key is installed
 *     in any of these cases.
 * Order comes from events, not from clocks: the test waits until the
 * module has read the slow .key (inotify), which it does right before the
 * key derivation, and it tells "still inside the derivation" by the login
 * not having taken effect (session state, .key bytes unchanged).  With the
 * derivation under the global lock, the other calls would only return
 * once it had taken effect.  Signatures are verified with OpenSSL.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../tap.h"
#include "api-util.h"

/* Far above SAT's 2048, below the module's cap: a few tenths of a second
 * of key derivation, against the milliseconds the other calls take. */
#define SLOW_ITER 600000

#define SLOW_PIN "Lento-12345"
#define FAST_PIN "Rapido-12345"
#define NEW_PIN "Nuevo-123456"
#define OTHER_PIN "Otro-1234567"

static const char *dir;
static struct api_bundle slow, fast;
static unsigned char *slow_key;   /* the slow .key's bytes, restored per case */
static size_t slow_key_len;
static char conf[4200];

/* A thread inside C_Login or C_SetPIN. */
struct job {
	pthread_t thread;
	CK_SESSION_HANDLE s;
	const char *setpin;   /* the new PIN of a C_SetPIN, or NULL: C_Login */
	CK_RV rv;
	atomic_bool done;     /* the call has returned */
};

static void *job_thread(void *arg)
{
	struct job *j = arg;
	if (j->setpin)
		j->rv = P->C_SetPIN(j->s, (CK_UTF8CHAR_PTR)SLOW_PIN, strlen(SLOW_PIN),
				    (CK_UTF8CHAR_PTR)j->setpin, strlen(j->setpin));
	else
		j->rv = P->C_Login(j->s, CKU_USER, (CK_UTF8CHAR_PTR)SLOW_PIN, strlen(SLOW_PIN));
	atomic_store(&j->done, true);
	return NULL;
}

/* Starts the job and returns once the module has read the slow .key: it
 * is then in the key derivation (or about to be).  False if the read did
 * not come (the watch is only a guard against hanging: 60 s). */
static bool start_job(struct job *j)
{
	int fd = inotify_init1(IN_CLOEXEC);
	bool ok = fd >= 0 && inotify_add_watch(fd, slow.key, IN_ACCESS) >= 0;
	if (ok)
		ok = pthread_create(&j->thread, NULL, job_thread, j) == 0;
	if (ok) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 60000) != 1) {
			tap_diag("the module never read %s", slow.key);
			ok = false;
		}
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static CK_RV finish_job(struct job *j)
{
	pthread_join(j->thread, NULL);
	return j->rv;
}

/* The slot whose certificate file is NAME.cer. */
static CK_SLOT_ID slot_of(const char *name)
{
	CK_SLOT_ID ids[16];
	CK_ULONG n = 16;
	char want[256];
	snprintf(want, sizeof want, "%s.cer", name);
	if (P->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		return (CK_SLOT_ID)-1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_SLOT_INFO si;
		if (P->C_GetSlotInfo(ids[i], &si) == CKR_OK &&
		    api_memmem(si.slotDescription, sizeof si.slotDescription, want, strlen(want)))
			return ids[i];
	}
	return (CK_SLOT_ID)-1;
}

static CK_STATE state_of(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO i;
	return P->C_GetSessionInfo(s, &i) == CKR_OK ? i.state : (CK_STATE)-1;
}

/* Fresh files and a fresh module state for each case. */
static bool setup(CK_SLOT_ID *a, CK_SLOT_ID *b)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/lento.cer", dir);
	if (!api_write_file(slow.key, slow_key, slow_key_len) || !api_copy_file(slow.cer, p))
		return false;
	if (api_init(conf) != CKR_OK)
		return false;
	*a = slot_of("lento");
	*b = slot_of("rapido");
	return *a != (CK_SLOT_ID)-1 && *b != (CK_SLOT_ID)-1;
}

/* What the main thread does while the other token is busy: everything
 * must complete.  Returns the number of calls that failed. */
static int other_token_calls(CK_SLOT_ID a, CK_SLOT_ID b, EVP_PKEY *pub)
{
	CK_SLOT_ID ids[16];
	CK_ULONG n = 0;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	const char msg[] = "mientras otro deriva su llave";
	unsigned char sig[512];
	CK_ULONG sl = sizeof sig;
	int bad = 0;

	bad += P->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK;
	n = 16;
	bad += P->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK;
	bad += P->C_GetTokenInfo(b, &ti) != CKR_OK;
	bad += P->C_GetTokenInfo(a, &ti) != CKR_OK;
	if (P->C_OpenSession(b, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return bad + 1;
	bad += api_login(s, FAST_PIN) != CKR_OK;
	CK_OBJECT_HANDLE k = api_one(s, CKO_PRIVATE_KEY);
	bad += P->C_SignInit(s, &m, k) != CKR_OK;
	bad += P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &sl) != CKR_OK;
	bad += !api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, sl);
	bad += P->C_Logout(s) != CKR_OK;
	bad += P->C_CloseSession(s) != CKR_OK;
	return bad;
}

static void test_login_does_not_block(EVP_PKEY *pub)
{
	CK_SLOT_ID a, b;
	struct job j = { .setpin = NULL };

	tap_diag("---- other calls while C_Login derives a slow key");
	if (!ok(setup(&a, &b), "two tokens: a slow key and a SAT-like one") ||
	    !is_ul(api_open(a, false, &j.s), CKR_OK, "session on the slow token") ||
	    !ok(start_job(&j), "a thread is inside C_Login on the slow token"))
		goto out;
	is_ul(other_token_calls(a, b, pub), 0,
	      "C_GetSlotList, C_GetTokenInfo, C_OpenSession, C_Login, C_Sign on the other token: all OK");
	/* Under valgrind (EF_TEST_TIME_SCALE, run-valgrind.sh) threads take
	 * turns on one core, and the login's thread may be left to run its
	 * whole derivation while this one waits to be scheduled: then its
	 * calls ending after the login proves nothing either way.  At full
	 * speed the order is asserted. */
	CK_STATE st = state_of(j.s);
	if (st != CKS_RO_PUBLIC_SESSION && getenv("EF_TEST_TIME_SCALE") != NULL)
		ok(1, "# SKIP the slow login ended first: valgrind scheduled it so");
	else
		is_ul(st, CKS_RO_PUBLIC_SESSION,
		      "... and all returned while the login was still deriving its key");
	is_ul(finish_job(&j), CKR_OK, "then the slow C_Login succeeds");
	is_ul(state_of(j.s), CKS_RO_USER_FUNCTIONS, "... and its session is logged in");
out:
	api_finalize();
}

static void test_setpin_does_not_block(EVP_PKEY *pub)
{
	CK_SLOT_ID a, b;
	struct job j = { .setpin = NEW_PIN }, j2 = { .setpin = OTHER_PIN };
	size_t len = 0;
	unsigned char *now = NULL;

	tap_diag("---- other calls while C_SetPIN derives a slow key");
	if (!ok(setup(&a, &b), "two tokens again, the slow key restored") ||
	    !is_ul(api_open(a, true, &j.s), CKR_OK, "R/W session on the slow token") ||
	    !ok(start_job(&j), "a thread is inside C_SetPIN on the slow token"))
		goto out;
	is_ul(other_token_calls(a, b, pub), 0, "every call on the other token OK");
	now = api_read_file(slow.key, &len);
	ok(now && len == slow_key_len && memcmp(now, slow_key, len) == 0,
	   "... and all returned before C_SetPIN had replaced the .key");
	j2.s = j.s;
	bool second = pthread_create(&j2.thread, NULL, job_thread, &j2) == 0;
	is_ul(finish_job(&j), CKR_OK, "then C_SetPIN succeeds");
	if (second)
		is_ul(finish_job(&j2), CKR_PIN_INCORRECT,
		      "a second C_SetPIN begun meanwhile (same old PIN) -> CKR_PIN_INCORRECT");
	is_ul(api_login(j.s, NEW_PIN), CKR_OK, "... and the first one's password logs in");
out:
	free(now);
	api_finalize();
}

enum race { CLOSE_SESSION, FINALIZE, CERT_REMOVED, CERT_CHANGED };

static void test_race(enum race what, const char *name, CK_RV want)
{
	CK_SLOT_ID a, b;
	struct job j = { .setpin = NULL };
	char p[4096];
	CK_SESSION_HANDLE s2;
	CK_ULONG n = 0;

	tap_diag("---- %s while C_Login derives its key", name);
	snprintf(p, sizeof p, "%s/lento.cer", dir);
	if (!ok(setup(&a, &b), "%s: tokens ready", name) ||
	    !is_ul(api_open(a, false, &j.s), CKR_OK, "%s: session", name) ||
	    !ok(start_job(&j), "%s: a thread is inside C_Login", name))
		goto out;
	switch (what) {
	case CLOSE_SESSION:
		is_ul(P->C_CloseSession(j.s), CKR_OK, "C_CloseSession of the login's session");
		break;
	case FINALIZE:
		is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize");
		break;
	case CERT_REMOVED:
		ok(unlink(p) == 0, "the certificate is deleted");
		is_ul(P->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK, "C_GetSlotList rescans");
		break;
	case CERT_CHANGED:
		/* Another certificate under the same name: the token is
		 * reloaded, its sessions stay. */
		ok(api_copy_file(fast.cer, p), "the certificate is replaced");
		is_ul(P->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK, "C_GetSlotList rescans");
		break;
	}
	/* Under valgrind the login's thread may be left to run its whole
	 * derivation before this thread is scheduled again: then there was
	 * no race to answer. */
	bool raced = !atomic_load(&j.done);
	CK_RV got = finish_job(&j);
	if (raced)
		is_ul(got, want, "%s: the login in flight -> %s", name, ef_rv_name(want));
	else
		ok(1, "# SKIP %s: the login ended before the race began", name);
	if (what == FINALIZE) {
		is_ul(api_init(conf), CKR_OK, "C_Initialize again");
		a = slot_of("lento");
	}
	if (what == CERT_REMOVED) {
		is_ul(state_of(j.s), (CK_STATE)-1, "%s: the session is gone", name);
	} else if (is_ul(api_open(a, false, &s2), CKR_OK, "%s: new session on the token", name)) {
		is_ul(state_of(s2), CKS_RO_PUBLIC_SESSION, "%s: no key was installed", name);
		if (what == FINALIZE)
			is_ul(api_login(s2, SLOW_PIN), CKR_OK, "%s: a new login works", name);
	}
out:
	api_finalize();
}

/* The bundles: made once (openssl CLI); the slow key's bytes are kept so
 * that each case starts from them. */
static bool make_bundles(void)
{
	const char *gen = api_tmpdir();
	char p[4096];
	dir = api_tmpdir();
	if (!gen || !dir ||
	    !api_gen_bundle(gen, "lento", "LENTO PRUEBA", "LEPL800101AB1", "30001000000500000001",
			    false, SLOW_PIN, strlen(SLOW_PIN), &slow) ||
	    !api_gen_bundle(gen, "rapido", "RAPIDO PRUEBA", "RAPR800101AB2",
			    "30001000000500000002", false, FAST_PIN, strlen(FAST_PIN), &fast))
		return false;
	if (api_sh("cd '%s' && openssl pkcs8 -topk8 -in lento.pem -outform DER -v2 des3 "
		   "-v2prf hmacWithSHA1 -iter %d -passout file:lento.pass -out '%s/lento.key' "
		   "2>/dev/null", gen, SLOW_ITER, dir) != 0)
		return false;
	snprintf(p, sizeof p, "%s/rapido.cer", dir);
	if (!api_copy_file(fast.cer, p))
		return false;
	snprintf(p, sizeof p, "%s/rapido.key", dir);
	if (!api_copy_file(fast.key, p))
		return false;
	snprintf(slow.key, sizeof slow.key, "%s/lento.key", dir);
	slow_key = api_read_file(slow.key, &slow_key_len);
	snprintf(conf, sizeof conf, "dir=%s", dir);
	return slow_key != NULL;
}

int main(void)
{
	api_setup_env();
	tap_alarm("test-api-lockfree", 120);
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(make_bundles(), "bundles generated, one .key with %d PBKDF2 iterations", SLOW_ITER))
		return tap_done();
	EVP_PKEY *pub = api_cert_pubkey(fast.cer);
	TAP_PART(test_login_does_not_block(pub));
	TAP_PART(test_setpin_does_not_block(pub));
	TAP_PART(test_race(CLOSE_SESSION, "session closed", CKR_SESSION_HANDLE_INVALID));
	TAP_PART(test_race(FINALIZE, "C_Finalize", CKR_CRYPTOKI_NOT_INITIALIZED));
	TAP_PART(test_race(CERT_REMOVED, "certificate removed", CKR_DEVICE_REMOVED));
	TAP_PART(test_race(CERT_CHANGED, "certificate changed", CKR_DEVICE_REMOVED));
	EVP_PKEY_free(pub);
	free(slow_key);
	return tap_done();
}
