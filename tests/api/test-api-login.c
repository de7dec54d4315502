/*
 * test-api-login.c - login state and password handling, black-box through
 * the function list:
 *   - C_Login: the SAT password, wrong password (CKR_PIN_INCORRECT), user
 *     types (CKU_SO has no PIN here, invalid types), double login, login
 *     state shared by every session of the token, session states,
 *     C_Logout twice, closing the last session (C_CloseSession and
 *     C_CloseAllSessions) logs out;
 *   - non-ASCII passwords: keys encrypted with Windows-1252 bytes log in
 *     with the UTF-8 PIN (generated bundles and SAT's keyonly-certifica
 *     vectors with a certificate made here for their key);
 *   - a .key that belongs to another certificate never logs in; in a
 *     [directory] where names do not pair, the matching key is found;
 *   - C_SetPIN: re-encrypts the .key (checked with the openssl CLI), fresh
 *     salt, SAT scheme, no stray files, wrong old PIN leaves the file
 *     byte-identical, R/O sessions refused;
 *   - in a folder whose keys are guessed, a password that opens another
 *     certificate's key is CKR_PIN_INCORRECT, as any wrong password;
 *   - where the spec fixes the answer: private handles stay invalid after
 *     C_Logout and a new login, CKU_CONTEXT_SPECIFIC without an operation,
 *     NULL arguments before capability checks, CKF_USER_PIN_COUNT_LOW;
 *   - C_InitToken / C_InitPIN refused; C_LoginUser from the 3.0 list;
 *   - fork(): the child sees CKR_CRYPTOKI_NOT_INITIALIZED, C_Initialize then
 *     succeeds and the token wants the password again; the parent stays
 *     logged in.
 * Signatures made after login are verified with OpenSSL against the .cer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "../tap.h"
#include "api-util.h"

static CK_STATE state_of(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO i;
	if (P->C_GetSessionInfo(s, &i) != CKR_OK)
		return (CK_STATE)-1;
	return i.state;
}

static bool priv_visible(CK_SESSION_HANDLE s)
{
	CK_ULONG n = api_find_class(s, CKO_PRIVATE_KEY, NULL, 0);
	return n != (CK_ULONG)-1 && n > 0;
}

/* Signs with the token's key and checks it with OpenSSL against the .cer:
 * proof that the right key was decrypted. */
static bool sign_verifies(CK_SESSION_HANDLE s, const char *cer)
{
	CK_OBJECT_HANDLE k = api_one(s, CKO_PRIVATE_KEY);
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG sl = sizeof sig;
	const char msg[] = "firma de prueba";
	EVP_PKEY *pub = api_cert_pubkey(cer);
	bool r = k != CK_INVALID_HANDLE && pub && P->C_SignInit(s, &m, k) == CKR_OK &&
		 P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &sl) == CKR_OK &&
		 api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, sl);
	EVP_PKEY_free(pub);
	return r;
}

/* ------------------------------------------------------------ basics */

