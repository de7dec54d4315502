/*
 * test-bad-input.c - hostile and broken files, each with the exact
 * expected outcome, through the function list.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rule (doc/DESIGN.md §3): a broken bundle never fails C_Initialize; it is a
 * slot without a token (CKR_TOKEN_NOT_PRESENT), or, when only the .key is
 * bad, a token whose C_Login answers CKR_DEVICE_ERROR (the file cannot be
 * used) or CKR_PIN_INCORRECT (the file is a key this PIN does not open).
 * A .key is never written by a login.  Covered: empty files, a SAT .cer
 * and .key cut at every length, garbage, PEM/DER confusion, the .key of
 * another certificate, an EC certificate and key, a 4096-bit key (signs,
 * verified by OpenSSL), a folder of 1,000 bundles, symlink loops, FIFOs,
 * unreadable files (as the user "nobody" when run as root), files that
 * vanish or change between C_Initialize and C_Login, and a configuration
 * file with errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "api/api-util.h"
#include "tap.h"

static struct api_bundle fiel, csd;
static unsigned char *fiel_cer, *fiel_key;
static size_t fiel_cer_len, fiel_key_len;

static CK_RV init_one(const char *cer, const char *key)
{
	char conf[4096];
	snprintf(conf, sizeof conf, "cert=\"%s\" key=\"%s\"", cer, key);
	return api_init(conf);
}

/* Number of slots (all) and of slots with a token. */
static void count_slots(CK_ULONG *all, CK_ULONG *present)
{
	*all = *present = (CK_ULONG)-1;
	if (P->C_GetSlotList(CK_FALSE, NULL, all) != CKR_OK)
		*all = (CK_ULONG)-1;
	if (P->C_GetSlotList(CK_TRUE, NULL, present) != CKR_OK)
		*present = (CK_ULONG)-1;
}

/* The one slot of a single-bundle configuration. */
static CK_SLOT_ID only_slot(void)
{
	CK_SLOT_ID ids[4];
	CK_ULONG n = 4;
	if (P->C_GetSlotList(CK_FALSE, ids, &n) != CKR_OK || n != 1)
		return (CK_SLOT_ID)-1;
	return ids[0];
}

/* C_Initialize with one bundle; the outcome: 'n' slot without a token, or
 * the C_Login answer with the SAT password ('t' = token but the session
 * could not be opened). */
static CK_RV login_rv(const char *pin)
{
	CK_SLOT_ID slot = only_slot();
	CK_SESSION_HANDLE s;
	CK_RV rv = api_open(slot, false, &s);
	if (rv != CKR_OK)
		return rv;
	rv = api_login(s, pin);
	P->C_CloseSession(s);
	return rv;
}

static bool sign_and_verify(CK_SESSION_HANDLE s, const char *cer, CK_MECHANISM_TYPE mech,
			    CK_ULONG want_len)
{
	static const char msg[] = "documento de prueba";
	CK_MECHANISM m = { mech, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	unsigned char sig[1024];
	CK_ULONG len = sizeof sig;
	if (mech == CKM_SHA256_RSA_PKCS_PSS) {
		m.pParameter = &pss;
		m.ulParameterLen = sizeof pss;
	}
	CK_OBJECT_HANDLE priv = api_one(s, CKO_PRIVATE_KEY);
	if (P->C_SignInit(s, &m, priv) != CKR_OK ||
	    P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len) != CKR_OK || len != want_len)
		return false;
	EVP_PKEY *pub = api_cert_pubkey(cer);
	bool good = pub && (mech == CKM_SHA256_RSA_PKCS_PSS ?
		api_verify_pss(pub, EVP_sha256(), EVP_sha256(), 32, msg, sizeof msg - 1, sig, len) :
		api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, len));
	EVP_PKEY_free(pub);
	return good;
}

/* -------------------------------------------------- empty and truncated */

