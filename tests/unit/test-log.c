/*
 * test-log.c - unit tests for module/log.c: return-code names, the trace
 * switch, and whole lines under concurrency.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "log.h"
#include "sat.h"
#include "tap.h"

static void test_names(void)
{
	bool all = true;
	int count = 0;

	/* Every CKR_ macro the headers define, listed by the preprocessor at
	 * build time (Makefile.am): a code the headers gain and the table
	 * lacks fails here. */
#define N(x) do { count++; if (strcmp(ef_rv_name(x), #x) != 0) { all = false; tap_diag("%s -> %s", #x, ef_rv_name(x)); } } while (0);
#include "ckr-all.h"
#undef N
	/* PKCS#11 3.0 defines over 90: an empty list is a broken build. */
	ok(all && count > 90, "rv_name: every CKR_ of pkcs11.h and efirma-pkcs11.h by name (%d)", count);
	all = true;
#define N(x) do { if (strcmp(ef_rv_name(x), #x) != 0) { all = false; tap_diag("%s -> %s", #x, ef_rv_name(x)); } } while (0);
	N(EF_R_OP_BUSY)
	N(EF_R_KEY_OF_OTHER_CERT)
	N(EF_R_NOT_A_KEY)
#undef N
	ok(all, "rv_name: the module's internal results (result.h) by name");
	is_str(ef_rv_name(0x12345), "0x12345", "rv_name: unknown -> hex");
	is_str(ef_rv_name(CKR_VENDOR_DEFINED | 1), "0x80000001", "rv_name: vendor code -> hex");
}

static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)ef_rv_name(0xABC);
}

static void test_thread_buffer(void)
{
	pthread_t t;
	void *theirs = NULL;
	const char *mine = ef_rv_name(0xDEF);

	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, &theirs);
	ok(theirs != (void *)mine, "rv_name: unknown-code buffer is per thread");
	is_str(mine, "0xdef", "rv_name: another thread did not overwrite this one");
}

static char path[] = "/tmp/test-log.XXXXXX";

static char *run_capture(void (*fn)(void))
{
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *buf = calloc(1, 1 << 20);
	ssize_t n;

	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, (1 << 20) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	return buf;
}

static void trace_something(void)
{
	ef_log_trace("C_Initialize -> %s", ef_rv_name(CKR_OK));
}

static void test_trace_switch(void)
{
	char *out;

	unsetenv("EFIRMA_PKCS11_DEBUG");
	ef_log_init_from_env();
	ok(!ef_log_trace_enabled(), "trace: off by default");
	out = run_capture(trace_something);
	is_str(out, "", "trace: silent when off");
	free(out);
	setenv("EFIRMA_PKCS11_DEBUG", "0", 1);
	ef_log_init_from_env();
	ok(!ef_log_trace_enabled(), "trace: EFIRMA_PKCS11_DEBUG=0 is off");
	setenv("EFIRMA_PKCS11_DEBUG", "", 1);
	ef_log_init_from_env();
	ok(!ef_log_trace_enabled(), "trace: empty EFIRMA_PKCS11_DEBUG is off");
	setenv("EFIRMA_PKCS11_DEBUG", "1", 1);
	ef_log_init_from_env();
	ok(ef_log_trace_enabled(), "trace: EFIRMA_PKCS11_DEBUG=1 is on");
	out = run_capture(trace_something);
	is_str(out, "efirma-pkcs11: C_Initialize -> CKR_OK\n", "trace: one prefixed line");
	free(out);
	unsetenv("EFIRMA_PKCS11_DEBUG");
	ef_log_init_from_env();
	ok(!ef_log_trace_enabled(), "trace: re-initialisation follows the environment");
	ef_log_enable_trace();
	ok(ef_log_trace_enabled(), "trace: ef_log_enable_trace turns it on");
}

#define THREADS 8
#define LINES 500

static void *spam(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < LINES; i++)
		ef_log_warn("thread %ld line %d %s", id, i,
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	return NULL;
}