static void test_basic(const struct api_bundle *b)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE ro, rw, s3, s4;
	CK_RV rv;
	CK_SESSION_INFO si;

	tap_diag("---- login basics on %s", b->name);
	if (!is_ul(api_init_bundle(b), CKR_OK, "C_Initialize") ||
	    !is_ul(api_first_token_slot(&slot), CKR_OK, "token present"))
		goto out;
	is_ul(P->C_OpenSession(slot, CKF_RW_SESSION, NULL, NULL, &rw), CKR_SESSION_PARALLEL_NOT_SUPPORTED,
	      "C_OpenSession without CKF_SERIAL_SESSION -> CKR_SESSION_PARALLEL_NOT_SUPPORTED");
	is_ul(P->C_OpenSession(0xdead, CKF_SERIAL_SESSION, NULL, NULL, &rw), CKR_SLOT_ID_INVALID,
	      "C_OpenSession(bad slot) -> CKR_SLOT_ID_INVALID");
	if (!is_ul(api_open(slot, true, &rw), CKR_OK, "R/W session opened"))
		goto out;
	is_ul(state_of(rw), CKS_RW_PUBLIC_SESSION, "R/W session: CKS_RW_PUBLIC_SESSION");

	/* No SO PIN exists on this token: only a refusal makes sense. */
	rv = P->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin));
	ok(rv == CKR_PIN_INCORRECT || rv == CKR_USER_TYPE_INVALID,
	   "C_Login(CKU_SO) -> CKR_PIN_INCORRECT or CKR_USER_TYPE_INVALID: %s", ef_rv_name(rv));
	if (rv == CKR_OK)
		P->C_Logout(rw);
	rv = P->C_Login(rw, 7, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin));
	is_ul(rv, CKR_USER_TYPE_INVALID, "C_Login(user type 7) -> CKR_USER_TYPE_INVALID");

	if (!is_ul(api_open(slot, false, &ro), CKR_OK, "R/O session opened"))
		goto out;
	is_ul(P->C_GetSessionInfo(ro, &si), CKR_OK, "C_GetSessionInfo");
	ok(si.slotID == slot && si.state == CKS_RO_PUBLIC_SESSION && (si.flags & CKF_SERIAL_SESSION) &&
	   !(si.flags & CKF_RW_SESSION), "R/O session info: slot, CKS_RO_PUBLIC_SESSION, flags");
	is_ul(P->C_GetSessionInfo(ro, NULL), CKR_ARGUMENTS_BAD, "C_GetSessionInfo(NULL) -> CKR_ARGUMENTS_BAD");

	is_ul(api_login(ro, "87654321b"), CKR_PIN_INCORRECT, "wrong password -> CKR_PIN_INCORRECT");
	is_ul(api_login(ro, "12345678A"), CKR_PIN_INCORRECT, "password case matters -> CKR_PIN_INCORRECT");
	rv = P->C_Login(ro, CKU_USER, (CK_UTF8CHAR_PTR)"", 0);
	ok(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE,
	   "empty password -> CKR_PIN_INCORRECT or CKR_PIN_LEN_RANGE: %s", ef_rv_name(rv));
	is_ul(P->C_Login(ro, CKU_USER, NULL, 9), CKR_ARGUMENTS_BAD, "NULL password -> CKR_ARGUMENTS_BAD");
	is_ul(state_of(ro), CKS_RO_PUBLIC_SESSION, "still public after failed logins");
	ok(!priv_visible(ro), "no private key after failed logins");
	is_ul(P->C_Logout(ro), CKR_USER_NOT_LOGGED_IN, "C_Logout before login -> CKR_USER_NOT_LOGGED_IN");

	is_ul(api_login(ro, b->pin), CKR_OK, "C_Login with the SAT password");
	is_ul(state_of(ro), CKS_RO_USER_FUNCTIONS, "R/O session: CKS_RO_USER_FUNCTIONS");
	is_ul(state_of(rw), CKS_RW_USER_FUNCTIONS, "the other (R/W) session is logged in too");
	ok(priv_visible(rw), "private key visible in the other session");
	is_ul(api_login(rw, b->pin), CKR_USER_ALREADY_LOGGED_IN,
	      "second C_Login (other session) -> CKR_USER_ALREADY_LOGGED_IN");
	is_ul(api_login(ro, b->pin), CKR_USER_ALREADY_LOGGED_IN,
	      "second C_Login (same session) -> CKR_USER_ALREADY_LOGGED_IN");
	rv = P->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin));
	/* [PKCS#11 3.0 C_Login] another user type is logged in on the token */
	is_ul(rv, CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
	      "C_Login(CKU_SO) while the user is logged in refused: %s", ef_rv_name(rv));
	if (is_ul(api_open(slot, false, &s3), CKR_OK, "session opened after login"))
		is_ul(state_of(s3), CKS_RO_USER_FUNCTIONS, "... starts logged in");
	ok(sign_verifies(s3, b->cer), "signature in that session verifies with OpenSSL");

	is_ul(P->C_Logout(s3), CKR_OK, "C_Logout (from a third session)");
	is_ul(state_of(ro), CKS_RO_PUBLIC_SESSION, "every session is public again");
	is_ul(state_of(rw), CKS_RW_PUBLIC_SESSION, "... the R/W one too");
	ok(!priv_visible(rw), "private key gone after logout");
	is_ul(P->C_Logout(rw), CKR_USER_NOT_LOGGED_IN, "second C_Logout -> CKR_USER_NOT_LOGGED_IN");

	/* closing the last session logs out */
	is_ul(api_login(rw, b->pin), CKR_OK, "login again");
	is_ul(P->C_CloseSession(ro), CKR_OK, "C_CloseSession");
	is_ul(P->C_CloseSession(ro), CKR_SESSION_HANDLE_INVALID, "C_CloseSession twice -> CKR_SESSION_HANDLE_INVALID");
	is_ul(state_of(rw), CKS_RW_USER_FUNCTIONS, "still logged in while a session remains");
	P->C_CloseSession(s3);
	is_ul(P->C_CloseSession(rw), CKR_OK, "last session closed");
	if (is_ul(api_open(slot, false, &s4), CKR_OK, "new session")) {
		is_ul(state_of(s4), CKS_RO_PUBLIC_SESSION, "closing the last session logged out");
		ok(!priv_visible(s4), "... no private key in the new session");
		is_ul(api_login(s4, b->pin), CKR_OK, "login");
	}
	is_ul(P->C_CloseAllSessions(slot), CKR_OK, "C_CloseAllSessions");
	is_ul(state_of(s4), (CK_STATE)-1, "session handle dead after C_CloseAllSessions");
	if (is_ul(api_open(slot, false, &s4), CKR_OK, "new session")) {
		is_ul(state_of(s4), CKS_RO_PUBLIC_SESSION, "C_CloseAllSessions logged out");
		ok(!priv_visible(s4), "... no private key");
	}
	is_ul(P->C_CloseAllSessions(0xdead), CKR_SLOT_ID_INVALID, "C_CloseAllSessions(bad slot) -> CKR_SLOT_ID_INVALID");

	/* C_Finalize wipes the login state too */
	is_ul(api_login(s4, b->pin), CKR_OK, "login before C_Finalize");
	api_finalize();
	api_init_bundle(b);
	api_first_token_slot(&slot);
	if (api_open(slot, false, &s4) == CKR_OK)
		is_ul(state_of(s4), CKS_RO_PUBLIC_SESSION, "after C_Finalize + C_Initialize the token is logged out");
