/*
 * log.c - warnings and the optional call trace, on stderr.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The module lives inside other people's processes (browsers, Java, sshd):
 * it must stay quiet unless something is wrong or the user asked for a
 * trace, and a line must never interleave with another thread's line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "platform.h"
#include "sat.h"
#include "secure_env.h"

#define EF_LOG_PREFIX "efirma-pkcs11: "
/* Longer messages are cut: a warning is one line, not a dump. */
#define EF_LOG_LINE_MAX 1024

static atomic_bool trace_on;

void ef_log_init_from_env(void)
{
	/* Read at every C_Initialize, so a re-initialised module follows the
	 * current environment.  Not in a set-user-ID process: its stderr is
	 * the invoking user's, and the trace is not for them to see. */
	const char *v = ef_env_get("EFIRMA_PKCS11_DEBUG");

	atomic_store(&trace_on, v != NULL && v[0] != '\0' && strcmp(v, "0") != 0);
}

void ef_log_enable_trace(void)
{
	if (ef_env_secure())
		return;
	atomic_store(&trace_on, true);
}

bool ef_log_trace_enabled(void)
{
	return atomic_load(&trace_on);
}

/* Formats the whole line first and hands it to the system in one write:
 * stderr is unbuffered, so fprintf would issue several writes that other
 * threads' lines could slip between. */
static void emit(const char *fmt, va_list ap)
{
	char msg[EF_LOG_LINE_MAX], line[EF_LOG_LINE_MAX];
	size_t pre = sizeof(EF_LOG_PREFIX) - 1;
	size_t len;
	int n;
	int saved_errno = errno;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	memcpy(line, EF_LOG_PREFIX, pre);
	/* Messages carry file names, labels and configuration text that
	 * anyone may have written: none of it may forge a line or reach the
	 * terminal as a control sequence. */
	len = ef_escape_text(msg, (size_t)n, line + pre, sizeof(line) - pre - 1);
	if (len > sizeof(line) - pre - 2)
		len = strlen(line + pre);
	len += pre;
	line[len++] = '\n';

	ef_os_write_stderr(line, len);
	/* Logging must not disturb the errno a caller is about to inspect. */
	errno = saved_errno;
}

void ef_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void ef_log_trace(const char *fmt, ...)
{
	va_list ap;

	if (!ef_log_trace_enabled())
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}


/* The origins kept per thread: the first one (most often the root cause)
 * and the newest ones.  A C_* call records a few at most; more means one
 * failure was answered several times on its way up. */
#define EF_ORIGINS 4
#define EF_REASON_MAX 160

struct origin {
	CK_RV rv;
	const char *file;    /* __FILE__, a string literal */
	const char *func;    /* __func__ */
	int line;
	char reason[EF_REASON_MAX];
};

static _Thread_local struct {
	size_t n;
	bool dropped;        /* origins between the first and the newest lost */
	struct origin o[EF_ORIGINS];
} tl_fail;

/* "rsa.c" for "module/rsa.c" or "../module/rsa.c" (VPATH builds). */
static const char *base_name(const char *file)
{
	const char *slash = strrchr(file, '/');

	return slash != NULL ? slash + 1 : file;
}

CK_RV ef_fail_at(CK_RV rv, const char *file, int line, const char *func, const char *reason)
{
	struct origin *o;

	if (!ef_log_trace_enabled())
		return rv;
	if (tl_fail.n == EF_ORIGINS) {
		memmove(&tl_fail.o[1], &tl_fail.o[2], (EF_ORIGINS - 2) * sizeof(tl_fail.o[0]));
		tl_fail.n--;
		tl_fail.dropped = true;
	}
	o = &tl_fail.o[tl_fail.n++];
	o->rv = rv;
	o->file = file != NULL ? base_name(file) : "?";
	o->func = func != NULL ? func : "?";
	o->line = line;
	snprintf(o->reason, sizeof(o->reason), "%s", reason != NULL ? reason : "");
	return rv;
}

void ef_fail_forget(void)
{
	tl_fail.n = 0;
	tl_fail.dropped = false;
}

void ef_fail_describe(CK_RV rv, char *buf, size_t size)
{
	CK_RV pub = ef_rv_public(rv);
	size_t len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (tl_fail.n == 0 || tl_fail.o[tl_fail.n - 1].rv != rv)
		return;
	for (size_t i = tl_fail.n; i-- > 0 && len < size;) {
		const struct origin *o = &tl_fail.o[i];
		int n;

		n = snprintf(buf + len, size - len, "%s%s:%d %s%s%s%s%s",
			     i + 1 == tl_fail.n ? "" : " < ", o->file, o->line, o->func,
			     o->rv != pub ? " " : "", o->rv != pub ? ef_rv_name(o->rv) : "",
			     o->reason[0] != '\0' ? ": " : "", o->reason);
		if (n < 0)
			break;
		len += (size_t)n;
		if (i == 1 && tl_fail.dropped && len < size) {
			n = snprintf(buf + len, size - len, " < ...");
			if (n < 0)
				break;
			len += (size_t)n;
		}
	}
}

CK_RV ef_log_return(const char *fn, CK_RV rv)
{
	CK_RV pub = ef_rv_public(rv);

	if (ef_log_trace_enabled()) {
		char where[EF_LOG_LINE_MAX / 2];

		ef_fail_describe(rv, where, sizeof(where));
		if (where[0] != '\0')
			ef_log_trace("%s -> %s (%s)", fn, ef_rv_name(pub), where);
		else
			ef_log_trace("%s -> %s", fn, ef_rv_name(pub));
	}
	ef_fail_forget();
	return pub;
}