static void test_truncated(void)
{
	const char *dir = api_tmpdir();
	char cer[1200], key[1200];
	CK_ULONG all, present;
	size_t bad = 0, first_bad = 0;
	double t0 = tap_now();

	tap_diag("---- empty and truncated files");
	snprintf(cer, sizeof cer, "%s/trunc.cer", dir);
	snprintf(key, sizeof key, "%s/trunc.key", dir);
	api_write_file(key, fiel_key, fiel_key_len);
	/* The .cer cut at every length, 0 (empty) included. */
	for (size_t len = 0; len < fiel_cer_len; len++) {
		api_write_file(cer, fiel_cer, len);
		CK_RV rv = init_one(cer, key);
		count_slots(&all, &present);
		CK_TOKEN_INFO ti;
		CK_RV trv = P->C_GetTokenInfo(only_slot(), &ti);
		if (rv != CKR_OK || all != 1 || present != 0 || trv != CKR_TOKEN_NOT_PRESENT) {
			if (!bad++)
				first_bad = len;
		}
		api_finalize();
	}
	ok(bad == 0, "SAT .cer cut at each of 0..%zu bytes: C_Initialize OK, one slot, no token "
	   "(CKR_TOKEN_NOT_PRESENT)%s", fiel_cer_len - 1, bad ? " - FAILED" : "");
	if (bad)
		tap_diag("%zu lengths wrong, the first at %zu bytes", bad, first_bad);
	api_write_file(cer, fiel_cer, fiel_cer_len);
	is_ul(init_one(cer, key), CKR_OK, "the whole .cer: C_Initialize");
	count_slots(&all, &present);
	is_ul(present, 1, "the whole .cer: a token");

	/* The .key cut at every length: the token is there, C_Login fails
	 * with the right password, and the file is never touched. */
	CK_SESSION_HANDLE s;
	size_t wrong_rv = 0, changed = 0, logged = 0;
	CK_RV first_rv = CKR_OK;
	if (!is_ul(api_open(only_slot(), false, &s), CKR_OK, "session on the token")) {
		api_finalize();
		return;
	}
	for (size_t len = 0; len < fiel_key_len; len++) {
		api_write_file(key, fiel_key, len);
		CK_RV rv = api_login(s, fiel.pin);
		if (rv == CKR_OK) {
			logged++;
			P->C_Logout(s);
		} else if (rv != CKR_DEVICE_ERROR) {
			if (!wrong_rv++)
				first_rv = rv;
		}
		size_t l2 = 0;
		unsigned char *after = api_read_file(key, &l2);
		if (!after || l2 != len || memcmp(after, fiel_key, len) != 0)
			changed++;
		free(after);
	}
	is_ul(logged, 0, "SAT .key cut at each of 0..%zu bytes: C_Login never succeeds",
	      fiel_key_len - 1);
	ok(wrong_rv == 0, "... and always answers CKR_DEVICE_ERROR (%zu other answers, first %s)",
	   wrong_rv, ef_rv_name(first_rv));
	is_ul(changed, 0, "... and the .key on disk is never modified");
	api_write_file(key, fiel_key, fiel_key_len);
	is_ul(api_login(s, fiel.pin), CKR_OK, "the whole .key logs in again");
	api_finalize();
	tap_diag("truncation cases took %.1f s", tap_now() - t0);
}

/* --------------------------------------------- garbage, PEM, other keys */

static void expect_no_token(const char *what, const char *cer, const char *key)
{
	CK_ULONG all, present;
	is_ul(init_one(cer, key), CKR_OK, "%s: C_Initialize OK", what);
	count_slots(&all, &present);
	ok(all == 1 && present == 0, "%s: one slot, no token (%lu/%lu)", what, present, all);
	CK_SESSION_HANDLE s;
	is_ul(P->C_OpenSession(only_slot(), CKF_SERIAL_SESSION, NULL, NULL, &s),
	      CKR_TOKEN_NOT_PRESENT, "%s: C_OpenSession -> CKR_TOKEN_NOT_PRESENT", what);
	api_finalize();
}

static void expect_login(const char *what, const char *cer, const char *key, const char *pin,
			 CK_RV want)
{
	is_ul(init_one(cer, key), CKR_OK, "%s: C_Initialize OK", what);
	is_ul(login_rv(pin), want, "%s: C_Login -> %s", what, ef_rv_name(want));
	api_finalize();
}

