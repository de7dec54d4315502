/*
 * test-api-hotplug.c - bundles that come and go while the module runs:
 * a folder stands in for a removable root (/media/$USER), its subfolders
 * for mounted volumes.  Each part runs with a thread of the module's own
 * and without one (CKF_LIBRARY_CANT_CREATE_OS_THREADS, as NSS asks).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "api-util.h"

#define LABEL_CACX "e.firma CACX7605101P8"
#define LABEL_CSD "CSD EKU9003173C9"
/* What the issue promises: a change shows within 2 seconds. */
#define DEADLINE 2.0

static struct api_bundle fiel, csd;
static char root[1024];

static const char *mode_name(bool threads)
{
	return threads ? "thread" : "no thread";
}

static CK_RV init_mode(const char *conf, bool threads);

/* Another module (a forked process) watching the same root. */
static CK_RV init_same_root(bool threads)
{
	char conf[2048];
	snprintf(conf, sizeof conf, "removable-root=%s ca=%s", root, api_sat("ca"));
	return init_mode(conf, threads);
}

static CK_RV init_mode(const char *conf, bool threads)
{
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK | (threads ? 0 : CKF_LIBRARY_CANT_CREATE_OS_THREADS);
	a.pReserved = (void *)conf;
	return P->C_Initialize(&a);
}

/* A fresh stand-in for /media/$USER, and a module that watches it. */
static CK_RV init_root(bool threads)
{
	snprintf(root, sizeof root, "%s/media", api_tmpdir());
	mkdir(root, 0700);
	return init_same_root(threads);
}

/* Copies a bundle into root/VOLUME/SAT (the folder SAT's advice names). */
static bool plug(const char *volume, const struct api_bundle *b)
{
	return api_sh("mkdir -p '%s/%s/SAT' && cp '%s' '%s' '%s/%s/SAT/'", root, volume, b->cer,
		      b->key, root, volume) == 0;
}

static bool unplug(const char *volume)
{
	return api_sh("rm -rf '%s/%s'", root, volume) == 0;
}

static double deadline(void)
{
	const char *scale = getenv("EF_TEST_TIME_SCALE");
	return DEADLINE * (scale && atoi(scale) > 0 ? atoi(scale) : 1);
}

/* Polls the slot with this token label until it is there (want) or not,
 * through C_GetSlotList(CK_TRUE, list) and C_GetTokenInfo only: never the
 * first call of the two-call idiom, which rescans by itself.  Returns the
 * seconds it took, or -1 past the deadline. */
static double await_label(const char *label, bool want, CK_SLOT_ID *slot)
{
	double t0 = tap_now();
	do {
		CK_SLOT_ID ids[32];
		CK_ULONG n = 32;
		bool seen = false;
		if (P->C_GetSlotList(CK_TRUE, ids, &n) == CKR_OK) {
			for (CK_ULONG i = 0; i < n && !seen; i++) {
				CK_TOKEN_INFO ti;
				char got[40];
				if (P->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
					continue;
				api_field(ti.label, sizeof ti.label, got, sizeof got);
				if (strcmp(got, label) == 0) {
					seen = true;
					if (slot)
						*slot = ids[i];
				}
			}
		}
		if (seen == want)
			return tap_now() - t0;
		usleep(20000);
	} while (tap_now() - t0 < deadline());
	return -1;
}

static bool sign_and_verify(CK_SESSION_HANDLE s, const char *cer)
{
	static const char msg[] = "documento de prueba";
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG len = sizeof sig;
	CK_OBJECT_HANDLE priv = api_one(s, CKO_PRIVATE_KEY);
	if (P->C_SignInit(s, &m, priv) != CKR_OK ||
	    P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len) != CKR_OK)
		return false;
	EVP_PKEY *pub = api_cert_pubkey(cer);
	bool good = pub && api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, len);
	EVP_PKEY_free(pub);
	return good;
}

static CK_ULONG all_slots(CK_SLOT_ID *ids, CK_ULONG max)
{
	CK_ULONG n = max;
	return P->C_GetSlotList(CK_FALSE, ids, &n) == CKR_OK ? n : (CK_ULONG)-1;
}