static void many_threads(void)
{
	pthread_t t[THREADS];

	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, spam, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void long_line(void)
{
	char big[5000];

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ef_log_warn("%s", big);
}

static void test_lines(void)
{
	char *out = run_capture(many_threads), *save = NULL;
	int lines = 0, good = 0;

	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		long id;
		int n, end = 0;

		lines++;
		if (sscanf(l, "efirma-pkcs11: thread %ld line %d %*[x]%n", &id, &n, &end) == 2 &&
		    end == (int)strlen(l))
			good++;
	}
	is_ul((unsigned long)lines, THREADS * LINES, "lines: %d threads x %d lines, none merged", THREADS, LINES);
	is_ul((unsigned long)good, THREADS * LINES, "lines: every line whole and prefixed");
	free(out);
	out = run_capture(long_line);
	ok(strncmp(out, "efirma-pkcs11: yyy", 18) == 0 && strchr(out, '\n') == out + strlen(out) - 1,
	   "lines: an overlong message is cut to one line (%zu bytes)", strlen(out));
	free(out);
}

static void warn_hostile(void)
{
	/* A label or file name as an attacker would write it: a forged
	 * second line, a colour escape, DEL, the C1 CSI in UTF-8 and alone,
	 * a backslash, and a name in Spanish that must stay legible. */
	ef_log_warn("label %s", "x\naccepted: VICTIMA\r\t\x1b[31mred\x7f\xc2\x9b\x9b\\ Peña");
}

static void test_escaping(void)
{
	char *out = run_capture(warn_hostile);
	char buf[16];
	size_t n;

	is_str(out, "efirma-pkcs11: label x\\naccepted: VICTIMA\\r\\t\\x1b[31mred\\x7f\\u009b\\x9b\\\\ Peña\n",
	       "escape: every control character of a warning is shown, not sent");
	ok(strchr(out, '\x1b') == NULL && strchr(out, '\x7f') == NULL &&
	   strchr(out, '\n') == out + strlen(out) - 1, "escape: no raw ESC, DEL or newline reaches stderr");
	free(out);

	n = ef_escape_text("ab\x1b", 3, buf, 6);
	is_ul(n, 6, "escape: returns the length the whole text needs");
	is_str(buf, "ab", "escape: a cut never splits an escape");
	ef_escape_text("a\xc3\xb1o", 4, buf, 3);
	is_str(buf, "a", "escape: a cut never splits a UTF-8 character");
	ef_escape_text("a\0b", 3, buf, sizeof(buf));
	is_str(buf, "a\\x00b", "escape: an embedded NUL is shown");
	ok(ef_escape_text("x", 1, NULL, 0) == 1, "escape: size 0 only measures");
}

/* What a C_* function does: fail deep down, answer at its exit. */
static int deep_line;

static CK_RV deep(void)
{
	deep_line = __LINE__ + 1;
	return EF_FAIL(EF_R_NOT_A_KEY);
}

static CK_RV middle(void)
{
	return deep() == EF_R_NOT_A_KEY ? EF_FAIL(CKR_DEVICE_ERROR) : CKR_OK;
}

static CK_RV returned;

static void call_failing(void)
{
	returned = ef_log_return("C_Login", middle());
}

static void call_busy(void)
{
	returned = ef_log_return("C_SignFinal", EF_FAIL(EF_R_OP_BUSY));
}

static void call_unrecorded(void)
{
	/* An origin left by a failure that was answered, then a code from
	 * a site that records none: the old origin is not shown. */
	(void)EF_FAIL(CKR_DATA_INVALID);
	returned = ef_log_return("C_GetAttributeValue", CKR_ATTRIBUTE_TYPE_INVALID);
}

static void call_many(void)
{
	(void)EF_FAIL(CKR_DATA_INVALID);
	for (int i = 0; i < 6; i++)
		(void)EF_FAIL(CKR_PIN_INCORRECT);
	returned = ef_log_return("C_Login", CKR_PIN_INCORRECT);
}

static bool names(const char *out, const char *site)
{
	return strstr(out, site) != NULL;
}