static void test_garbage(void)
{
	const char *dir = api_tmpdir();
	char g[1200], pem[1200], kpem[1200], p[1300];
	unsigned char junk[4096];

	tap_diag("---- garbage, PEM/DER confusion, other keys");
	api_random(junk, sizeof junk);
	snprintf(g, sizeof g, "%s/garbage.bin", dir);
	api_write_file(g, junk, sizeof junk);
	expect_no_token("random bytes as .cer", g, fiel.key);
	expect_login("random bytes as .key", fiel.cer, g, fiel.pin, CKR_DEVICE_ERROR);
	/* A DER SEQUENCE header that claims more than the file holds. */
	memcpy(junk, "\x30\x84\x7f\xff\xff\xff", 6);
	api_write_file(g, junk, 64);
	expect_no_token("DER header claiming 2 GiB as .cer", g, fiel.key);
	expect_login("DER header claiming 2 GiB as .key", fiel.cer, g, fiel.pin, CKR_DEVICE_ERROR);
	snprintf(p, sizeof p, "%s/empty", dir);
	api_write_file(p, "", 0);
	expect_no_token("empty .cer", p, fiel.key);
	expect_login("empty .key", fiel.cer, p, fiel.pin, CKR_DEVICE_ERROR);

	/* PEM where DER is usual: accepted for both files. */
	snprintf(pem, sizeof pem, "%s/fiel.pem.cer", dir);
	snprintf(kpem, sizeof kpem, "%s/fiel.pem.key", dir);
	ok(api_sh("openssl x509 -inform DER -in '%s' -out '%s' && openssl pkcs8 -inform DER "
		  "-in '%s' -passin pass:%s -topk8 -v2 aes-256-cbc -passout pass:%s -out '%s' "
		  "2>/dev/null", fiel.cer, pem, fiel.key, fiel.pin, fiel.pin, kpem) == 0,
	   "PEM copies of the bundle made");
	is_ul(init_one(pem, kpem), CKR_OK, "PEM .cer + PEM .key: C_Initialize");
	is_ul(login_rv(fiel.pin), CKR_OK, "PEM .cer + PEM .key: C_Login OK");
	api_finalize();
	/* Swapped: the key where the certificate goes and the other way round. */
	expect_no_token("the .key given as the .cer (DER)", fiel.key, fiel.cer);
	expect_no_token("the PEM key given as the .cer", kpem, pem);
	expect_login("the .cer given as the .key", fiel.cer, fiel.cer, fiel.pin, CKR_DEVICE_ERROR);
	/* A PEM certificate block with a wrong label, and with broken base64. */
	snprintf(p, sizeof p, "%s/relabel.cer", dir);
	ok(api_sh("sed 's/CERTIFICATE/PRIVATE KEY/' '%s' > '%s'", pem, p) == 0, "relabelled PEM");
	expect_no_token("PEM certificate labelled PRIVATE KEY", p, fiel.key);
	ok(api_sh("sed '3s/^..../!!!!/' '%s' > '%s'", pem, p) == 0, "PEM with bad base64");
	expect_no_token("PEM certificate with bad base64", p, fiel.key);
	/* CRLF line ends (a file that went through Windows) still work. */
	ok(api_sh("sed 's/$/\\r/' '%s' > '%s'", pem, p) == 0, "PEM with CRLF");
	is_ul(init_one(p, fiel.key), CKR_OK, "PEM .cer with CRLF line ends: C_Initialize");
	is_ul(login_rv(fiel.pin), CKR_OK, "PEM .cer with CRLF line ends: C_Login OK");
	api_finalize();

	/* The .key of another certificate: it opens with the password, but
	 * the bundle is broken - not a wrong password. */
	expect_login("the CSD's .key with the e.firma's .cer", fiel.cer, csd.key, csd.pin,
		     CKR_DEVICE_ERROR);
	/* ... and with a password it does not open: that is a wrong PIN. */
	expect_login("the CSD's .key, wrong password", fiel.cer, csd.key, "otra-cosa-1",
		     CKR_PIN_INCORRECT);
}

/* ---------------------------------------------------- EC and RSA-4096 */