out:
	api_finalize();
}

/* ------------------------------------------------------- non-ASCII PINs */

static void login_case(const struct api_bundle *b, const char *pin, size_t pinlen, CK_RV want,
		       const char *what)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	if (!is_ul(api_init_bundle(b), CKR_OK, "%s: C_Initialize", what))
		return;
	if (api_first_token_slot(&slot) == CKR_OK && api_open(slot, false, &s) == CKR_OK) {
		CK_RV rv = P->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, pinlen);
		is_ul(rv, want, "%s: C_Login -> %s", what, ef_rv_name(want));
		if (rv == CKR_OK)
			ok(sign_verifies(s, b->cer), "%s: signature verifies with OpenSSL", what);
	} else {
		ok(0, "%s: token and session", what);
	}
	api_finalize();
}

static void test_nonascii(void)
{
	const char *dir = api_tmpdir();
	struct api_bundle b;
	/* "Contraseña1" */
	static const char cp1252[] = "Contrase\xf1" "a1";
	static const char utf8[] = "Contrase\xc3\xb1" "a1";

	tap_diag("---- non-ASCII passwords");
	if (!dir)
		return;
	if (ok(api_gen_bundle(dir, "cp1252", "PRUEBA CP MIL DOSCIENTOS", "PRCP800101AB1",
			      "30001000000999908001", false, cp1252, strlen(cp1252), &b),
	       "generated bundle, .key encrypted with the Windows-1252 bytes")) {
		login_case(&b, utf8, strlen(utf8), CKR_OK, "cp1252 key, UTF-8 PIN");
		login_case(&b, cp1252, strlen(cp1252), CKR_OK, "cp1252 key, cp1252 PIN bytes");
		login_case(&b, "Contrasena1", 11, CKR_PIN_INCORRECT, "cp1252 key, ASCII look-alike");
	}
	if (ok(api_gen_bundle(dir, "utf8", "PRUEBA UTF OCHO", "PRUT800101AB1", "30001000000999908002",
			      false, utf8, strlen(utf8), &b),
	       "generated bundle, .key encrypted with the UTF-8 bytes"))
		login_case(&b, utf8, strlen(utf8), CKR_OK, "UTF-8 key, UTF-8 PIN");

	/* SAT's Certifica vectors: keys without a certificate; one is made
	 * here for each key's public half. */
	static const struct {
		const char *key, *pass_cp1252, *pass_utf8;
	} kv[] = {
		{ "csd_HAN930228SM9_certifica.key", "csd_HAN930228SM9_certifica.password.cp1252.bin",
		  "csd_HAN930228SM9_certifica.password.utf8.txt" },
		{ "fiel_IANL750210963_certifica.key", "fiel_IANL750210963_certifica.password.cp1252.bin",
		  "fiel_IANL750210963_certifica.password.utf8.txt" },
		{ "fiel_HAN930228SM9_certifica_1290bytes.key",
		  "fiel_HAN930228SM9_certifica_1290bytes.password.txt",
		  "fiel_HAN930228SM9_certifica_1290bytes.password.txt" },
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		char path[4096], name[32];
		size_t cl = 0, ul = 0;
		snprintf(path, sizeof path, "keyonly-certifica-2022-nonascii-password/%s", kv[i].pass_cp1252);
		unsigned char *cp = api_read_file(api_sat(path), &cl);
		snprintf(path, sizeof path, "keyonly-certifica-2022-nonascii-password/%s", kv[i].pass_utf8);
		unsigned char *u8 = api_read_file(api_sat(path), &ul);
		while (ul && (u8[ul - 1] == '\n' || u8[ul - 1] == '\r'))
			ul--;
		while (cl && (cp[cl - 1] == '\n' || cp[cl - 1] == '\r'))
			cl--;
		snprintf(path, sizeof path, "keyonly-certifica-2022-nonascii-password/%s", kv[i].key);
		snprintf(name, sizeof name, "certifica%zu", i);
		if (ok(cp && u8 && api_gen_cert_for_key(dir, name, api_sat(path), cp, cl, &b),
		       "certificate made for %s", kv[i].key)) {
			char what[160];
			snprintf(what, sizeof what, "%s with the UTF-8 PIN", kv[i].key);
			login_case(&b, (char *)u8, ul, CKR_OK, what);
			snprintf(what, sizeof what, "%s with a wrong PIN", kv[i].key);
			login_case(&b, "Test&n200!", 10, CKR_PIN_INCORRECT, what);
		}
		free(cp);
		free(u8);
	}
}