/* With the trace off, a failure site touches none of what it would
 * format: a file, function and reason that cannot be read do no harm
 * (a child process reads them, so that a fault fails only this check). */
static void test_no_formatting(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status = -1;
	pid_t pid;

	if (!ok(p != MAP_FAILED, "origins: an unreadable page"))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		CK_RV rv = ef_fail_at(CKR_DEVICE_ERROR, p, 1, p, p);
		_exit(rv == CKR_DEVICE_ERROR ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "origins: with the trace off, a failure reads nothing it would format (status %d)",
	   status);
	munmap(p, (size_t)page);
}

static void test_origins(void)
{
	char *out, buf[512];
	char site[64];

	setenv("EFIRMA_PKCS11_DEBUG", "1", 1);
	ef_log_init_from_env();
	ef_fail_forget();
	out = run_capture(call_failing);
	is_ul(returned, CKR_DEVICE_ERROR, "origins: the exit returns the caller's code");
	snprintf(site, sizeof(site), "test-log.c:%d deep EF_R_NOT_A_KEY", deep_line);
	ok(strncmp(out, "efirma-pkcs11: C_Login -> CKR_DEVICE_ERROR (test-log.c:", 55) == 0 &&
	   names(out, " middle < ") && names(out, site),
	   "origins: newest first, the inner one with its own code, file:line function");
	if (!names(out, site))
		tap_diag("got %s, wanted %s", out, site);
	free(out);

	out = run_capture(call_busy);
	is_ul(returned, CKR_FUNCTION_FAILED, "internal: EF_R_OP_BUSY reaches a caller as CKR_FUNCTION_FAILED");
	ok(names(out, "C_SignFinal -> CKR_FUNCTION_FAILED (test-log.c:") &&
	   names(out, " call_busy EF_R_OP_BUSY)"), "internal: the trace names the internal result");
	free(out);
	is_ul(ef_rv_public(EF_R_NOT_A_KEY), CKR_DATA_INVALID, "internal: EF_R_NOT_A_KEY -> CKR_DATA_INVALID");
	is_ul(ef_rv_public(EF_R_KEY_OF_OTHER_CERT), CKR_DEVICE_ERROR,
	      "internal: EF_R_KEY_OF_OTHER_CERT -> CKR_DEVICE_ERROR");
	is_ul(ef_rv_public(CKR_PIN_INCORRECT), CKR_PIN_INCORRECT, "internal: a CKR_ passes unchanged");
	is_ul(ef_rv_public(CKR_VENDOR_DEFINED | 1), CKR_VENDOR_DEFINED | 1,
	      "internal: a vendor code outside the EF_R_ range passes unchanged");

	out = run_capture(call_unrecorded);
	is_str(out, "efirma-pkcs11: C_GetAttributeValue -> CKR_ATTRIBUTE_TYPE_INVALID\n",
	       "origins: another code's origin is not shown");
	free(out);

	out = run_capture(call_many);
	ok(names(out, " < ... < ") && names(out, "call_many CKR_DATA_INVALID)"),
	   "origins: too many keep the first and the newest (%s)", out);
	free(out);

	ef_fail_describe(CKR_PIN_INCORRECT, buf, sizeof(buf));
	is_str(buf, "", "origins: the exit forgets them");

	unsetenv("EFIRMA_PKCS11_DEBUG");
	ef_log_init_from_env();
	(void)EF_FAIL(CKR_PIN_INCORRECT);
	ef_fail_describe(CKR_PIN_INCORRECT, buf, sizeof(buf));
	is_str(buf, "", "origins: nothing is recorded with the trace off");
	out = run_capture(call_failing);
	is_str(out, "", "origins: the exit is silent with the trace off");
	is_ul(returned, CKR_DEVICE_ERROR, "origins: ... and still returns the caller's code");
	free(out);
	test_no_formatting();
}

int main(void)
{
	TAP_PART(test_names());
	TAP_PART(test_thread_buffer());
	TAP_PART(test_trace_switch());
	TAP_PART(test_lines());
	TAP_PART(test_escaping());
	TAP_PART(test_origins());
	return tap_done();
}