static void test_key_types(void)
{
	const char *dir = api_tmpdir();
	struct api_bundle ec, big;
	char k[1200];

	tap_diag("---- EC certificate, 4096-bit RSA");
	snprintf(k, sizeof k, "%s/ec-src.key", dir);
	if (ok(api_sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
		      "2>/dev/null | openssl pkcs8 -topk8 -outform DER -v2 des3 -v2prf hmacWithSHA1 "
		      "-iter 2048 -passout pass:%s -out ec-src.key 2>/dev/null", dir, API_PIN) == 0 &&
	       api_gen_cert_for_key(dir, "ec", k, API_PIN, strlen(API_PIN), &ec),
	       "EC P-256 bundle generated")) {
		expect_no_token("certificate with an EC key", ec.cer, ec.key);
		expect_login("EC .key with an RSA certificate", fiel.cer, ec.key, API_PIN,
			     CKR_DEVICE_ERROR);
	}
	snprintf(k, sizeof k, "%s/big-src.key", dir);
	if (!ok(api_sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 "
		       "2>/dev/null | openssl pkcs8 -topk8 -outform DER -v2 des3 -v2prf hmacWithSHA1 "
		       "-iter 2048 -passout pass:%s -out big-src.key 2>/dev/null", dir, API_PIN) == 0 &&
		api_gen_cert_for_key(dir, "big", k, API_PIN, strlen(API_PIN), &big),
		"RSA-4096 bundle generated"))
		return;
	CK_SESSION_HANDLE s;
	is_ul(init_one(big.cer, big.key), CKR_OK, "RSA-4096: C_Initialize");
	if (is_ul(api_open(only_slot(), false, &s), CKR_OK, "RSA-4096: session") &&
	    is_ul(api_login(s, API_PIN), CKR_OK, "RSA-4096: C_Login")) {
		is_ul(api_attr_ulong(s, api_one(s, CKO_PUBLIC_KEY), CKA_MODULUS_BITS, 0), 4096,
		      "RSA-4096: CKA_MODULUS_BITS 4096");
		ok(sign_and_verify(s, big.cer, CKM_SHA256_RSA_PKCS, 512),
		   "RSA-4096: CKM_SHA256_RSA_PKCS, 512-byte signature verified by OpenSSL");
		ok(sign_and_verify(s, big.cer, CKM_SHA256_RSA_PKCS_PSS, 512),
		   "RSA-4096: CKM_SHA256_RSA_PKCS_PSS verified by OpenSSL");
	}
	api_finalize();
}

/* ---------------------------------------------------- 1,000 bundles */

static void test_thousand(void)
{
	const char *dir = api_tmpdir();
	char d[1200], p[1300];
	struct api_bundle src[3];
	unsigned char *cer[3], *key[3];
	size_t cl[3], kl[3];
	bool made = true;

	tap_diag("---- a folder of 1,000 bundles");
	if (!api_sat_bundle("fiel-pf-CACX7605101P8-2023", &src[0]) ||
	    !api_sat_bundle("csd-pm-EKU9003173C9-2023", &src[1]) ||
	    !api_sat_bundle("fiel-pf-FUNK671228PH6-2023", &src[2])) {
		ok(0, "three SAT bundles");
		return;
	}
	snprintf(d, sizeof d, "%s/mil", dir);
	mkdir(d, 0700);
	for (int i = 0; i < 3; i++) {
		cer[i] = api_read_file(src[i].cer, &cl[i]);
		key[i] = api_read_file(src[i].key, &kl[i]);
	}
	/* The same three key pairs under 1,000 names: the module pairs each
	 * .cer with the .key of the same name. */
	for (int i = 0; i < 1000 && made; i++) {
		snprintf(p, sizeof p, "%s/b%04d.cer", d, i);
		made = api_write_file(p, cer[i % 3], cl[i % 3]);
		snprintf(p, sizeof p, "%s/b%04d.key", d, i);
		made = made && api_write_file(p, key[i % 3], kl[i % 3]);
	}
	if (!ok(made, "1,000 bundles written"))
		return;
	char conf[1400];
	snprintf(conf, sizeof conf, "dir=%s ca=%s empty-slots=0", d, api_sat("ca"));
	double t0 = tap_now();
	is_ul(api_init(conf), CKR_OK, "C_Initialize with 1,000 bundles");
	double t_init = tap_now() - t0;
	CK_ULONG all, present;
	count_slots(&all, &present);
	ok(all == 1000 && present == 1000, "1,000 slots, each with a token (%lu/%lu)", present, all);
	tap_diag("C_Initialize took %.2f s", t_init);
	ok(t_init < 60, "C_Initialize took %.1f s", t_init);
	CK_SLOT_ID *ids = calloc(1000, sizeof(*ids));
	CK_ULONG n = 1000;
	if (ids && P->C_GetSlotList(CK_TRUE, ids, &n) == CKR_OK && n == 1000) {
		bool distinct = true;
		for (CK_ULONG i = 0; i < n && distinct; i++)
			distinct = ids[i] > 1 && (i == 0 || ids[i] != ids[i - 1]);
		ok(distinct, "slot IDs are distinct and never 0 or 1");
		/* The last bundle signs; OpenSSL checks it against its .cer. */
		for (int pick = 997; pick <= 999; pick++) {
			char label[40];
			CK_TOKEN_INFO ti;
			CK_SESSION_HANDLE s;
			CK_SLOT_ID slot = 0;
			/* slots come in name order: b0997 is the 998th */
			slot = ids[pick];
			P->C_GetTokenInfo(slot, &ti);
			api_field(ti.label, sizeof ti.label, label, sizeof label);
			if (api_open(slot, false, &s) == CKR_OK && api_login(s, API_PIN) == CKR_OK) {
				ok(sign_and_verify(s, src[pick % 3].cer, CKM_SHA256_RSA_PKCS, 256),
				   "bundle b%04d (%s) signs, verified against its .cer", pick, label);
				P->C_CloseSession(s);
			} else {
				ok(0, "bundle b%04d: session and login", pick);
			}
		}
	} else {
		ok(0, "C_GetSlotList(1,000)");
	}
	free(ids);
	t0 = tap_now();
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "rescan of the folder");
	is_ul(n, 1000, "... still 1,000 slots");
	tap_diag("rescan took %.2f s", tap_now() - t0);
	is_ul(api_finalize(), CKR_OK, "C_Finalize with 1,000 tokens");
	for (int i = 0; i < 3; i++) {
		free(cer[i]);
		free(key[i]);
	}
}

