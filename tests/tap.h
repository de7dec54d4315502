/*
 * tap.h - a minimal Test Anything Protocol writer for the C tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each check prints "ok N - name" or "not ok N - name" plus diagnostics;
 * tap_done() prints the plan and returns the exit status for main().
 * automake's tap-driver.sh counts every line, so one failing assertion is
 * one failed test in the suite's "N passed, N failed" summary.
 */
#ifndef EF_TAP_H
#define EF_TAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int tap_count, tap_failed;

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline __attribute__((format(printf, 2, 3)))
int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

/* Compares two unsigned long values (CK_RV, lengths, ...) and shows both
 * on failure. */
static inline __attribute__((format(printf, 3, 4)))
int is_ul(unsigned long got, unsigned long want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#   got 0x%lx (%lu), want 0x%lx (%lu)\n", got, got, want, want);
	return r;
}

static inline __attribute__((format(printf, 3, 4)))
int is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int same = got && want ? strcmp(got, want) == 0 : got == want;
	va_start(ap, fmt);
	int r = tap_vok(same, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#   got '%s', want '%s'\n", got ? got : "(null)", want ? want : "(null)");
	return r;
}

static inline __attribute__((format(printf, 1, 2)))
void tap_diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* One assertion that could not run here (a missing privilege or
 * facility), counted as passed with the reason. */
static inline __attribute__((format(printf, 1, 2))) void tap_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_count++;
	printf("ok %d # SKIP ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

/* Seconds on a monotonic clock, for the diagnostics of how long a part
 * took (never for an assertion: test machines are shared and noisy). */
static inline double tap_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline char *tap_alarm_message(void)
{
	static char msg[160];
	return msg;
}

static inline void tap_on_alarm(int sig)
{
	const char *msg = tap_alarm_message();
	(void)sig;
	(void)!write(1, msg, strlen(msg));
	_exit(1);
}

/* Bounds what follows to this many seconds (0 cancels): a call that hangs
 * or a deadlock then fails the program ("Bail out!") instead of stalling
 * "make check".  EF_TEST_TIME_SCALE multiplies the bound for slow runs
 * (valgrind). */
static inline void tap_alarm(const char *what, unsigned seconds)
{
	const char *scale = getenv("EF_TEST_TIME_SCALE");
	unsigned factor = scale && atoi(scale) > 0 ? (unsigned)atoi(scale) : 1;
	snprintf(tap_alarm_message(), 160, "Bail out! %s: no answer within %u s (a hang or a deadlock)\n",
		 what, seconds * factor);
	signal(SIGALRM, tap_on_alarm);
	alarm(seconds * factor);
}

/* Ends the run: a test program that stopped early has no plan, which the
 * driver reports as an error rather than a silent pass. */
/* The parts of a test program: main() runs each part through
 * TAP_PART(call), and EF_TEST_ONLY, a comma-separated list of part names
 * ("test_basic,test_fork", or without the "test_" prefix: "basic,fork"),
 * runs only those (see HACKING.md, "Running one test").  The setup in
 * main() around the parts always runs. */
static int tap_parts_run;

static inline int tap_part_named(const char *only, const char *name, size_t len)
{
	while (*only != '\0') {
		size_t n = strcspn(only, ",");
		if ((n == len && memcmp(only, name, n) == 0) ||
		    (len > 5 && memcmp(name, "test_", 5) == 0 && n == len - 5 &&
		     memcmp(only, name + 5, n) == 0))
			return 1;
		only += n + (only[n] == ',');
	}
	return 0;
}

static inline int tap_part(const char *call)
{
	const char *only = getenv("EF_TEST_ONLY");
	size_t len = strcspn(call, "(");
	if (only != NULL && only[0] != '\0' && !tap_part_named(only, call, len))
		return 0;
	tap_parts_run++;
	printf("# %.*s\n", (int)len, call);
	return 1;
}

#define TAP_PART(call)                  \
	do {                            \
		if (tap_part(#call)) {  \
			call;           \
		}                       \
	} while (0)

static inline int tap_done(void)
{
	const char *only = getenv("EF_TEST_ONLY");
	/* A filter that names nothing here must not pass as "all green". */
	if (only != NULL && only[0] != '\0' && tap_parts_run == 0)
		ok(0, "EF_TEST_ONLY=%s names no part of this program", only);
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