/* ------------------------------------------------ mismatched key + cert */

static void test_wrong_pair(void)
{
	struct api_bundle a, f, w;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;

	tap_diag("---- key of another certificate");
	if (!api_sat_bundle("fiel-pf-CACX7605101P8-2023", &a) ||
	    !api_sat_bundle("fiel-pf-FUNK671228PH6-2023", &f))
		return;
	w = a;
	memcpy(w.key, f.key, sizeof w.key);
	if (!is_ul(api_init_bundle(&w), CKR_OK, "C_Initialize with CACX .cer + FUNK .key"))
		return;
	if (is_ul(api_first_token_slot(&slot), CKR_OK, "token present (the pair is checked at login)") &&
	    is_ul(api_open(slot, false, &s), CKR_OK, "session")) {
		CK_RV rv = api_login(s, API_PIN);
		/* the password opened a key, but not this certificate's: the
		 * token is broken, not the user's typing */
		is_ul(rv, CKR_DEVICE_ERROR,
		      "login with the right password but a foreign key fails: %s", ef_rv_name(rv));
		ok(rv != CKR_PIN_INCORRECT,
		   "... and not with CKR_PIN_INCORRECT (the password was right): %s", ef_rv_name(rv));
		ok(!priv_visible(s), "... no private key visible");
		is_ul(state_of(s), CKS_RO_PUBLIC_SESSION, "... session stays public");
	}
	api_finalize();

	/* A directory whose names do not pair: the key is found at login. */
	const char *dir = api_tmpdir();
	char p1[4096], p2[4096], p3[4096], conf[4200];
	snprintf(p1, sizeof p1, "%s/certificado.cer", dir);
	snprintf(p2, sizeof p2, "%s/llave-vieja.key", dir);
	snprintf(p3, sizeof p3, "%s/llave-nueva.key", dir);
	ok(api_copy_file(a.cer, p1) && api_copy_file(f.key, p2) && api_copy_file(a.key, p3),
	   "directory: one .cer and two .key files with unrelated names");
	snprintf(conf, sizeof conf, "dir=%s", dir);
	if (!is_ul(api_init(conf), CKR_OK, "C_Initialize(dir=)"))
		return;
	if (is_ul(api_find_slot("e.firma CACX7605101P8", &slot), CKR_OK, "token for the certificate") &&
	    is_ul(api_open(slot, false, &s), CKR_OK, "session")) {
		is_ul(api_login(s, API_PIN), CKR_OK, "login finds the matching key among the candidates");
		ok(sign_verifies(s, a.cer), "signature with the found key verifies with OpenSSL");
	}
	api_finalize();
}

/* A folder whose names pair nothing: each certificate's candidates are
 * every key.  A guess at token A's password that opens B's key must look
 * exactly like a wrong password, or it tells the guesser B's password. */
static void test_cross_token_oracle(void)
{
	const char *gen = api_tmpdir(), *dir = api_tmpdir();
	struct api_bundle a, b, c;
	char p[4096], conf[4200];
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;

	tap_diag("---- another token's password on a guessed key");
	if (!gen || !dir ||
	    !ok(api_gen_bundle(gen, "a", "TITULAR A", "AAAA800101AA1", "30001000000500000011", false,
			       "Clave-de-A1", 11, &a) &&
		api_gen_bundle(gen, "b", "TITULAR B", "BBBB800101BB2", "30001000000500000012", false,
			       "Clave-de-B2", 11, &b) &&
		api_gen_bundle(gen, "c", "TITULAR C", "CCCC800101CC3", "30001000000500000013", false,
			       "Clave-de-C3", 11, &c),
		"three bundles generated"))
		return;
	/* Two certificates with unrelated names; beside them, A's key under
	 * a name carrying A's RFC and B's key under a name that carries none
	 * (it is only reached by trying the rest of the folder). */
	snprintf(p, sizeof p, "%s/00001000000500000011.cer", dir);
	ok(api_copy_file(a.cer, p), "A's certificate");
	snprintf(p, sizeof p, "%s/00001000000500000013.cer", dir);
	ok(api_copy_file(c.cer, p), "C's certificate");
	snprintf(p, sizeof p, "%s/Claveprivada_FIEL_AAAA800101AA1.key", dir);
	ok(api_copy_file(a.key, p), "A's key, named after A's RFC");
	snprintf(p, sizeof p, "%s/llave.key", dir);
	ok(api_copy_file(b.key, p), "B's key, named after nobody");
	snprintf(p, sizeof p, "%s/otra.key", dir);
	ok(api_copy_file(c.key, p), "C's key, named after nobody");
	snprintf(conf, sizeof conf, "dir=%s", dir);
	if (!is_ul(api_init(conf), CKR_OK, "C_Initialize(dir=)"))
		return;
	if (is_ul(api_find_slot("e.firma CCCC800101CC3", &slot), CKR_OK, "C's token") &&
	    is_ul(api_open(slot, false, &s), CKR_OK, "session")) {
		is_ul(api_login(s, "Clave-equivocada"), CKR_PIN_INCORRECT, "C: a wrong password -> CKR_PIN_INCORRECT");
		is_ul(api_login(s, b.pin), CKR_PIN_INCORRECT,
		      "C: B's password, which opens B's key among C's candidates -> CKR_PIN_INCORRECT");
		is_ul(state_of(s), CKS_RO_PUBLIC_SESSION, "... not logged in");
		is_ul(api_login(s, c.pin), CKR_OK, "C: its own password logs in");
		ok(sign_verifies(s, c.cer), "... with C's key (verified with OpenSSL)");
	}
	if (is_ul(api_find_slot("e.firma AAAA800101AA1", &slot), CKR_OK, "A's token") &&
	    is_ul(api_open(slot, false, &s), CKR_OK, "session")) {
		is_ul(api_login(s, b.pin), CKR_PIN_INCORRECT,
		      "A: B's password, which opens B's key in the rest of the folder -> CKR_PIN_INCORRECT");
		is_ul(api_login(s, a.pin), CKR_OK, "A: its own password logs in");
	}
	api_finalize();
}