/* ------------------------------------------- links, FIFOs, permissions */

static void test_links_fifos(void)
{
	const char *dir = api_tmpdir();
	char d[1200], a[1300], b[1300], conf[8000];
	CK_ULONG all, present;

	tap_diag("---- symlink loops and FIFOs");
	snprintf(d, sizeof d, "%s/loops", dir);
	mkdir(d, 0700);
	snprintf(a, sizeof a, "%s/a.cer", d);
	snprintf(b, sizeof b, "%s/b.cer", d);
	ok(symlink(b, a) == 0 && symlink(a, b) == 0, "a.cer -> b.cer -> a.cer");
	snprintf(a, sizeof a, "%s/a.key", d);
	ok(symlink(a, a) == 0, "a.key -> a.key");
	snprintf(a, sizeof a, "%s/self", d);
	ok(symlink(a, a) == 0, "a folder link to itself");
	snprintf(a, sizeof a, "%s/ca-loop", d);
	ok(symlink(".", a) == 0, "a CA folder link to its own folder");
	snprintf(a, sizeof a, "%s/fifo.cer", d);
	snprintf(b, sizeof b, "%s/fifo.key", d);
	ok(mkfifo(a, 0600) == 0 && mkfifo(b, 0600) == 0, "FIFOs named fifo.cer and fifo.key");
	snprintf(a, sizeof a, "%s/good.cer", d);
	snprintf(b, sizeof b, "%s/good.key", d);
	api_copy_file(fiel.cer, a);
	api_copy_file(fiel.key, b);
	snprintf(a, sizeof a, "%s/dir.cer", d);
	mkdir(a, 0700);

	/* An empty folder (UBSan once caught qsort(NULL, 0) in the scan). */
	snprintf(a, sizeof a, "%s/empty", dir);
	mkdir(a, 0700);
	snprintf(conf, sizeof conf, "dir=%s ca=%s empty-slots=0", a, a);
	is_ul(api_init(conf), CKR_OK, "C_Initialize with an empty folder (bundles and CAs)");
	count_slots(&all, &present);
	is_ul(all, 0, "... no slots");
	api_finalize();

	tap_alarm("test-bad-input", 20);
	snprintf(conf, sizeof conf, "dir=%s dir=%s/self ca=%s ca=%s/ca-loop ca=%s/fifo.cer",
		 d, d, api_sat("ca"), d, d);
	is_ul(api_init(conf), CKR_OK, "C_Initialize over loops, FIFOs and a folder named .cer "
	      "returns (no hang)");
	count_slots(&all, &present);
	is_ul(present, 1, "only the good bundle has a token");
	tap_diag("%lu slots in all", all);
	CK_SLOT_ID ids[16];
	CK_ULONG n = 16;
	P->C_GetSlotList(CK_FALSE, ids, &n);
	int empty = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (P->C_GetTokenInfo(ids[i], &ti) == CKR_TOKEN_NOT_PRESENT)
			empty++;
	}
	is_ul((CK_ULONG)empty, all - 1, "every other slot: CKR_TOKEN_NOT_PRESENT");
	api_finalize();
	/* A bundle whose .key is a FIFO: C_Login fails instead of waiting. */
	snprintf(a, sizeof a, "%s/good.cer", d);
	snprintf(b, sizeof b, "%s/fifo.key", d);
	is_ul(init_one(a, b), CKR_OK, "bundle with a FIFO as .key: C_Initialize");
	is_ul(login_rv(fiel.pin), CKR_DEVICE_ERROR, "... C_Login -> CKR_DEVICE_ERROR, no hang");
	api_finalize();
	snprintf(a, sizeof a, "%s/fifo.cer", d);
	expect_no_token("bundle with a FIFO as .cer", a, fiel.key);
	snprintf(a, sizeof a, "%s/b.cer", d);
	snprintf(b, sizeof b, "%s/a.key", d);
	expect_no_token("explicit bundle with a looping .cer link", a, b);
	snprintf(a, sizeof a, "%s/good.cer", d);
	expect_login("explicit bundle with a looping .key link", a, b, fiel.pin, CKR_DEVICE_ERROR);
	tap_alarm("test-bad-input", 0);
}