static bool listed(const CK_SLOT_ID *ids, CK_ULONG n, CK_SLOT_ID id)
{
	for (CK_ULONG i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Takes every pending event; true when slot is among them. */
static bool event_for(CK_SLOT_ID slot)
{
	bool seen = false;
	CK_SLOT_ID got;
	for (int i = 0; i < 64 && P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL) == CKR_OK; i++)
		seen |= got == slot;
	return seen;
}

/* The token's certificate says it comes from this file on this volume
 * (CKA_EFIRMA_SOURCE, _VOLUME, _CERT_PATH). */
static bool from_volume(CK_SESSION_HANDLE s, const char *volume, const char *cert_path, bool say)
{
	CK_OBJECT_HANDLE cert = api_leaf_cert(s);
	unsigned char *vol = NULL, *path = NULL;
	CK_ULONG vlen = 0, plen = 0;
	CK_ULONG kind = api_attr_ulong(s, cert, CKA_EFIRMA_SOURCE, 0);
	bool good = kind == CKV_EFIRMA_SOURCE_VOLUME &&
		    api_attr(s, cert, CKA_EFIRMA_VOLUME, &vol, &vlen) == CKR_OK &&
		    api_attr(s, cert, CKA_EFIRMA_CERT_PATH, &path, &plen) == CKR_OK &&
		    vlen == strlen(volume) && memcmp(vol, volume, vlen) == 0 &&
		    plen == strlen(cert_path) && memcmp(path, cert_path, plen) == 0;
	if (!good && say)
		tap_diag("source %lu, volume '%s', path '%s'", (unsigned long)kind,
			 vol ? (char *)vol : "", path ? (char *)path : "");
	free(vol);
	free(path);
	return good;
}

/* Polls until the token with this label comes from that file: a token
 * seen before the rescan is the old one, whose session the rescan closes. */
static bool await_from_volume(const char *label, const char *volume, const char *cert_path)
{
	double t0 = tap_now();
	bool good = false, last = false;
	do {
		CK_SLOT_ID slot;
		CK_SESSION_HANDLE s;
		last = tap_now() - t0 >= deadline();
		if (await_label(label, true, &slot) >= 0 && api_open(slot, false, &s) == CKR_OK) {
			good = from_volume(s, volume, cert_path, last);
			P->C_CloseSession(s);
		}
		if (!good)
			usleep(20000);
	} while (!good && !last);
	return good;
}

/* ------------------------------------------------ appear, vanish, again */

static void test_appear_vanish(bool threads)
{
	const char *m = mode_name(threads);
	CK_SLOT_ID before[32], after[32], slot = 0, again = 0;
	CK_SLOT_INFO si;
	CK_SESSION_INFO info;
	CK_SESSION_HANDLE s;
	CK_TOKEN_INFO ti, ti2;
	char desc[80];

	if (!is_ul(init_root(threads), CKR_OK, "%s: C_Initialize with a removable root", m))
		return;
	CK_ULONG n0 = all_slots(before, 32);
	is_ul(n0, 2, "%s: no bundle yet: the 2 empty slots", m);
	ok(n0 == 2 && P->C_GetSlotInfo(before[0], &si) == CKR_OK &&
		   (si.flags & CKF_REMOVABLE_DEVICE) && !(si.flags & CKF_TOKEN_PRESENT),
	   "%s: an empty slot is a removable device without a token", m);
	is_ul(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT,
	      "%s: nothing changed: CKR_NO_EVENT", m);

	ok(plug("KINGSTON", &fiel), "%s: the stick is plugged in (a bundle in KINGSTON/SAT)", m);
	double t = await_label(LABEL_CACX, true, &slot);
	ok(t >= 0, "%s: the token appears without a restart", m);
	tap_diag("%s: seen after %.0f ms", m, t * 1000);
	ok(listed(before, n0, slot), "%s: in one of the slots listed before (NSS keeps its list)",
	   m);
	is_ul(all_slots(after, 32), 2, "%s: still 2 slots", m);
	ok(P->C_GetSlotInfo(slot, &si) == CKR_OK && (si.flags & CKF_TOKEN_PRESENT) &&
		   (si.flags & CKF_REMOVABLE_DEVICE),
	   "%s: its slot: removable, token present", m);
	api_field(si.slotDescription, sizeof si.slotDescription, desc, sizeof desc);
	ok(strstr(desc, "KINGSTON") != NULL, "%s: the slot names the volume (%s)", m, desc);
	ok(event_for(slot), "%s: C_WaitForSlotEvent(CKF_DONT_BLOCK) reports the slot", m);
	is_ul(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &again, NULL), CKR_NO_EVENT, "%s: ... once", m);

	P->C_GetTokenInfo(slot, &ti);
	if (!is_ul(api_open(slot, false, &s), CKR_OK, "%s: session", m))
		goto out;
	is_ul(api_login(s, fiel.pin), CKR_OK, "%s: C_Login", m);
	ok(sign_and_verify(s, fiel.cer), "%s: signs (verified by OpenSSL)", m);

	ok(unplug("KINGSTON"), "%s: the stick is pulled out", m);
	t = await_label(LABEL_CACX, false, NULL);
	ok(t >= 0, "%s: the token is gone", m);
	tap_diag("%s: gone after %.0f ms", m, t * 1000);
	is_ul(P->C_GetSessionInfo(s, &info), CKR_SESSION_HANDLE_INVALID,
	      "%s: its session is closed", m);
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	is_ul(P->C_SignInit(s, &mech, 1), CKR_SESSION_HANDLE_INVALID,
	      "%s: signing answers CKR_SESSION_HANDLE_INVALID", m);
	is_ul(P->C_GetTokenInfo(slot, &ti2), CKR_TOKEN_NOT_PRESENT,
	      "%s: C_GetTokenInfo -> CKR_TOKEN_NOT_PRESENT", m);
	ok(P->C_GetSlotInfo(slot, &si) == CKR_OK && !(si.flags & CKF_TOKEN_PRESENT),
	   "%s: the slot stays, without a token", m);
	ok(event_for(slot), "%s: the removal is an event of that slot", m);

	ok(plug("KINGSTON", &fiel), "%s: plugged in again", m);
	ok(await_label(LABEL_CACX, true, &again) >= 0, "%s: the token is back", m);
	is_ul(again, slot, "%s: in the same slot", m);
	P->C_GetTokenInfo(again, &ti2);
	ok(memcmp(ti.label, ti2.label, sizeof ti.label) == 0 &&
		   memcmp(ti.serialNumber, ti2.serialNumber, sizeof ti.serialNumber) == 0,
	   "%s: the same token (label, serial)", m);
	if (is_ul(api_open(again, false, &s), CKR_OK, "%s: a new session", m)) {
		ok(P->C_GetSessionInfo(s, &info) == CKR_OK && info.state == CKS_RO_PUBLIC_SESSION,
		   "%s: not logged in: the password is asked again", m);
		is_ul(api_login(s, fiel.pin), CKR_OK, "%s: C_Login again", m);
		ok(sign_and_verify(s, fiel.cer), "%s: signs again", m);
	}
out:
	unplug("KINGSTON");
	api_finalize();
}