/* ------------------------------------------------- where the spec decides */

static CK_FLAGS token_flags(CK_SLOT_ID slot)
{
	CK_TOKEN_INFO ti;
	return P->C_GetTokenInfo(slot, &ti) == CKR_OK ? ti.flags : 0;
}

static void test_spec_answers(const struct api_bundle *b)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof cls };
	const char msg[] = "x";
	unsigned char sig[512];
	CK_ULONG sl = sizeof sig;

	tap_diag("---- answers the spec fixes");
	if (!is_ul(api_init_bundle(b), CKR_OK, "C_Initialize") ||
	    !is_ul(api_first_token_slot(&slot), CKR_OK, "token") ||
	    !is_ul(api_open(slot, true, &s), CKR_OK, "R/W session"))
		goto out;

	/* [PKCS#11 2.40 C_Logout] handles to private objects obtained
	 * before the logout stay invalid, even after a new login. */
	is_ul(api_login(s, b->pin), CKR_OK, "login");
	CK_OBJECT_HANDLE old = api_one(s, CKO_PRIVATE_KEY);
	is_ul(P->C_Logout(s), CKR_OK, "logout");
	is_ul(api_login(s, b->pin), CKR_OK, "login again");
	CK_OBJECT_HANDLE now = api_one(s, CKO_PRIVATE_KEY);
	ok(now != CK_INVALID_HANDLE, "the private key is found again");
	is_ul(P->C_GetAttributeValue(s, old, &a, 1), CKR_OBJECT_HANDLE_INVALID,
	      "the handle from before the logout -> CKR_OBJECT_HANDLE_INVALID");
	is_ul(P->C_SignInit(s, &m, old), CKR_KEY_HANDLE_INVALID,
	      "C_SignInit with it -> CKR_KEY_HANDLE_INVALID");
	is_ul(P->C_GetAttributeValue(s, now, &a, 1), CKR_OK, "the new handle works");
	is_ul(cls, CKO_PRIVATE_KEY, "... it is the private key");

	/* [PKCS#11 3.0 C_Login] CKU_CONTEXT_SPECIFIC belongs to an operation
	 * that needs the PIN again. */
	is_ul(P->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin)),
	      CKR_OPERATION_NOT_INITIALIZED, "CKU_CONTEXT_SPECIFIC with no operation -> CKR_OPERATION_NOT_INITIALIZED");
	if (is_ul(P->C_SignInit(s, &m, now), CKR_OK, "C_SignInit")) {
		is_ul(P->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin)),
		      CKR_OK, "CKU_CONTEXT_SPECIFIC during a signature -> CKR_OK");
		is_ul(P->C_Sign(s, (CK_BYTE_PTR)msg, 1, sig, &sl), CKR_OK, "... and the signature goes on");
	}

	/* Arguments are checked before what the token can do. */
	CK_OBJECT_HANDLE cert = api_leaf_cert(s);
	is_ul(P->C_SetAttributeValue(s, cert, NULL, 1), CKR_ARGUMENTS_BAD,
	      "C_SetAttributeValue(NULL template, 1) -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_SeedRandom(s, NULL, 1), CKR_ARGUMENTS_BAD, "C_SeedRandom(NULL, 1) -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_Logout(s), CKR_OK, "logout");
	is_ul(P->C_Login(s, CKU_USER, NULL, 0), CKR_ARGUMENTS_BAD,
	      "C_Login(NULL PIN, 0): no protected path -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_SetPIN(s, NULL, 0, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin)), CKR_ARGUMENTS_BAD,
	      "C_SetPIN(NULL old PIN, 0) -> CKR_ARGUMENTS_BAD");

	/* [PKCS#11 3.0 CK_TOKEN_INFO] CKF_USER_PIN_COUNT_LOW: a wrong PIN
	 * since the last successful authentication. */
	ok(!(token_flags(slot) & CKF_USER_PIN_COUNT_LOW), "CKF_USER_PIN_COUNT_LOW clear at first");
	is_ul(api_login(s, "Clave-equivocada"), CKR_PIN_INCORRECT, "a wrong password");
	ok(token_flags(slot) & CKF_USER_PIN_COUNT_LOW, "... sets CKF_USER_PIN_COUNT_LOW");
	is_ul(api_login(s, b->pin), CKR_OK, "the right one");
	ok(!(token_flags(slot) & CKF_USER_PIN_COUNT_LOW), "... clears it");