/* Unreadable files.  Root reads files whatever their mode, so as root the
 * check runs in a child that has become "nobody". */
static void test_unreadable(void)
{
	char d[200], c[300], k[300];
	snprintf(d, sizeof d, "/tmp/ef-unreadable-XXXXXX");
	tap_diag("---- unreadable files");
	if (!mkdtemp(d)) {
		ok(0, "temporary folder");
		return;
	}
	chmod(d, 0755);
	snprintf(c, sizeof c, "%s/u.cer", d);
	snprintf(k, sizeof k, "%s/u.key", d);
	api_copy_file(fiel.cer, c);
	api_copy_file(fiel.key, k);
	chmod(c, 0644);
	chmod(k, 0000);
	struct passwd *nobody = getpwnam("nobody");
	bool root = geteuid() == 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Exit code bits: 1 init, 2 token, 4 login answer, 8 cer-only run. */
		int bits = 0;
		if (root && (!nobody || setgroups(0, NULL) != 0 || setgid(nobody->pw_gid) != 0 ||
			     setuid(nobody->pw_uid) != 0))
			_exit(100);
		if (access(k, R_OK) == 0)
			_exit(101);   /* the mode does not stop reads */
		if (init_one(c, k) == CKR_OK)
			bits |= 1;
		CK_ULONG all, present;
		count_slots(&all, &present);
		if (present == 1)
			bits |= 2;
		if (login_rv(API_PIN) == CKR_DEVICE_ERROR)
			bits |= 4;
		api_finalize();
		chmod(c, 0000);   /* fails as nobody: the parent does it */
		_exit(bits);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (code == 100 || code == 101) {
		ok(1, "# SKIP unreadable files: cannot drop to an unprivileged user here");
	} else {
		ok(code >= 0 && (code & 1), "unreadable .key (mode 000%s): C_Initialize OK",
		   root ? ", as nobody" : "");
		ok(code >= 0 && (code & 2), "unreadable .key: the token is there");
		ok(code >= 0 && (code & 4), "unreadable .key: C_Login -> CKR_DEVICE_ERROR");
		chmod(c, 0000);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (root && (setgroups(0, NULL) != 0 || setgid(nobody->pw_gid) != 0 ||
				     setuid(nobody->pw_uid) != 0))
				_exit(100);
			CK_ULONG all, present;
			int bits = init_one(c, k) == CKR_OK;
			count_slots(&all, &present);
			if (all == 1 && present == 0)
				bits |= 2;
			api_finalize();
			_exit(bits);
		}
		waitpid(pid, &st, 0);
		code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		ok(code == 3, "unreadable .cer: C_Initialize OK, a slot without a token");
	}
	api_sh("rm -rf '%s'", d);
}

/* ----------------------------------------- files that change under us */