/* ------------------------------------------- rename, partial copy, two */

static void test_rename_and_partial(bool threads)
{
	const char *m = mode_name(threads);
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE s;
	char dir[1200], renamed[1400];

	if (!is_ul(init_root(threads), CKR_OK, "%s: C_Initialize", m))
		return;
	ok(plug("USB", &fiel), "%s: a bundle on a stick", m);
	ok(await_label(LABEL_CACX, true, &slot) >= 0, "%s: its token", m);
	snprintf(dir, sizeof dir, "%s/USB/SAT", root);
	ok(api_sh("cd '%s' && for f in *; do mv \"$f\" \"renombrado-$f\"; done", dir) == 0,
	   "%s: both files renamed", m);
	snprintf(renamed, sizeof renamed, "%s/renombrado-%s", dir, strrchr(fiel.cer, '/') + 1);
	ok(await_from_volume(LABEL_CACX, "USB", renamed),
	   "%s: its certificate names the renamed file", m);
	ok(await_label(LABEL_CACX, true, &slot) >= 0, "%s: the token is there after the rename", m);
	if (is_ul(api_open(slot, false, &s), CKR_OK, "%s: session after the rename", m)) {
		is_ul(api_login(s, fiel.pin), CKR_OK, "%s: logs in with the renamed key", m);
		P->C_CloseSession(s);
	}

	/* A copy by hand: the .cer first, the .key a moment later. */
	snprintf(dir, sizeof dir, "%s/OTRA/SAT", root);
	ok(api_sh("mkdir -p '%s' && cp '%s' '%s/'", dir, csd.cer, dir) == 0,
	   "%s: a CSD's .cer copied alone", m);
	ok(await_label(LABEL_CSD, true, &slot) >= 0, "%s: its token appears", m);
	if (is_ul(api_open(slot, false, &s), CKR_OK, "%s: session", m)) {
		char path[1400];
		snprintf(path, sizeof path, "%s/%s", dir, strrchr(csd.cer, '/') + 1);
		ok(from_volume(s, "OTRA", path, true), "%s: its certificate names the volume OTRA",
		   m);
		is_ul(api_login(s, csd.pin), CKR_DEVICE_ERROR,
		      "%s: no .key yet: C_Login -> CKR_DEVICE_ERROR", m);
		ok(api_sh("cp '%s' '%s/'", csd.key, dir) == 0, "%s: the .key follows", m);
		CK_RV rv = CKR_GENERAL_ERROR;
		double t0 = tap_now();
		while (tap_now() - t0 < deadline() && (rv = api_login(s, csd.pin)) != CKR_OK) {
			usleep(20000);
			/* The rescan may have closed this session: a new one. */
			CK_SESSION_INFO si;
			if (P->C_GetSessionInfo(s, &si) != CKR_OK)
				api_open(slot, false, &s);
		}
		is_ul(rv, CKR_OK, "%s: C_Login works once the .key is there", m);
		ok(sign_and_verify(s, csd.cer), "%s: the CSD signs", m);
	}
	unplug("USB");
	unplug("OTRA");
	api_finalize();
}

