/*
 * test-host-openssl.c - the module leaves the host program's OpenSSL as
 * it found it (doc/DESIGN.md §5: private OSSL_LIB_CTX, no global init or
 * cleanup, the caller's error queue untouched).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * This program uses OpenSSL itself before, during and after using the
 * module: it puts two errors of its own on its error queue, notes the
 * providers loaded in the default context and its default properties,
 * then drives the module through successes and failures that make
 * OpenSSL errors inside it (wrong PIN, a garbage certificate, a bad
 * ciphertext), and checks after each call that its queue still holds
 * exactly its two errors; after C_Finalize and dlclose the providers and
 * properties are the same and the default context still hashes.
 *
 * Not checked: whether the default context's configuration (openssl.cnf)
 * was loaded by the module, because every way to look at the default
 * context loads it (OpenSSL 3.0 does that on first use).  The module never
 * uses the default context (the module passes its own everywhere).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "api/api-util.h"
#include "tap.h"

static unsigned long first_err, last_err;

static int collect(OSSL_PROVIDER *prov, void *arg)
{
	char *list = arg;
	size_t len = strlen(list);
	snprintf(list + len, 512 - len, "%s,", OSSL_PROVIDER_get0_name(prov));
	return 1;
}

static bool queue_intact(void)
{
	return ERR_peek_error() == first_err && ERR_peek_last_error() == last_err;
}

#define CHECK(call, want, what)                                                        \
	do {                                                                           \
		CK_RV r_ = (call);                                                     \
		is_ul(r_, want, "%s", what);                                           \
		ok(queue_intact(), "... the program's error queue is as it was");      \
	} while (0)

int main(void)
{
	api_setup_env();
	struct api_bundle b;
	char before[512] = "", after[512] = "", props_before[256] = "";
	unsigned char h1[32], h2[32];
	static const char data[] = "datos del programa";

	/* The program's own OpenSSL use comes first. */
	ok(EVP_Digest(data, sizeof data - 1, h1, NULL, EVP_sha256(), NULL) == 1,
	   "the program hashes with the default context");
	OSSL_PROVIDER_do_all(NULL, collect, before);
	snprintf(props_before, sizeof props_before, "fips=%d",
		 EVP_default_properties_is_fips_enabled(NULL));
	tap_diag("providers in the default context: %s", before);
	ERR_clear_error();
	ERR_raise_data(ERR_LIB_USER, 42, "first error of the program");
	ERR_raise_data(ERR_LIB_USER, 43, "second error of the program");
	first_err = ERR_peek_error();
	last_err = ERR_peek_last_error();
	ok(first_err && last_err && first_err != last_err, "two errors on the program's queue");

	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b), "SAT bundle") ||
	    !ok(api_load(), "module loaded into the program"))
		return tap_done();
	ok(queue_intact(), "dlopen: queue intact");

	/* A configuration with a garbage certificate next to the good one:
	 * parsing it fails inside OpenSSL. */
	const char *dir = api_tmpdir();
	char junk[1100], conf[4200];
	snprintf(junk, sizeof junk, "%s/junk.cer", dir);
	api_write_file(junk, "\x30\x82\x01\x00garbage", 11);
	snprintf(conf, sizeof conf, "%s/two.conf", dir);
	FILE *f = fopen(conf, "w");
	if (f) {
		fprintf(f, "[bundle]\ncert = %s\nkey = %s\n[bundle]\ncert = %s\nkey = %s\n"
			"[ca]\npath = %s\n", junk, b.key, b.cer, b.key, api_sat("ca"));
		fclose(f);
	}
	char reserved[4300];
	snprintf(reserved, sizeof reserved, "conf=%s", conf);
	CHECK(api_init(reserved), CKR_OK, "C_Initialize (one garbage certificate)");
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CHECK(api_find_slot("e.firma CACX7605101P8", &slot), CKR_OK, "the good token");
	CHECK(api_open(slot, false, &s), CKR_OK, "C_OpenSession");
	CHECK(api_login(s, "equivocada1"), CKR_PIN_INCORRECT, "C_Login, wrong password");
	CHECK(api_login(s, b.pin), CKR_OK, "C_Login");
	CK_OBJECT_HANDLE priv = api_one(s, CKO_PRIVATE_KEY);
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[256];
	CK_ULONG len = sizeof sig;
	CHECK(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit");
	CHECK(P->C_Sign(s, (CK_BYTE_PTR)data, sizeof data - 1, sig, &len), CKR_OK, "C_Sign");
	unsigned char good_sig[256];
	memcpy(good_sig, sig, sizeof sig);
	CHECK(P->C_VerifyInit(s, &m, api_one(s, CKO_PUBLIC_KEY)), CKR_OK, "C_VerifyInit");
	sig[10] ^= 1;
	CHECK(P->C_Verify(s, (CK_BYTE_PTR)data, sizeof data - 1, sig, len), CKR_SIGNATURE_INVALID,
	      "C_Verify of a bent signature -> CKR_SIGNATURE_INVALID");
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM om = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
	unsigned char ct[256], pt[256];
	CK_ULONG ptlen = sizeof pt;
	memset(ct, 0x55, sizeof ct);
	CHECK(P->C_DecryptInit(s, &om, priv), CKR_OK, "C_DecryptInit(OAEP)");
	CK_RV rv = P->C_Decrypt(s, ct, sizeof ct, pt, &ptlen);
	ok(rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE,
	   "C_Decrypt of garbage fails (%s)", ef_rv_name(rv));
	ok(queue_intact(), "... the program's error queue is as it was");
	CHECK(P->C_Logout(s), CKR_OK, "C_Logout");
	CHECK(P->C_Finalize(NULL), CKR_OK, "C_Finalize");

	OSSL_PROVIDER_do_all(NULL, collect, after);
	is_str(after, before, "the default context's providers are unchanged");
	char props_after[256];
	snprintf(props_after, sizeof props_after, "fips=%d",
		 EVP_default_properties_is_fips_enabled(NULL));
	is_str(props_after, props_before, "default properties unchanged");
	ok(!OSSL_PROVIDER_available(NULL, "legacy") || strstr(before, "legacy"),
	   "the legacy provider was not loaded into the program's context");
	ok(EVP_Digest(data, sizeof data - 1, h2, NULL, EVP_sha256(), NULL) == 1 &&
	   memcmp(h1, h2, 32) == 0, "the program still hashes after C_Finalize");
	/* Exactly the program's two errors, in order. */
	unsigned long e1 = ERR_get_error(), e2 = ERR_get_error(), e3 = ERR_get_error();
	ok(e1 == first_err && e2 == last_err && e3 == 0,
	   "the queue holds exactly the program's two errors");
	/* Last: the test helpers clear the queue. */
	EVP_PKEY *pub = api_cert_pubkey(b.cer);
	ok(api_verify_pkcs1(pub, EVP_sha256(), data, sizeof data - 1, good_sig, len),
	   "the program verifies the module's signature with its own OpenSSL");
	EVP_PKEY_free(pub);
	return tap_done();
}
