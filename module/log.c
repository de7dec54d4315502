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
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sat.h"

#define EF_LOG_PREFIX "efirma-pkcs11: "
/* Longer messages are cut: a warning is one line, not a dump. */
#define EF_LOG_LINE_MAX 1024

static atomic_bool trace_on;

void ef_log_init_from_env(void)
{
	/* Read at every C_Initialize, so a re-initialised module follows the
	 * current environment.  Not in a set-user-ID process: its stderr is
	 * the invoking user's, and the trace is not for them to see. */
	const char *v = ef_config_secure() ? NULL : getenv("EFIRMA_PKCS11_DEBUG");

	atomic_store(&trace_on, v != NULL && v[0] != '\0' && strcmp(v, "0") != 0);
}

void ef_log_enable_trace(void)
{
	if (ef_config_secure())
		return;
	atomic_store(&trace_on, true);
}

bool ef_log_trace_enabled(void)
{
	return atomic_load(&trace_on);
}

/* Formats the whole line first and hands it to the kernel in one write(2):
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

	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, line + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
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

const char *ef_rv_name(CK_RV rv)
{
	/* Per thread: two threads tracing unknown codes must not share it. */
	static _Thread_local char unknown[2 + 2 * sizeof(CK_RV) + 1];

	switch (rv) {
#define N(x) case x: return #x;
	N(CKR_OK)
	N(CKR_CANCEL)
	N(CKR_HOST_MEMORY)
	N(CKR_SLOT_ID_INVALID)
	N(CKR_GENERAL_ERROR)
	N(CKR_FUNCTION_FAILED)
	N(CKR_ARGUMENTS_BAD)
	N(CKR_NO_EVENT)
	N(CKR_NEED_TO_CREATE_THREADS)
	N(CKR_CANT_LOCK)
	N(CKR_ATTRIBUTE_READ_ONLY)
	N(CKR_ATTRIBUTE_SENSITIVE)
	N(CKR_ATTRIBUTE_TYPE_INVALID)
	N(CKR_ATTRIBUTE_VALUE_INVALID)
	N(CKR_ACTION_PROHIBITED)
	N(CKR_DATA_INVALID)
	N(CKR_DATA_LEN_RANGE)
	N(CKR_DEVICE_ERROR)
	N(CKR_DEVICE_MEMORY)
	N(CKR_DEVICE_REMOVED)
	N(CKR_ENCRYPTED_DATA_INVALID)
	N(CKR_ENCRYPTED_DATA_LEN_RANGE)
	N(CKR_FUNCTION_CANCELED)
	N(CKR_FUNCTION_NOT_PARALLEL)
	N(CKR_FUNCTION_NOT_SUPPORTED)
	N(CKR_KEY_HANDLE_INVALID)
	N(CKR_KEY_SIZE_RANGE)
	N(CKR_KEY_TYPE_INCONSISTENT)
	N(CKR_KEY_NOT_NEEDED)
	N(CKR_KEY_CHANGED)
	N(CKR_KEY_NEEDED)
	N(CKR_KEY_INDIGESTIBLE)
	N(CKR_KEY_FUNCTION_NOT_PERMITTED)
	N(CKR_KEY_NOT_WRAPPABLE)
	N(CKR_KEY_UNEXTRACTABLE)
	N(CKR_MECHANISM_INVALID)
	N(CKR_MECHANISM_PARAM_INVALID)
	N(CKR_OBJECT_HANDLE_INVALID)
	N(CKR_OPERATION_ACTIVE)
	N(CKR_OPERATION_NOT_INITIALIZED)
	N(CKR_PIN_INCORRECT)
	N(CKR_PIN_INVALID)
	N(CKR_PIN_LEN_RANGE)
	N(CKR_PIN_EXPIRED)
	N(CKR_PIN_LOCKED)
	N(CKR_SESSION_CLOSED)
	N(CKR_SESSION_COUNT)
	N(CKR_SESSION_HANDLE_INVALID)
	N(CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	N(CKR_SESSION_READ_ONLY)
	N(CKR_SESSION_EXISTS)
	N(CKR_SESSION_READ_ONLY_EXISTS)
	N(CKR_SESSION_READ_WRITE_SO_EXISTS)
	N(CKR_SIGNATURE_INVALID)
	N(CKR_SIGNATURE_LEN_RANGE)
	N(CKR_TEMPLATE_INCOMPLETE)
	N(CKR_TEMPLATE_INCONSISTENT)
	N(CKR_TOKEN_NOT_PRESENT)
	N(CKR_TOKEN_NOT_RECOGNIZED)
	N(CKR_TOKEN_WRITE_PROTECTED)
	N(CKR_UNWRAPPING_KEY_HANDLE_INVALID)
	N(CKR_UNWRAPPING_KEY_SIZE_RANGE)
	N(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT)
	N(CKR_USER_ALREADY_LOGGED_IN)
	N(CKR_USER_NOT_LOGGED_IN)
	N(CKR_USER_PIN_NOT_INITIALIZED)
	N(CKR_USER_TYPE_INVALID)
	N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
	N(CKR_USER_TOO_MANY_TYPES)
	N(CKR_WRAPPED_KEY_INVALID)
	N(CKR_WRAPPED_KEY_LEN_RANGE)
	N(CKR_WRAPPING_KEY_HANDLE_INVALID)
	N(CKR_WRAPPING_KEY_SIZE_RANGE)
	N(CKR_WRAPPING_KEY_TYPE_INCONSISTENT)
	N(CKR_RANDOM_SEED_NOT_SUPPORTED)
	N(CKR_RANDOM_NO_RNG)
	N(CKR_DOMAIN_PARAMS_INVALID)
	N(CKR_CURVE_NOT_SUPPORTED)
	N(CKR_BUFFER_TOO_SMALL)
	N(CKR_SAVED_STATE_INVALID)
	N(CKR_INFORMATION_SENSITIVE)
	N(CKR_STATE_UNSAVEABLE)
	N(CKR_CRYPTOKI_NOT_INITIALIZED)
	N(CKR_CRYPTOKI_ALREADY_INITIALIZED)
	N(CKR_MUTEX_BAD)
	N(CKR_MUTEX_NOT_LOCKED)
	N(CKR_NEW_PIN_MODE)
	N(CKR_NEXT_OTP)
	N(CKR_EXCEEDED_MAX_ITERATIONS)
	N(CKR_FIPS_SELF_TEST_FAILED)
	N(CKR_LIBRARY_LOAD_FAILED)
	N(CKR_PIN_TOO_WEAK)
	N(CKR_PUBLIC_KEY_INVALID)
	N(CKR_FUNCTION_REJECTED)
	N(CKR_VENDOR_DEFINED)
	/* PKCS#11 3.0, from include/efirma-pkcs11.h. */
	N(CKR_OPERATION_CANCEL_FAILED)
	/* The internal results of result.h. */
	N(EF_R_OP_BUSY)
	N(EF_R_KEY_OF_OTHER_CERT)
	N(EF_R_NOT_A_KEY)
#undef N
	default:
		break;
	}
	snprintf(unknown, sizeof(unknown), "0x%lx", (unsigned long)rv);
	return unknown;
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
