/*
 * test-api-threads.c - concurrency, black-box through the function list:
 *   - one token, logged in once; three threads, each with its own session,
 *     sign 50 times at the same time (SHA256-RSA-PKCS single-part,
 *     SHA256-RSA-PKCS-PSS multi-part, RSA-PKCS-PSS over a hash); every
 *     signature is verified afterwards by OpenSSL against the .cer;
 *   - meanwhile two more threads open and close sessions, search objects,
 *     read attributes and poll C_GetSlotInfo / C_GetTokenInfo, as NSS does;
 *   - the login state survives the session churn (the signing sessions
 *     stay logged in);
 *   - no deadlock: the whole program is bounded by tap_alarm (120 s).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rsa.h>

#include "../tap.h"
#include "api-util.h"

#define NSIGNERS 3
#define NCHURNERS 2
#define NSIGS 50

struct signer {
	int id;
	CK_SLOT_ID slot;
	unsigned char msg[NSIGS][64];
	unsigned char sig[NSIGS][256];
	CK_ULONG siglen[NSIGS];
	CK_RV rv[NSIGS];
	CK_RV setup_rv;
};

struct churner {
	CK_SLOT_ID slot;
	long rounds;
	long errors;
	CK_RV last_error;
};

static atomic_int stop;

static CK_MECHANISM_TYPE mech_of(int id)
{
	return id % 3 == 0 ? CKM_SHA256_RSA_PKCS : id % 3 == 1 ? CKM_SHA256_RSA_PKCS_PSS : CKM_RSA_PKCS_PSS;
}

static void *sign_thread(void *arg)
{
	struct signer *w = arg;
	CK_SESSION_HANDLE s;
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM m = { mech_of(w->id), NULL, 0 };
	if (m.mechanism != CKM_SHA256_RSA_PKCS) {
		m.pParameter = &pp;
		m.ulParameterLen = sizeof pp;
	}
	w->setup_rv = api_open(w->slot, false, &s);
	if (w->setup_rv != CKR_OK)
		return NULL;
	CK_OBJECT_HANDLE k = api_one(s, CKO_PRIVATE_KEY);
	if (k == CK_INVALID_HANDLE) {
		w->setup_rv = CKR_USER_NOT_LOGGED_IN;
		P->C_CloseSession(s);
		return NULL;
	}
	for (int i = 0; i < NSIGS; i++) {
		unsigned char h[32];
		unsigned int hl = 0;
		CK_RV rv;
		api_random(w->msg[i], sizeof w->msg[i]);
		w->siglen[i] = sizeof w->sig[i];
		rv = P->C_SignInit(s, &m, k);
		if (rv == CKR_OK) {
			switch (m.mechanism) {
			case CKM_SHA256_RSA_PKCS:
				rv = P->C_Sign(s, w->msg[i], 64, w->sig[i], &w->siglen[i]);
				break;
			case CKM_SHA256_RSA_PKCS_PSS:
				rv = P->C_SignUpdate(s, w->msg[i], 20);
				if (rv == CKR_OK)
					rv = P->C_SignUpdate(s, w->msg[i] + 20, 20);
				if (rv == CKR_OK)
					rv = P->C_SignUpdate(s, w->msg[i] + 40, 24);
				if (rv == CKR_OK)
					rv = P->C_SignFinal(s, w->sig[i], &w->siglen[i]);
				break;
			default:
				EVP_Digest(w->msg[i], 64, h, &hl, EVP_sha256(), NULL);
				rv = P->C_Sign(s, h, hl, w->sig[i], &w->siglen[i]);
				break;
			}
		}
		w->rv[i] = rv;
	}
	P->C_CloseSession(s);
	return NULL;
}

static void *churn_thread(void *arg)
{
	struct churner *c = arg;
	while (!atomic_load(&stop)) {
		CK_SESSION_HANDLE s;
		CK_SLOT_INFO si;
		CK_TOKEN_INFO ti;
		CK_SESSION_INFO ssi;
		CK_RV rv = P->C_GetSlotInfo(c->slot, &si);
		if (rv == CKR_OK)
			rv = P->C_GetTokenInfo(c->slot, &ti);
		if (rv == CKR_OK)
			rv = api_open(c->slot, c->rounds % 2, &s);
		if (rv == CKR_OK) {
			CK_RV r2 = P->C_GetSessionInfo(s, &ssi);
			CK_OBJECT_HANDLE cert = api_leaf_cert(s);
			unsigned char *v = NULL;
			CK_ULONG len = 0;
			if (r2 == CKR_OK && cert != CK_INVALID_HANDLE)
				r2 = api_attr(s, cert, CKA_VALUE, &v, &len);
			else if (r2 == CKR_OK)
				r2 = CKR_GENERAL_ERROR;
			free(v);
			CK_ULONG n = api_find(s, NULL, 0, NULL, 0, NULL);
			if (n == (CK_ULONG)-1 && r2 == CKR_OK)
				r2 = CKR_GENERAL_ERROR;
			CK_RV r3 = P->C_CloseSession(s);
			rv = r2 != CKR_OK ? r2 : r3;
		}
		if (rv != CKR_OK) {
			c->errors++;
			c->last_error = rv;
		}
		c->rounds++;
	}
	return NULL;
}

static bool verify_one(EVP_PKEY *pub, int id, const unsigned char *msg, const unsigned char *sig, size_t sl)
{
	unsigned char h[32];
	unsigned int hl = 0;
	switch (mech_of(id)) {
	case CKM_SHA256_RSA_PKCS:
		return api_verify_pkcs1(pub, EVP_sha256(), msg, 64, sig, sl);
	case CKM_SHA256_RSA_PKCS_PSS:
		return api_verify_pss(pub, EVP_sha256(), EVP_sha256(), 32, msg, 64, sig, sl);
	default:
		EVP_Digest(msg, 64, h, &hl, EVP_sha256(), NULL);
		return api_verify_pss_hash(pub, EVP_sha256(), EVP_sha256(), 32, h, hl, sig, sl);
	}
}

int main(void)
{
	struct api_bundle b;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE main_s;
	static struct signer sw[NSIGNERS];
	struct churner cw[NCHURNERS];
	pthread_t st[NSIGNERS], ct[NCHURNERS];
	EVP_PKEY *pub;

	tap_alarm("test-api-threads", 120);
	api_setup_env();
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b), "SAT bundle"))
		return tap_done();
	pub = api_cert_pubkey(b.cer);
	/* NSS's form: the module must lock with the OS primitives itself */
	if (!is_ul(api_init_bundle(&b), CKR_OK, "C_Initialize (CKF_OS_LOCKING_OK)") ||
	    !is_ul(api_first_token_slot(&slot), CKR_OK, "token present") ||
	    !is_ul(api_open(slot, false, &main_s), CKR_OK, "main session") ||
	    !is_ul(api_login(main_s, b.pin), CKR_OK, "login once, shared by all sessions"))
		return tap_done();

	/* one-thread baseline, for the diagnostics only */
	double t0 = tap_now();
	{
		struct signer one;
		memset(&one, 0, sizeof one);
		one.slot = slot;
		sign_thread(&one);
	}
	double base = tap_now() - t0;

	memset(sw, 0, sizeof sw);
	memset(cw, 0, sizeof cw);
	atomic_store(&stop, 0);
	for (int i = 0; i < NCHURNERS; i++) {
		cw[i].slot = slot;
		pthread_create(&ct[i], NULL, churn_thread, &cw[i]);
	}
	t0 = tap_now();
	for (int i = 0; i < NSIGNERS; i++) {
		sw[i].id = i;
		sw[i].slot = slot;
		pthread_create(&st[i], NULL, sign_thread, &sw[i]);
	}
	int joined = 0;
	for (int i = 0; i < NSIGNERS; i++)
		joined += pthread_join(st[i], NULL) == 0;
	double par = tap_now() - t0;
	atomic_store(&stop, 1);
	for (int i = 0; i < NCHURNERS; i++)
		joined += pthread_join(ct[i], NULL) == 0;
	/* a deadlock never gets here: tap_alarm bails out */
	is_ul((unsigned long)joined, NSIGNERS + NCHURNERS, "every thread finished and was joined");
	tap_diag("%d x %d signatures in %.2f s; one thread alone: %d in %.2f s", NSIGNERS, NSIGS, par, NSIGS, base);

	for (int i = 0; i < NSIGNERS; i++) {
		int good = 0, signed_ok = 0;
		CK_RV first_bad = CKR_OK;
		is_ul(sw[i].setup_rv, CKR_OK, "signer %d: own session, private key visible (login shared)", i);
		for (int k = 0; k < NSIGS; k++) {
			if (sw[i].rv[k] == CKR_OK) {
				signed_ok++;
				if (sw[i].siglen[k] == 256 && verify_one(pub, i, sw[i].msg[k], sw[i].sig[k], sw[i].siglen[k]))
					good++;
			} else if (first_bad == CKR_OK) {
				first_bad = sw[i].rv[k];
			}
		}
		ok(signed_ok == NSIGS, "signer %d (mechanism 0x%lx): %d/%d signatures made%s%s", i,
		   (unsigned long)mech_of(i), signed_ok, NSIGS, first_bad ? ", first error " : "",
		   first_bad ? ef_rv_name(first_bad) : "");
		is_ul(good, NSIGS, "signer %d: every signature verified by OpenSSL", i);
	}
	for (int i = 0; i < NCHURNERS; i++) {
		ok(cw[i].rounds > 0, "churner %d: %ld rounds of open/find/read/close", i, cw[i].rounds);
		ok(cw[i].errors == 0, "churner %d: no errors%s%s", i, cw[i].errors ? ", last " : "",
		   cw[i].errors ? ef_rv_name(cw[i].last_error) : "");
	}
	CK_SESSION_INFO si;
	ok(P->C_GetSessionInfo(main_s, &si) == CKR_OK && si.state == CKS_RO_USER_FUNCTIONS,
	   "main session still logged in after the churn");

	/* two tokens at once: threads on different slots */
	api_finalize();
	struct api_bundle two[2];
	if (api_sat_bundle("fiel-pf-CACX7605101P8-2023", &two[0]) &&
	    api_sat_bundle("fiel-pm-EKU9003173C9-2023", &two[1]) && api_init_bundles(two, 2) == CKR_OK) {
		CK_SLOT_ID s2[2];
		CK_SESSION_HANDLE ls[2];
		EVP_PKEY *pk[2] = { api_cert_pubkey(two[0].cer), api_cert_pubkey(two[1].cer) };
		bool ready = api_find_slot("e.firma CACX7605101P8", &s2[0]) == CKR_OK &&
			     api_find_slot("e.firma EKU9003173C9", &s2[1]) == CKR_OK &&
			     api_open(s2[0], false, &ls[0]) == CKR_OK && api_open(s2[1], false, &ls[1]) == CKR_OK &&
			     api_login(ls[0], API_PIN) == CKR_OK && api_login(ls[1], API_PIN) == CKR_OK;
		if (ok(ready, "two tokens, each logged in")) {
			memset(sw, 0, sizeof sw);
			for (int i = 0; i < 2; i++) {
				sw[i].id = 0;
				sw[i].slot = s2[i];
				pthread_create(&st[i], NULL, sign_thread, &sw[i]);
			}
			for (int i = 0; i < 2; i++)
				pthread_join(st[i], NULL);
			for (int i = 0; i < 2; i++) {
				int good = 0;
				for (int k = 0; k < NSIGS; k++)
					good += sw[i].rv[k] == CKR_OK &&
						verify_one(pk[i], 0, sw[i].msg[k], sw[i].sig[k], sw[i].siglen[k]);
				is_ul(good, NSIGS, "token %d: %d concurrent signatures verified with its own certificate",
				      i, NSIGS);
			}
		}
		EVP_PKEY_free(pk[0]);
		EVP_PKEY_free(pk[1]);
		api_finalize();
	} else {
		ok(0, "two-token setup");
	}
	EVP_PKEY_free(pub);
	tap_alarm("test-api-threads", 0);
	return tap_done();
}
