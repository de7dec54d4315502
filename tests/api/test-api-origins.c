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
static void test_truncated_key(const struct api_bundle *good)
{
	struct api_bundle b = *good;
	CK_SLOT_ID slot;
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
	CK_RV rv = api_init_bundle(&b);
	if (rv == CKR_OK && (rv = api_first_token_slot(&slot)) == CKR_OK &&
	    (rv = api_open(slot, false, &s)) == CKR_OK)
		rv = api_login(s, b.pin);
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_DEVICE_ERROR, "truncated .key: C_Login -> CKR_DEVICE_ERROR");
	if (!ok(trace && find_line(trace, "C_Login -> CKR_DEVICE_ERROR (", line, sizeof line),
		"the trace has the C_Login line with an origin")) {
		tap_diag("trace: %s", trace ? trace : "(none)");
		free(trace);
		return;
	}
	tap_diag("%s", line);
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
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	char line[2048];
	char *trace;
	CK_RV rv;

	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = api_init_bundle(b);
	if (rv == CKR_OK && (rv = api_first_token_slot(&slot)) == CKR_OK &&
	    (rv = api_open(slot, false, &s)) == CKR_OK)
		rv = api_login(s, WRONG_PIN);
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_PIN_INCORRECT, "wrong password: C_Login -> CKR_PIN_INCORRECT");
	if (!ok(trace && find_line(trace, "C_Login -> CKR_PIN_INCORRECT (", line, sizeof line),
		"the trace has the C_Login line with an origin")) {
		tap_diag("trace: %s", trace ? trace : "(none)");
		free(trace);
		return;
	}
	tap_diag("%s", line);
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
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	char line[2048];
	char *trace;

	if (!ok(trace_begin(), "stderr sent to %s", trace_path))
		return;
	rv = api_init_bundle(b);
	if (rv == CKR_OK && (rv = api_first_token_slot(&slot)) == CKR_OK &&
	    (rv = api_open(slot, false, &s)) == CKR_OK && (rv = api_login(s, b->pin)) == CKR_OK)
		rv = P->C_SignInit(s, &m, api_one(s, CKO_PRIVATE_KEY));
	api_finalize();
	trace = trace_end();
	is_ul(rv, CKR_MECHANISM_PARAM_INVALID, "PSS salt of 4096 bytes: C_SignInit -> "
	      "CKR_MECHANISM_PARAM_INVALID");
	if (!ok(trace && find_line(trace, "C_SignInit -> CKR_MECHANISM_PARAM_INVALID (", line,
				   sizeof line), "the trace has the C_SignInit line with an origin")) {
		tap_diag("trace: %s", trace ? trace : "(none)");
		free(trace);
		return;
	}
	tap_diag("%s", line);
	ok(names_site(line, "mech.c", "pss_params"), "it names mech.c:LINE pss_params");
	ok(find_line(trace, "C_Login -> ", line, sizeof line) &&
	   strcmp(line, "efirma-pkcs11: C_Login -> CKR_OK") == 0,
	   "a call that succeeds shows no origin");
	ok(!strstr(trace, b->pin), "the password appears nowhere in the trace");
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
	return tap_done();
}
