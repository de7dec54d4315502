/*
 * fuzz-common.h - shared by the libFuzzer harnesses in tests/fuzz.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The harnesses link the module's own objects.  The module writes a
 * warning line to stderr for every bad file or configuration line, which
 * at thousands of inputs a second would drown the fuzzer's output; the
 * link replaces ef_log_warn (-Wl,--wrap=ef_log_warn) with a function that
 * still formats the message (so fuzzed text reaches the formatting, under
 * the sanitizers) but writes nothing.
 */
#ifndef EF_FUZZ_COMMON_H
#define EF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: only fuzz-api prepares files once per process. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Reads every byte (ASan reports an out-of-bounds or freed buffer). */
static inline void fuzz_touch(const void *p, size_t n)
{
	const volatile unsigned char *b = p;
	unsigned char x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= b[i];
	(void)x;
}

#endif