out:
	api_finalize();
}

/* --------------------------------------------------------------- SetPIN */

struct pbes2_facts {
	unsigned char salt[64];
	int saltlen;
	long iter;
	int kdf_nid, cipher_nid, prf_nid;
};

static bool read_pbes2(const char *path, struct pbes2_facts *f)
{
	size_t n;
	unsigned char *b = api_read_file(path, &n);
	const unsigned char *p = b;
	X509_SIG *sig = b ? d2i_X509_SIG(NULL, &p, (long)n) : NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *dig = NULL;
	const ASN1_OBJECT *oid;
	int ptype;
	const void *pval;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	bool r = false;

	memset(f, 0, sizeof *f);
	if (!sig)
		goto out;
	X509_SIG_get0(sig, &alg, &dig);
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (OBJ_obj2nid(oid) != NID_pbes2 || ptype != V_ASN1_SEQUENCE)
		goto out;
	pbe2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
	if (!pbe2)
		goto out;
	X509_ALGOR_get0(&oid, &ptype, &pval, pbe2->keyfunc);
	f->kdf_nid = OBJ_obj2nid(oid);
	if (f->kdf_nid != NID_id_pbkdf2 || ptype != V_ASN1_SEQUENCE)
		goto out;
	kdf = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBKDF2PARAM));
	if (!kdf || kdf->salt->type != V_ASN1_OCTET_STRING)
		goto out;
	f->saltlen = kdf->salt->value.octet_string->length;
	if (f->saltlen > (int)sizeof f->salt)
		goto out;
	memcpy(f->salt, kdf->salt->value.octet_string->data, (size_t)f->saltlen);
	f->iter = ASN1_INTEGER_get(kdf->iter);
	f->prf_nid = kdf->prf ? OBJ_obj2nid(kdf->prf->algorithm) : NID_hmacWithSHA1;
	X509_ALGOR_get0(&oid, &ptype, &pval, pbe2->encryption);
	f->cipher_nid = OBJ_obj2nid(oid);
	r = true;
out:
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(sig);
	free(b);
	return r;
}

static int openssl_opens(const char *key, const char *pass)
{
	return api_sh("openssl pkcs8 -inform DER -in '%s' -passin 'pass:%s' -out /dev/null 2>/dev/null",
		      key, pass) == 0;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..")))
			n++;
	closedir(d);
	return n;
}

