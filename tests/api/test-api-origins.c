/*
 * test-api-origins.c - with EFIRMA_PKCS11_DEBUG=1, the trace line of a
 * failing C_* call names where the failure arose (file:line and function,
 * and OpenSSL's reason where there is one), and the trace never shows the
 * password.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "api-util.h"

#define WRONG_PIN "87654321b"

static char trace_path[4096];
static int saved_stderr = -1;

/* Sends stderr (where the trace goes) to a file until trace_end. */
static bool trace_begin(void)
{
	int fd;

	snprintf(trace_path, sizeof trace_path, "%s/trace.txt", api_tmpdir());
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved_stderr < 0 || fd < 0)
		return false;
	dup2(fd, 2);
	close(fd);
	return true;
}

/* Restores stderr; returns the trace (malloc'd, NUL-terminated). */
static char *trace_end(void)
{
	size_t len = 0;
	unsigned char *t;
	char *s;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	t = api_read_file(trace_path, &len);
	s = calloc(1, len + 1);
	if (s && t)
		memcpy(s, t, len);
	free(t);
	return s;
}

/* The trace line that starts with "efirma-pkcs11: <head>", copied into
 * line; false when there is none. */
static bool find_line(const char *trace, const char *head, char *line, size_t size)
{
	char want[256];
	const char *p;

	snprintf(want, sizeof want, "efirma-pkcs11: %s", head);
	for (p = trace; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, want, strlen(want)) == 0) {
			size_t n = strcspn(p, "\n");
			snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), p);
			return true;
		}
	}
	return false;
}

/* True when line names "FILE:LINE FUNC" with a line number. */
static bool names_site(const char *line, const char *file, const char *func)
{
	size_t flen = strlen(file);

	for (const char *p = strstr(line, file); p; p = strstr(p + 1, file)) {
		const char *q = p + flen;

		if (*q++ != ':' || !isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == ' ' && strncmp(q + 1, func, strlen(func)) == 0)
			return true;
	}
	return false;
}

/* A bundle whose .key is cut in half: C_Login -> CKR_DEVICE_ERROR, and
 * the trace says the key reader found no key there. */
/* C_Initialize with the bundle, a session on its token and, with a pin,
 * C_Login: the first code that is not CKR_OK, else C_Login's. */
static CK_RV session_on(const struct api_bundle *b, const char *pin, CK_SESSION_HANDLE *s)
{
	CK_SLOT_ID slot;
	CK_RV rv = api_init_bundle(b);

	if (rv == CKR_OK && (rv = api_first_token_slot(&slot)) == CKR_OK &&
	    (rv = api_open(slot, false, s)) == CKR_OK && pin != NULL)
		rv = api_login(*s, pin);
	return rv;
}

/* The trace's line that starts with head ("C_x -> CKR_y ("), asserted
 * as what; the whole trace shown when it is missing. */
static bool origin_line(const char *trace, const char *head, const char *what, char *line,
			size_t size)
{
	if (!ok(trace && find_line(trace, head, line, size), "%s", what)) {
		tap_diag("trace: %s", trace ? trace : "(none)");
		return false;
	}
	tap_diag("%s", line);
	return true;
}

static void test_truncated_key(const struct api_bundle *good)
{
	struct api_bundle b = *good;
	CK_SESSION_HANDLE s;
	unsigned char *key;
	size_t len;
	char line[2048];
	char *trace;

	snprintf(b.key, sizeof b.key, "%s/truncated.key", api_tmpdir());
	key = api_read_file(good->key, &len);
	if (!ok(key && api_write_file(b.key, key, len / 2), "truncated copy of the .key")) {
		free(key);
		return;
	}
	free(key);
	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	CK_RV rv = session_on(&b, b.pin, &s);
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_DEVICE_ERROR, "truncated .key: C_Login -> CKR_DEVICE_ERROR");
	if (!origin_line(trace, "C_Login -> CKR_DEVICE_ERROR (",
			 "the trace has the C_Login line with an origin", line, sizeof line)) {
		free(trace);
		return;
	}
	ok(names_site(line, "token.c", "open_one"), "it names token.c:LINE open_one (the key not read)");
	ok(names_site(line, "key_open.c", "open_plain") && strstr(line, "EF_R_NOT_A_KEY"),
	   "it names the root: key_open.c:LINE open_plain EF_R_NOT_A_KEY");
	ok(!strstr(trace, b.pin), "the password appears nowhere in the trace");
	free(trace);
}

/* A wrong password: C_Login -> CKR_PIN_INCORRECT, from the CBC
 * decryption, with the reason OpenSSL gave. */