/* ----------------------------------------- C_SetPIN by another process */

static void test_setpin_elsewhere(bool threads)
{
	const char *m = mode_name(threads);
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	static const char new_pin[] = "otra-clave-1";

	if (!is_ul(init_root(threads), CKR_OK, "%s: C_Initialize", m))
		return;
	ok(plug("USB", &fiel), "%s: a bundle on a stick", m);
	if (!ok(await_label(LABEL_CACX, true, &slot) >= 0, "%s: its token", m) ||
	    !is_ul(api_open(slot, false, &s), CKR_OK, "%s: session", m))
		goto out;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Another program on the same stick. */
		CK_SESSION_HANDLE cs;
		CK_SLOT_ID cslot;
		int rc = 1;
		if (init_same_root(true) == CKR_OK && await_label(LABEL_CACX, true, &cslot) >= 0 &&
		    api_open(cslot, true, &cs) == CKR_OK &&
		    P->C_SetPIN(cs, (CK_UTF8CHAR_PTR)fiel.pin, strlen(fiel.pin),
				(CK_UTF8CHAR_PTR)new_pin, strlen(new_pin)) == CKR_OK)
			rc = 0;
		P->C_Finalize(NULL);
		_exit(rc);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s: another process changed the password", m);
	usleep(300000); /* the module has seen the .key rewritten */
	P->C_GetSlotList(CK_TRUE, NULL, &(CK_ULONG){ 0 });
	is_ul(P->C_GetSessionInfo(s, &si), CKR_OK, "%s: not a removal: the session stays", m);
	is_ul(api_login(s, fiel.pin), CKR_PIN_INCORRECT, "%s: the old password no longer opens", m);
	is_ul(api_login(s, new_pin), CKR_OK, "%s: the new one does", m);
	ok(sign_and_verify(s, fiel.cer), "%s: and signs", m);
out:
	unplug("USB");
	api_finalize();
}

/* ------------------------------------------------ C_WaitForSlotEvent */

