/*
 * test-hotplug-stress.c - a stick pulled out and plugged in while two
 * threads sign with its key: 200 removals and restorations under the
 * signers, with the module's own thread and without one.  No crash and no
 * use-after-free (the ASan build runs this too), no wrong signature, and
 * only the answers the specification gives a token that went away.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/api-util.h"
#include "tap.h"

#define SIGNERS 2
#define CYCLES 200

static struct api_bundle fiel;
static EVP_PKEY *pub;
static char vol[1200], cer[1300], key[1300];
static atomic_bool stop;
static atomic_long signatures, bad_answers, bad_sigs, lost;
static atomic_ulong last_bad;
static const unsigned char msg[] = "firma mientras se retira la memoria";

/* What a call may answer when the token went away under it, or while its
 * files are half copied back. */
static bool removal_ok(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SLOT_ID_INVALID:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_DEVICE_ERROR:	/* the .key half copied, or missing */
	case CKR_PIN_INCORRECT: /* the same, where it decrypts to garbage */
		return true;
	default:
		return false;
	}
}

static void note(CK_RV rv)
{
	if (rv == CKR_OK)
		return;
	if (removal_ok(rv)) {
		atomic_fetch_add(&lost, 1);
	} else {
		atomic_fetch_add(&bad_answers, 1);
		atomic_store(&last_bad, rv);
	}
}

static CK_SLOT_ID token_slot(void)
{
	CK_SLOT_ID ids[8];
	CK_ULONG n = 8;
	if (P->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK || n == 0)
		return (CK_SLOT_ID)-1;
	return ids[0];
}

/* Opens, logs in and signs until stopped; starts over whenever the token
 * goes away. */
static void *signer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		CK_SESSION_HANDLE s;
		CK_SLOT_ID slot = token_slot();
		if (slot == (CK_SLOT_ID)-1) {
			usleep(1000);
			continue;
		}
		CK_RV rv = P->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
		note(rv);
		if (rv != CKR_OK)
			continue;
		rv = api_login(s, fiel.pin);
		if (rv != CKR_USER_ALREADY_LOGGED_IN)
			note(rv);
		for (int i = 0; (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) && i < 50 &&
				!atomic_load(&stop);
		     i++) {
			CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
			CK_OBJECT_HANDLE priv = api_one(s, CKO_PRIVATE_KEY);
			unsigned char sig[512];
			CK_ULONG len = sizeof sig;
			rv = P->C_SignInit(s, &m, priv);
			if (rv == CKR_OK)
				rv = P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len);
			note(rv);
			if (rv != CKR_OK)
				break;
			atomic_fetch_add(&signatures, 1);
			if (!api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, len))
				atomic_fetch_add(&bad_sigs, 1);
		}
		P->C_CloseSession(s);
	}
	return NULL;
}

static void run(bool threads)
{
	const char *m = threads ? "thread" : "no thread";
	char root[1100], conf[2400];
	pthread_t t[SIGNERS];
	CK_C_INITIALIZE_ARGS a;

	snprintf(root, sizeof root, "%s/media", api_tmpdir());
	snprintf(vol, sizeof vol, "%s/USB", root);
	snprintf(cer, sizeof cer, "%s/fiel.cer", vol);
	snprintf(key, sizeof key, "%s/fiel.key", vol);
	mkdir(root, 0700);
	mkdir(vol, 0700);
	api_copy_file(fiel.cer, cer);
	api_copy_file(fiel.key, key);
	snprintf(conf, sizeof conf, "removable-root=%s", root);
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK | (threads ? 0 : CKF_LIBRARY_CANT_CREATE_OS_THREADS);
	a.pReserved = conf;
	if (!is_ul(P->C_Initialize(&a), CKR_OK, "%s: C_Initialize", m))
		return;
	atomic_store(&stop, false);
	atomic_store(&signatures, 0);
	atomic_store(&bad_answers, 0);
	atomic_store(&bad_sigs, 0);
	atomic_store(&lost, 0);
	for (int i = 0; i < SIGNERS; i++)
		pthread_create(&t[i], NULL, signer, NULL);
	double t0 = tap_now();
	for (int c = 0; c < CYCLES; c++) {
		usleep((unsigned)(rand() % 8000));
		unlink(cer);
		unlink(key);
		usleep((unsigned)(rand() % 4000));
		/* Not atomic: the files are there half written for a moment,
		 * as a file manager copies them. */
		api_copy_file(fiel.cer, cer);
		api_copy_file(fiel.key, key);
	}
	usleep(300000);
	atomic_store(&stop, true);
	for (int i = 0; i < SIGNERS; i++)
		pthread_join(t[i], NULL);
	tap_diag("%s: %d removals in %.1f s, %ld signatures, %ld calls lost to a removal", m,
		 CYCLES, tap_now() - t0, atomic_load(&signatures), atomic_load(&lost));
	ok(atomic_load(&signatures) > 0, "%s: signatures were made between the removals", m);
	is_ul((unsigned long)atomic_load(&bad_sigs), 0, "%s: every signature verifies", m);
	ok(atomic_load(&bad_answers) == 0,
	   "%s: every failure is one a removed token gives (last other: %s)", m,
	   ef_rv_name(atomic_load(&last_bad)));
	ok(atomic_load(&lost) > 0, "%s: the removals did reach the signers", m);
	is_ul(P->C_Finalize(NULL), CKR_OK, "%s: C_Finalize", m);
}

int main(void)
{
	api_setup_env();
	tap_alarm("test-hotplug-stress", 300);
	srand((unsigned)getpid());
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel) &&
			(pub = api_cert_pubkey(fiel.cer)) != NULL,
		"SAT bundle in %s", api_sat_dir()))
		return tap_done();
	TAP_PART(run(true));
	TAP_PART(run(false));
	EVP_PKEY_free(pub);
	return tap_done();
}