static void test_wrong_password(const struct api_bundle *b)
{
	CK_SESSION_HANDLE s;
	char line[2048];
	char *trace;
	CK_RV rv;

	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = session_on(b, WRONG_PIN, &s);
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_PIN_INCORRECT, "wrong password: C_Login -> CKR_PIN_INCORRECT");
	if (!origin_line(trace, "C_Login -> CKR_PIN_INCORRECT (",
			 "the trace has the C_Login line with an origin", line, sizeof line)) {
		free(trace);
		return;
	}
	ok(names_site(line, "pbes2.c", "ef_cbc_decrypt"), "it names pbes2.c:LINE ef_cbc_decrypt");
	ok(strstr(line, "ef_cbc_decrypt: error:") != NULL, "with OpenSSL's reason");
	ok(!strstr(trace, WRONG_PIN) && !strstr(trace, b->pin),
	   "neither password appears in the trace");
	free(trace);
}

/* A PSS salt longer than the key can hold: C_SignInit ->
 * CKR_MECHANISM_PARAM_INVALID from the mechanism layer. */
static void test_pss_salt(const struct api_bundle *b)
{
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 4096 };
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof pss };
	CK_SESSION_HANDLE s;
	CK_RV rv;
	char line[2048];
	char *trace;

	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = session_on(b, b->pin, &s);
	if (rv == CKR_OK)
		rv = P->C_SignInit(s, &m, api_one(s, CKO_PRIVATE_KEY));
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_MECHANISM_PARAM_INVALID, "PSS salt of 4096 bytes: C_SignInit -> "
	      "CKR_MECHANISM_PARAM_INVALID");
	if (!origin_line(trace, "C_SignInit -> CKR_MECHANISM_PARAM_INVALID (",
			 "the trace has the C_SignInit line with an origin", line, sizeof line)) {
		free(trace);
		return;
	}
	ok(names_site(line, "mech.c", "pss_params"), "it names mech.c:LINE pss_params");
	ok(find_line(trace, "C_Login -> ", line, sizeof line) &&
	   strcmp(line, "efirma-pkcs11: C_Login -> CKR_OK") == 0,
	   "a call that succeeds shows no origin");
	ok(!strstr(trace, b->pin), "the password appears nowhere in the trace");
	free(trace);
}

/* The trace of one failing call: the line "C_x -> CKR_y (", checked to
 * name file:LINE func; false (with the trace shown) when it does not. */
static bool trace_names(const char *trace, const char *head, const char *file, const char *func)
{
	char line[2048], what[256];

	snprintf(what, sizeof what, "the trace has a line \"%s...\"", head);
	if (!origin_line(trace, head, what, line, sizeof line))
		return false;
	return ok(names_site(line, file, func), "it names %s:LINE %s", file, func);
}

/* A private key's secret part: C_GetAttributeValue ->
 * CKR_ATTRIBUTE_SENSITIVE, decided by the object layer. */
static void test_sensitive_attribute(const struct api_bundle *b)
{
	unsigned char buf[1024];
	CK_ATTRIBUTE a = { CKA_PRIVATE_EXPONENT, buf, sizeof buf };
	CK_SESSION_HANDLE s;
	char *trace;
	CK_RV rv;

	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = session_on(b, b->pin, &s);
	if (rv == CKR_OK)
		rv = P->C_GetAttributeValue(s, api_one(s, CKO_PRIVATE_KEY), &a, 1);
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_ATTRIBUTE_SENSITIVE, "CKA_PRIVATE_EXPONENT: C_GetAttributeValue -> "
	      "CKR_ATTRIBUTE_SENSITIVE");
	is_ul(a.ulValueLen, CK_UNAVAILABLE_INFORMATION, "... with CK_UNAVAILABLE_INFORMATION");
	trace_names(trace, "C_GetAttributeValue -> CKR_ATTRIBUTE_SENSITIVE (", "object.c",
		    "ef_object_get");
	ok(trace && !strstr(trace, b->pin), "the password appears nowhere in the trace");
	free(trace);
}

/* A session handle that was never opened: C_GetSessionInfo ->
 * CKR_SESSION_HANDLE_INVALID, from the session table's lookup. */
static void test_bad_session(const struct api_bundle *b)
{
	CK_SESSION_INFO info;
	CK_SESSION_HANDLE s;
	char *trace;
	CK_RV rv;

	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = session_on(b, NULL, &s);
	if (rv == CKR_OK)
		rv = P->C_GetSessionInfo(s + 1000, &info);
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_SESSION_HANDLE_INVALID, "handle never opened: C_GetSessionInfo -> "
	      "CKR_SESSION_HANDLE_INVALID");
	trace_names(trace, "C_GetSessionInfo -> CKR_SESSION_HANDLE_INVALID (", "session.c",
		    "ef_session_lookup_inlock");
	free(trace);
}