static void test_vanish(void)
{
	const char *dir = api_tmpdir();
	char c[1300], k[1300], d[1200];
	CK_SESSION_HANDLE s;

	tap_diag("---- files that vanish or change between C_Initialize and C_Login");
	snprintf(c, sizeof c, "%s/v.cer", dir);
	snprintf(k, sizeof k, "%s/v.key", dir);
	api_copy_file(fiel.cer, c);
	api_copy_file(fiel.key, k);
	is_ul(init_one(c, k), CKR_OK, "C_Initialize");
	if (!is_ul(api_open(only_slot(), false, &s), CKR_OK, "session"))
		goto out;
	unlink(k);
	is_ul(api_login(s, fiel.pin), CKR_DEVICE_ERROR, ".key deleted: C_Login -> CKR_DEVICE_ERROR");
	api_copy_file(csd.key, k);
	is_ul(api_login(s, csd.pin), CKR_DEVICE_ERROR,
	      ".key replaced by another certificate's: C_Login -> CKR_DEVICE_ERROR");
	/* The same key under another password. */
	ok(api_sh("openssl pkcs8 -inform DER -in '%s' -passin pass:%s | openssl pkcs8 -topk8 "
		  "-outform DER -v2 des3 -v2prf hmacWithSHA1 -iter 2048 -passout pass:cambiada-1 "
		  "-out '%s' 2>/dev/null", fiel.key, fiel.pin, k) == 0, "key re-encrypted");
	is_ul(api_login(s, fiel.pin), CKR_PIN_INCORRECT,
	      ".key re-encrypted meanwhile: the old password -> CKR_PIN_INCORRECT");
	is_ul(api_login(s, "cambiada-1"), CKR_OK, "... the new one -> CKR_OK");
	ok(sign_and_verify(s, fiel.cer, CKM_SHA256_RSA_PKCS, 256), "... and it signs");
	P->C_Logout(s);
	/* The same certificate copied again is the same token: the session
	 * and its login stay.  The copy replaces the file in one rename (a
	 * new file, the same bytes): a .cer deleted first would take the
	 * token away if the module's thread looked in between, which under
	 * valgrind it sometimes does. */
	api_copy_file(fiel.key, k);
	is_ul(api_login(s, fiel.pin), CKR_OK, "... logged in again");
	char again[1310];
	snprintf(again, sizeof again, "%s.again", c);
	api_copy_file(fiel.cer, again);
	ok(rename(again, c) == 0, ".cer copied again (a new file over the old one)");
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO si;
	is_ul(P->C_GetTokenInfo(only_slot(), &ti), CKR_OK, ".cer copied again: the token stays");
	ok(P->C_GetSessionInfo(s, &si) == CKR_OK && si.state == CKS_RO_USER_FUNCTIONS,
	   ".cer copied again: the session stays logged in");
	/* The certificate goes away: the bundle's slot stays, without a
	 * token; its sessions are closed and the key wiped
	 * (tests/api/test-api-hotplug follows the details). */
	unlink(c);
	is_ul(P->C_GetTokenInfo(only_slot(), &ti), CKR_TOKEN_NOT_PRESENT,
	      ".cer deleted: C_GetTokenInfo -> CKR_TOKEN_NOT_PRESENT");
	is_ul(P->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID,
	      ".cer deleted: its session is closed");
	api_copy_file(fiel.cer, c);
	is_ul(api_open(only_slot(), false, &s), CKR_OK, ".cer restored: the token is back");
	is_ul(api_login(s, fiel.pin), CKR_OK, ".cer restored: C_Login works");
	ok(sign_and_verify(s, fiel.cer, CKM_SHA256_RSA_PKCS, 256), "... and signs");
out:
	api_finalize();

	/* In a scanned folder: a changed .cer is a changed token, and a
	 * vanished one takes its sessions away. */
	snprintf(d, sizeof d, "%s/scan", dir);
	mkdir(d, 0700);
	snprintf(c, sizeof c, "%s/x.cer", d);
	snprintf(k, sizeof k, "%s/x.key", d);
	api_copy_file(fiel.cer, c);
	api_copy_file(fiel.key, k);
	char conf[1300], label[40];
	CK_ULONG n;
	snprintf(conf, sizeof conf, "dir=%s empty-slots=0", d);
	is_ul(api_init(conf), CKR_OK, "folder: C_Initialize");
	CK_SLOT_ID slot = only_slot();
	if (!is_ul(api_open(slot, false, &s), CKR_OK, "folder: session"))
		goto out2;
	api_copy_file(csd.cer, c);
	api_copy_file(csd.key, k);
	/* Another inode size and time: make sure the change is visible. */
	struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	utimes(c, tv);
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "folder: rescan after the .cer changed");
	P->C_GetTokenInfo(slot, &ti);
	api_field(ti.label, sizeof ti.label, label, sizeof label);
	is_str(label, "CSD EKU9003173C9", "the slot now shows the new certificate");
	is_ul(P->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID,
	      "the old session is closed: to the application the token was replaced");
	if (api_open(slot, false, &s) == CKR_OK) {
		is_ul(api_login(s, csd.pin), CKR_OK, "the new bundle logs in");
		ok(sign_and_verify(s, csd.cer, CKM_SHA256_RSA_PKCS, 256), "... and signs");
	}
	unlink(c);
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "folder: rescan after the .cer vanished");
	is_ul(P->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID,
	      "the vanished token's session is closed");
	is_ul(P->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT, "its slot has no token");
	/* The whole folder goes (UBSan once caught bsearch(NULL) here). */
	api_copy_file(fiel.cer, c);
	P->C_GetSlotList(CK_FALSE, NULL, &n);
	api_sh("rm -rf '%s'", d);
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "folder removed: the rescan answers CKR_OK");
	is_ul(P->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT, "... and the slot has no token");