struct waiter {
	CK_FLAGS flags;
	CK_SLOT_ID slot;
	CK_RV rv;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	w->rv = P->C_WaitForSlotEvent(w->flags, &w->slot, NULL);
	return NULL;
}

/* Joins the thread within the deadline; false if it still blocks. */
static bool join_within(pthread_t t, double seconds)
{
	double t0 = tap_now();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds + 1;
	(void)t0;
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

static void test_wait_event(bool threads)
{
	const char *m = mode_name(threads);
	CK_SLOT_ID slot = 0;
	pthread_t t;

	if (!is_ul(init_root(threads), CKR_OK, "%s: C_Initialize", m))
		return;
	is_ul(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT,
	      "%s: CKF_DONT_BLOCK, nothing changed: CKR_NO_EVENT", m);

	struct waiter w = { 0, 0, CKR_GENERAL_ERROR };
	pthread_create(&t, NULL, wait_thread, &w);
	usleep(200000);
	ok(plug("USB", &fiel), "%s: a bundle appears while a thread blocks in the wait", m);
	bool back = join_within(t, deadline());
	ok(back, "%s: the blocked C_WaitForSlotEvent returns", m);
	if (!back)
		goto out; /* the thread still uses the module: leave it be */
	is_ul(w.rv, CKR_OK, "%s: ... with CKR_OK", m);
	ok(await_label(LABEL_CACX, true, &slot) >= 0 && w.slot == slot,
	   "%s: ... and the slot of the new token", m);

	/* Another thread finalizes: the wait ends. */
	struct waiter w2 = { 0, 0, CKR_GENERAL_ERROR };
	while (P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL) == CKR_OK)
		;
	pthread_create(&t, NULL, wait_thread, &w2);
	usleep(200000);
	is_ul(P->C_Finalize(NULL), CKR_OK, "%s: C_Finalize while a thread waits", m);
	back = join_within(t, deadline());
	ok(back, "%s: the waiting thread returns", m);
	if (back)
		is_ul(w2.rv, CKR_CRYPTOKI_NOT_INITIALIZED,
		      "%s: ... with CKR_CRYPTOKI_NOT_INITIALIZED", m);
	unplug("USB");
	return;
out:
	unplug("USB");
	api_finalize();
}

/* ---------------------------------------------------- threads and idle */

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Voluntary context switches of the other threads of this process (the
 * module's): the test's own sleep is one. */
static long switches(void)
{
	long total = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], line[256];
		if (e->d_name[0] == '.' || atol(e->d_name) == (long)getpid())
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
				total += atol(line + 24);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return total;
}

static void test_threads_and_idle(void)
{
	/* The test itself has one thread.  C_Initialize first joins the
	 * thread of the previous part's module, which C_Finalize woke. */
	int before = 1;
	if (!is_ul(init_root(false), CKR_OK, "no thread: C_Initialize"))
		return;
	is_ul(count_threads(), before, "CKF_LIBRARY_CANT_CREATE_OS_THREADS: no thread started");
	ok(plug("USB", &fiel), "no thread: a bundle appears");
	ok(await_label(LABEL_CACX, true, NULL) >= 0, "no thread: seen at the next calls");
	unplug("USB");
	api_finalize();

	if (!is_ul(init_root(true), CKR_OK, "thread: C_Initialize"))
		return;
	is_ul(count_threads(), before + 1, "threads allowed: one thread follows the files");
	/* Idle: the module's thread does not wake up, once it has settled
	 * into its wait. */
	usleep(300000);
	long s0 = switches();
	usleep(1500000);
	long s1 = switches();
	is_ul((unsigned long)(s1 - s0), 0, "idle for 1.5 s: the module's thread never wakes up");
	api_finalize();
	/* It leaves by itself, without C_Finalize waiting for it. */
	double t0 = tap_now();
	while (count_threads() != before && tap_now() - t0 < deadline())
		usleep(1000);
	is_ul(count_threads(), before, "C_Finalize stops the thread");
}

/* -------------------------------------------------- [directory], [bundle] */