/* A [bundle] whose certificate is no certificate: its slot has no token,
 * and C_OpenSession there -> CKR_TOKEN_NOT_PRESENT, from the entry
 * layer's lookup (not from the parse that failed at C_Initialize). */
static void test_no_token(const struct api_bundle *good)
{
	struct api_bundle b = *good;
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_SESSION_HANDLE s;
	char line[2048];
	char *trace;
	CK_RV rv;

	snprintf(b.cer, sizeof b.cer, "%s/not-a-cert.cer", api_tmpdir());
	if (!ok(api_write_file(b.cer, "not a certificate\n", 18), "a .cer that is not one"))
		return;
	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = api_init_bundle(&b);
	if (rv == CKR_OK && (rv = P->C_GetSlotList(CK_FALSE, slots, &n)) == CKR_OK)
		rv = n == 1 ? P->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s) :
			      CKR_GENERAL_ERROR;
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_TOKEN_NOT_PRESENT, "slot without a token: C_OpenSession -> "
	      "CKR_TOKEN_NOT_PRESENT");
	if (trace_names(trace, "C_OpenSession -> CKR_TOKEN_NOT_PRESENT (", "entry_slot.c",
			"ef_token_lookup_inlock") &&
	    find_line(trace, "C_OpenSession -> ", line, sizeof line))
		ok(!strstr(line, "x509.c") && !strchr(strchr(line, '(') + 1, '<'),
		   "and nothing older: the certificate's failure was answered at C_Initialize");
	free(trace);
}

/* The trace names each call as the application made it, through either
 * function list: C_GetInfo of the 3.0 list is C_GetInfo, not the
 * module's internal name for it. */
static void test_call_names(const struct api_bundle *b)
{
	CK_INFO info;
	char line[512];
	if (!P3) {
		tap_skip("no PKCS#11 3.0 function list");
		return;
	}
	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	CK_RV rv = api_init_bundle(b);
	if (rv == CKR_OK)
		rv = P3->C_GetInfo(&info);
	api_finalize();
	char *trace = trace_end();
	is_ul(rv, CKR_OK, "3.0 list: C_GetInfo");
	ok(trace && find_line(trace, "C_GetInfo -> CKR_OK", line, sizeof line),
	   "its trace line says C_GetInfo");
	ok(trace && !strstr(trace, "ef_GetInfo"), "no internal name in the trace");
	free(trace);
}

/* With the trace off, the same failures leave stderr silent: no origin is
 * recorded, so none is formatted either (test-log checks the record). */
static void test_trace_off(const struct api_bundle *b)
{
	CK_SESSION_INFO info;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	char *trace;
	CK_RV rv, rv_login = CKR_OK;

	unsetenv("EFIRMA_PKCS11_DEBUG");
	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = api_init_bundle(b);
	if (rv == CKR_OK && (rv = api_first_token_slot(&slot)) == CKR_OK &&
	    (rv = api_open(slot, false, &s)) == CKR_OK) {
		rv_login = api_login(s, WRONG_PIN);
		rv = P->C_GetSessionInfo(s + 1000, &info);
	}
	api_finalize();
	trace = trace_end();
	setenv("EFIRMA_PKCS11_DEBUG", "1", 1);
	is_ul(rv_login, CKR_PIN_INCORRECT, "trace off: C_Login -> CKR_PIN_INCORRECT");
	is_ul(rv, CKR_SESSION_HANDLE_INVALID, "trace off: C_GetSessionInfo -> "
	      "CKR_SESSION_HANDLE_INVALID");
	ok(trace && trace[0] == '\0', "trace off: nothing at all on stderr");
	if (trace && trace[0])
		tap_diag("stderr: %s", trace);
	free(trace);
}

int main(void)
{
	struct api_bundle b;

	api_setup_env();
	setenv("EFIRMA_PKCS11_DEBUG", "1", 1);
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b), "SAT bundle in %s", api_sat_dir()))
		return tap_done();
	TAP_PART(test_truncated_key(&b));
	TAP_PART(test_wrong_password(&b));
	TAP_PART(test_pss_salt(&b));
	TAP_PART(test_sensitive_attribute(&b));
	TAP_PART(test_bad_session(&b));
	TAP_PART(test_no_token(&b));
	TAP_PART(test_call_names(&b));
	TAP_PART(test_trace_off(&b));
	return tap_done();
}
