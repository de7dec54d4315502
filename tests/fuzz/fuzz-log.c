/*
 * fuzz-log.c - the quiet ef_log_warn of the fuzzing builds (see
 * fuzz-common.h): formats the message into a buffer and drops it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void __wrap_ef_log_warn(const char *fmt, ...);

void __wrap_ef_log_warn(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
}