out2:
	api_finalize();
}

/* ---------------------------------------------- configuration errors */

static void test_config_errors(void)
{
	const char *dir = api_tmpdir();
	char path[1200], err[1200], conf[1300];
	tap_diag("---- a configuration file with errors");
	snprintf(path, sizeof path, "%s/errors.conf", dir);
	snprintf(err, sizeof err, "%s/stderr.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		ok(0, "config written");
		return;
	}
	fprintf(f, "# line 1\n[bundle]\ncert = %s\nkey %s\n[bundle]\ncert = %s\nkey = %s\n"
		"[nonsense\npath = x\n[ca]\npath = \"unterminated\n", csd.cer, csd.key,
		fiel.cer, fiel.key);
	fclose(f);
	snprintf(conf, sizeof conf, "conf=%s", path);
	fflush(stderr);
	int saved = dup(2), fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	CK_RV rv = api_init(conf);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	is_ul(rv, CKR_OK, "C_Initialize with a configuration that has errors");
	size_t len = 0;
	char *text = (char *)api_read_file(err, &len);
	char want[1300];
	snprintf(want, sizeof want, "%s:4:", path);
	ok(text && strstr(text, want) && strstr(text, "expected 'key = value'"),
	   "stderr names the file and line 4 (the line without '=')");
	snprintf(want, sizeof want, "%s:8:", path);
	ok(text && strstr(text, want), "stderr names line 8 (the unclosed section)");
	snprintf(want, sizeof want, "%s:11:", path);
	ok(text && strstr(text, want), "stderr names line 11 (the unterminated quote)");
	snprintf(want, sizeof want, "%s:2:", path);
	ok(text && strstr(text, want), "stderr names line 2 (the bundle left without a key)");
	if (text)
		tap_diag("stderr: %s", text);
	free(text);
	CK_ULONG all, present;
	count_slots(&all, &present);
	is_ul(present, 1, "the valid bundle still loads");
	CK_SLOT_ID slot;
	is_ul(api_find_slot("e.firma CACX7605101P8", &slot), CKR_OK, "... it is the e.firma");
	api_finalize();
}

int main(void)
{
	api_setup_env();
	tap_alarm("test-bad-input", 600);
	if (!ok(api_load(), "module loads") ||
	    !ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel) &&
		api_sat_bundle("csd-pm-EKU9003173C9-2023", &csd), "SAT bundles"))
		return tap_done();
	fiel_cer = api_read_file(fiel.cer, &fiel_cer_len);
	fiel_key = api_read_file(fiel.key, &fiel_key_len);
	if (!ok(fiel_cer && fiel_key, "bundle files read"))
		return tap_done();
	TAP_PART(test_truncated());
	TAP_PART(test_garbage());
	TAP_PART(test_key_types());
	TAP_PART(test_thousand());
	TAP_PART(test_links_fifos());
	tap_alarm("test-bad-input", 600);
	TAP_PART(test_unreadable());
	TAP_PART(test_vanish());
	TAP_PART(test_config_errors());
	free(fiel_cer);
	free(fiel_key);
	return tap_done();
}
