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