static void test_setpin(void)
{
	struct api_bundle a, b;
	const char *dir = api_tmpdir();
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE ro, rw;
	struct pbes2_facts before, after;
	const char *np = "Nuevo-Pa55";
	const char *np2 = "contrase\xc3\xb1" "a";
	CK_RV rv;

	tap_diag("---- C_SetPIN");
	if (!dir || !api_sat_bundle("fiel-pf-CACX7605101P8-2023", &a))
		return;
	b = a;
	snprintf(b.cer, sizeof b.cer, "%s/CACX7605101P8_fiel.cer", dir);
	snprintf(b.key, sizeof b.key, "%s/CACX7605101P8_fiel.key", dir);
	if (!ok(api_copy_file(a.cer, b.cer) && api_copy_file(a.key, b.key), "bundle copied to a temp dir"))
		return;
	ok(read_pbes2(b.key, &before), "original .key parsed (PBES2)");
	size_t l0;
	unsigned char *orig = api_read_file(b.key, &l0);

	if (!is_ul(api_init_bundle(&b), CKR_OK, "C_Initialize") || api_first_token_slot(&slot) != CKR_OK)
		goto out;
	api_open(slot, false, &ro);
	api_open(slot, true, &rw);
	is_ul(P->C_SetPIN(ro, (CK_UTF8CHAR_PTR)API_PIN, 9, (CK_UTF8CHAR_PTR)np, strlen(np)),
	      CKR_SESSION_READ_ONLY, "C_SetPIN in a R/O session -> CKR_SESSION_READ_ONLY");
	is_ul(P->C_SetPIN(rw, (CK_UTF8CHAR_PTR)"equivocada", 10, (CK_UTF8CHAR_PTR)np, strlen(np)),
	      CKR_PIN_INCORRECT, "C_SetPIN with a wrong old PIN -> CKR_PIN_INCORRECT");
	size_t l1;
	unsigned char *now = api_read_file(b.key, &l1);
	ok(now && orig && l0 == l1 && memcmp(orig, now, l0) == 0, "... the .key is byte-identical");
	free(now);
	ok(count_files(dir) == 2, "... and no stray file in the folder");

	rv = P->C_SetPIN(rw, (CK_UTF8CHAR_PTR)API_PIN, 9, (CK_UTF8CHAR_PTR)np, strlen(np));
	is_ul(rv, CKR_OK, "C_SetPIN(old, new) in a R/W public session");
	ok(openssl_opens(b.key, np), "openssl pkcs8 opens the .key with the new password");
	ok(!openssl_opens(b.key, API_PIN), "openssl pkcs8 no longer opens it with the old one");
	ok(read_pbes2(b.key, &after), "new .key is PBES2 (DER EncryptedPrivateKeyInfo)");
	ok(after.saltlen != before.saltlen || memcmp(after.salt, before.salt, (size_t)after.saltlen) != 0,
	   "... with a different salt");
	ok(after.saltlen >= 8, "... salt of %d bytes", after.saltlen);
	ok(after.kdf_nid == NID_id_pbkdf2 && after.cipher_nid == NID_des_ede3_cbc &&
	   after.prf_nid == NID_hmacWithSHA1 && after.iter >= 2048,
	   "... SAT's scheme: PBKDF2/hmacWithSHA1, des-ede3-cbc, %ld iterations", after.iter);
	is_ul(count_files(dir), 2, "no stray file left after the replacement");

	is_ul(api_login(rw, API_PIN), CKR_PIN_INCORRECT, "login with the old password -> CKR_PIN_INCORRECT");
	is_ul(api_login(rw, np), CKR_OK, "login with the new password");
	ok(sign_verifies(rw, b.cer), "the re-encrypted key signs (verified with OpenSSL)");

	/* logged in: C_SetPIN changes the logged-in user's PIN */
	rv = P->C_SetPIN(rw, (CK_UTF8CHAR_PTR)np, strlen(np), (CK_UTF8CHAR_PTR)np2, strlen(np2));
	is_ul(rv, CKR_OK, "C_SetPIN while logged in, to a non-ASCII password");
	ok(openssl_opens(b.key, np2), "openssl opens the .key with the UTF-8 bytes of the new password");
	P->C_Logout(rw);
	is_ul(api_login(rw, np), CKR_PIN_INCORRECT, "previous password refused");
	is_ul(api_login(rw, np2), CKR_OK, "non-ASCII password accepted");
	P->C_Logout(rw);
	P->C_CloseAllSessions(slot);
	api_finalize();

	/* a fresh process view: the file on disk is what counts */
	if (api_init_bundle(&b) == CKR_OK && api_first_token_slot(&slot) == CKR_OK &&
	    api_open(slot, false, &ro) == CKR_OK)
		is_ul(api_login(ro, np2), CKR_OK, "after C_Finalize/C_Initialize the new password works");
out:
	free(orig);
	api_finalize();
}

/* -------------------------------------------- InitToken, InitPIN, LoginUser */

static void test_init_and_loginuser(const struct api_bundle *b)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_UTF8CHAR label[32];
	CK_RV rv;

	tap_diag("---- C_InitToken, C_InitPIN, C_LoginUser");
	if (api_init_bundle(b) != CKR_OK || api_first_token_slot(&slot) != CKR_OK) {
		ok(0, "setup");
		return;
	}
	memset(label, ' ', sizeof label);
	memcpy(label, "borrado", 7);
	rv = P->C_InitToken(slot, (CK_UTF8CHAR_PTR)API_PIN, 9, label);
	/* a SAT e.firma is issued by SAT: the token cannot be initialized */
	is_ul(rv, CKR_FUNCTION_NOT_SUPPORTED, "C_InitToken refused: %s", ef_rv_name(rv));
	size_t l;
	unsigned char *k = api_read_file(b->key, &l);
	ok(k != NULL, "the .key is still there");
	free(k);

	api_open(slot, true, &s);
	rv = P->C_InitPIN(s, (CK_UTF8CHAR_PTR)"nuevo", 5);
	ok(rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_FUNCTION_NOT_SUPPORTED,
	   "C_InitPIN in a public session -> CKR_USER_NOT_LOGGED_IN or CKR_FUNCTION_NOT_SUPPORTED: %s",
	   ef_rv_name(rv));
	api_login(s, b->pin);
	rv = P->C_InitPIN(s, (CK_UTF8CHAR_PTR)"nuevo", 5);
	ok(rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_FUNCTION_NOT_SUPPORTED,
	   "C_InitPIN as the user (not SO) -> CKR_USER_NOT_LOGGED_IN or CKR_FUNCTION_NOT_SUPPORTED: %s",
	   ef_rv_name(rv));
	P->C_Logout(s);

	if (!ok(P3 != NULL && P3->C_LoginUser != NULL, "3.0 function list with C_LoginUser"))
		goto out;
	rv = P3->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR_PTR)"equivocada", 10, (CK_UTF8CHAR_PTR)"usuario", 7);
	is_ul(rv, CKR_PIN_INCORRECT, "C_LoginUser with a wrong password -> CKR_PIN_INCORRECT");
	rv = P3->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin),
			     (CK_UTF8CHAR_PTR)"usuario", 7);
	is_ul(rv, CKR_OK, "C_LoginUser(CKU_USER, password, username)");
	is_ul(state_of(s), CKS_RW_USER_FUNCTIONS, "... session logged in");
	ok(sign_verifies(s, b->cer), "... and signs (verified with OpenSSL)");
	rv = P3->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR_PTR)b->pin, strlen(b->pin),
			     (CK_UTF8CHAR_PTR)"usuario", 7);
	is_ul(rv, CKR_USER_ALREADY_LOGGED_IN, "second C_LoginUser -> CKR_USER_ALREADY_LOGGED_IN");
	is_ul(P3->C_Logout(s), CKR_OK, "C_Logout through the 3.0 list");