static void test_configured_sources(bool threads)
{
	const char *m = mode_name(threads);
	const char *tmp = api_tmpdir();
	char dir[1200], cer[1300], key[1300], conf[4000];
	CK_SLOT_ID first[32], slot = 0, bslot = 0;

	/* ~/SAT, where a renewed e.firma is downloaded, and a [bundle]. */
	snprintf(dir, sizeof dir, "%s/SAT", tmp);
	mkdir(dir, 0700);
	snprintf(cer, sizeof cer, "%s/csd.cer", tmp);
	snprintf(key, sizeof key, "%s/csd.key", tmp);
	api_copy_file(csd.cer, cer);
	api_copy_file(csd.key, key);
	snprintf(conf, sizeof conf, "dir=%s cert=%s key=%s removable=0 ca=%s", dir, cer, key,
		 api_sat("ca"));
	if (!is_ul(init_mode(conf, threads), CKR_OK, "%s: C_Initialize, a folder and a bundle", m))
		return;
	CK_ULONG n = all_slots(first, 32);
	is_ul(n, 3, "%s: the bundle's slot and 2 empty ones", m);
	ok(await_label(LABEL_CSD, true, &bslot) >= 0, "%s: the [bundle]'s token", m);

	ok(api_sh("cp '%s' '%s' '%s/'", fiel.cer, fiel.key, dir) == 0,
	   "%s: an e.firma downloaded into the folder", m);
	ok(await_label(LABEL_CACX, true, &slot) >= 0, "%s: it shows up without a restart", m);
	ok(listed(first, n, slot), "%s: in a slot listed before", m);

	unlink(cer);
	ok(await_label(LABEL_CSD, false, NULL) >= 0, "%s: the [bundle]'s .cer removed: token gone",
	   m);
	api_copy_file(csd.cer, cer);
	CK_SLOT_ID back = 0;
	ok(await_label(LABEL_CSD, true, &back) >= 0 && back == bslot,
	   "%s: restored: the token is back in its slot", m);
	api_finalize();
}

/* A [directory] that lives on a stick is one source, the configured one:
 * the volumes' walk finds the same folder, which must not take the token
 * over (its slot and attributes would say a volume one scan, a folder the
 * next). */
static void test_folder_on_stick(void)
{
	char dir[1200], conf[3000];
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	snprintf(root, sizeof root, "%s/media", api_tmpdir());
	snprintf(dir, sizeof dir, "%s/USB/SAT", root);
	ok(api_sh("mkdir -p '%s'", dir) == 0, "a stick whose SAT folder is a [directory]");
	snprintf(conf, sizeof conf, "dir=%s removable-root=%s ca=%s", dir, root, api_sat("ca"));
	if (!is_ul(init_mode(conf, true), CKR_OK, "C_Initialize"))
		return;
	ok(plug("USB", &fiel), "a bundle copied into it");
	ok(await_label(LABEL_CACX, true, &slot) >= 0, "its token");
	CK_ULONG n = 0;
	P->C_GetSlotList(CK_FALSE, NULL, &n); /* one more rescan */
	P->C_GetSlotList(CK_TRUE, NULL, &n);
	is_ul(n, 1, "one token, not one per way of reaching the folder");
	if (is_ul(api_open(slot, false, &s), CKR_OK, "session")) {
		CK_OBJECT_HANDLE cert = api_leaf_cert(s);
		is_ul(api_attr_ulong(s, cert, CKA_EFIRMA_SOURCE, 0), CKV_EFIRMA_SOURCE_FOLDER,
		      "it comes from the configured folder");
	}
	unplug("USB");
	api_finalize();
}

/* ------------------------------------------------------------------ fork */

static void test_fork(void)
{
	CK_SLOT_ID slot;
	if (!is_ul(init_root(true), CKR_OK, "fork: C_Initialize"))
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* The parent's watcher is not the child's: a fresh one. */
		int rc = 1;
		if (P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL) ==
			    CKR_CRYPTOKI_NOT_INITIALIZED &&
		    init_same_root(true) == CKR_OK && plug("HIJO", &fiel) &&
		    await_label(LABEL_CACX, true, &slot) >= 0)
			rc = 0;
		P->C_Finalize(NULL);
		_exit(rc);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "fork: the child initializes its own module and sees a bundle appear");
	ok(await_label(LABEL_CACX, true, &slot) >= 0, "fork: the parent sees it too");
	unplug("HIJO");
	ok(await_label(LABEL_CACX, false, NULL) >= 0, "fork: and its removal");
	api_finalize();

	/* Forked right after C_Finalize, while the woken thread is leaving
	 * (it takes the lock a moment to see that it must): the child has
	 * the flags but not the thread, must not wait for it, and must not
	 * find the lock held by it.  Many times, to meet that moment. */
	int good = 0, rounds = 30;
	for (int i = 0; i < rounds; i++) {
		if (init_root(true) != CKR_OK)
			break;
		api_finalize();
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			alarm(10);
			_exit(init_same_root(true) == CKR_OK && P->C_Finalize(NULL) == CKR_OK ? 0
											      : 1);
		}
		status = -1;
		waitpid(pid, &status, 0);
		good += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	is_ul((unsigned long)good, (unsigned long)rounds,
	      "fork after C_Finalize: the child initializes and finalizes, every time");
}

/* ------------------------------------------- polling where none notifies */

static void test_polling_fallback(void)
{
	int fds[1024], n = 0;
	/* Every inotify instance this user may have, taken. */
	while (n < 1024 && (fds[n] = inotify_init1(IN_CLOEXEC)) >= 0)
		n++;
	if (n == 1024 || errno != EMFILE) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		tap_skip("cannot exhaust inotify instances here");
		return;
	}
	CK_RV rv = init_root(false);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (!is_ul(rv, CKR_OK, "no inotify: C_Initialize"))
		return;
	ok(plug("USB", &fiel), "no inotify: a bundle appears");
	ok(await_label(LABEL_CACX, true, NULL) >= 0, "no inotify: seen all the same (polling)");
	unplug("USB");
	ok(await_label(LABEL_CACX, false, NULL) >= 0, "no inotify: and its removal");
	api_finalize();
}

/* ----------------------------------------------------- a real mount */

static void test_real_mount(void)
{
	char vol[1200];
	if (geteuid() != 0) {
		tap_skip("mounting needs root");
		return;
	}
	if (!is_ul(init_root(true), CKR_OK, "mount: C_Initialize"))
		return;
	snprintf(vol, sizeof vol, "%s/TMPFS", root);
	mkdir(vol, 0700);
	if (mount("efirma-test", vol, "tmpfs", 0, "size=1m") != 0) {
		tap_skip("cannot mount a tmpfs here (%s)", strerror(errno));
		api_finalize();
		return;
	}
	ok(api_sh("mkdir '%s/SAT' && cp '%s' '%s' '%s/SAT/'", vol, fiel.cer, fiel.key, vol) == 0,
	   "mount: a bundle on a mounted tmpfs");
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	ok(await_label(LABEL_CACX, true, &slot) >= 0, "mount: the token appears");
	bool logged = api_open(slot, false, &s) == CKR_OK && api_login(s, fiel.pin) == CKR_OK;
	ok(logged, "mount: logged in");
	ok(umount2(vol, MNT_DETACH) == 0, "mount: umount under the running module");
	ok(await_label(LABEL_CACX, false, NULL) >= 0, "mount: the token is gone");
	CK_SESSION_INFO si;
	is_ul(P->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID, "mount: its session closed");
	rmdir(vol);
	api_finalize();
}

int main(void)
{
	api_setup_env();
	tap_alarm("test-api-hotplug", 240);
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel) &&
			api_sat_bundle("csd-pm-EKU9003173C9-2023", &csd),
		"SAT bundles in %s", api_sat_dir()))
		return tap_done();
	for (int threads = 1; threads >= 0; threads--) {
		TAP_PART(test_appear_vanish(threads));
		TAP_PART(test_rename_and_partial(threads));
		TAP_PART(test_setpin_elsewhere(threads));
		TAP_PART(test_wait_event(threads));
		TAP_PART(test_configured_sources(threads));
	}
	TAP_PART(test_folder_on_stick());
	TAP_PART(test_threads_and_idle());
	TAP_PART(test_fork());
	TAP_PART(test_polling_fallback());
	TAP_PART(test_real_mount());
	return tap_done();
}