out:
	api_finalize();
}

/* ----------------------------------------------------------------- fork */

enum {
	F_NOT_INIT = 1 << 0,
	F_REINIT = 1 << 1,
	F_SESSION = 1 << 2,
	F_PUBLIC = 1 << 3,
	F_NOPRIV = 1 << 4,
	F_LOGIN = 1 << 5,
	F_SIGN = 1 << 6,
	F_OLD_SESSION = 1 << 7,
};

static void test_fork(const struct api_bundle *b)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;

	tap_diag("---- fork");
	if (api_init_bundle(b) != CKR_OK || api_first_token_slot(&slot) != CKR_OK ||
	    api_open(slot, false, &s) != CKR_OK || api_login(s, b->pin) != CKR_OK) {
		ok(0, "setup: logged in before fork");
		api_finalize();
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* The child reports through its exit status: a set bit is a
		 * failed check.  No TAP output from here. */
		int fail = 0;
		CK_ULONG n = 0;
		CK_SESSION_HANDLE cs;
		CK_SESSION_INFO si;
		CK_SLOT_ID cslot;
		if (P->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
			fail |= F_NOT_INIT;
		if (P->C_GetSessionInfo(s, &si) != CKR_CRYPTOKI_NOT_INITIALIZED)
			fail |= F_OLD_SESSION;
		if (api_init_bundle(b) != CKR_OK)
			fail |= F_REINIT;
		if (api_first_token_slot(&cslot) != CKR_OK || api_open(cslot, false, &cs) != CKR_OK) {
			fail |= F_SESSION | F_PUBLIC | F_NOPRIV | F_LOGIN | F_SIGN;
		} else {
			if (state_of(cs) != CKS_RO_PUBLIC_SESSION)
				fail |= F_PUBLIC;
			if (priv_visible(cs))
				fail |= F_NOPRIV;
			if (api_login(cs, b->pin) != CKR_OK)
				fail |= F_LOGIN;
			if (!sign_verifies(cs, b->cer))
				fail |= F_SIGN;
		}
		P->C_Finalize(NULL);
		fflush(stdout);
		_exit(fail);
	}
	int st = 0;
	ok(pid > 0 && waitpid(pid, &st, 0) == pid, "fork + wait");
	bool exited = WIFEXITED(st);
	int fail = exited ? WEXITSTATUS(st) : 0xff;
	ok(exited, "child exited normally (status 0x%x)", st);
	ok(!(fail & F_NOT_INIT), "child: C_GetSlotList -> CKR_CRYPTOKI_NOT_INITIALIZED");
	ok(!(fail & F_OLD_SESSION), "child: inherited session -> CKR_CRYPTOKI_NOT_INITIALIZED");
	ok(!(fail & F_REINIT), "child: C_Initialize succeeds");
	ok(!(fail & F_SESSION), "child: token and session");
	ok(!(fail & F_PUBLIC), "child: the token requires login again (public session)");
	ok(!(fail & F_NOPRIV), "child: no private key before login");
	ok(!(fail & F_LOGIN), "child: login works");
	ok(!(fail & F_SIGN), "child: signature verifies with OpenSSL");
	is_ul(state_of(s), CKS_RO_USER_FUNCTIONS, "parent: still logged in");
	ok(sign_verifies(s, b->cer), "parent: still signs (verified with OpenSSL)");
	api_finalize();
}

int main(void)
{
	struct api_bundle b;

	api_setup_env();
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b), "SAT bundle in %s", api_sat_dir()))
		return tap_done();
	TAP_PART(test_basic(&b));
	TAP_PART(test_nonascii());
	TAP_PART(test_wrong_pair());
	TAP_PART(test_cross_token_oracle());
	TAP_PART(test_spec_answers(&b));
	TAP_PART(test_setpin());
	TAP_PART(test_init_and_loginuser(&b));
	TAP_PART(test_fork(&b));
	return tap_done();
}
