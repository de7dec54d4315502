/*
 * replay-main.c - runs a fuzz harness over files, for "make check".
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The same harness source that libFuzzer drives in "make fuzz" is linked
 * here with this main instead of libFuzzer: it feeds every file of the
 * seed corpus and of the regression folder (every input that ever made a
 * fuzzer fail) to LLVMFuzzerTestOneInput, one TAP line per file.  A crash
 * or abort stops the program, which the TAP driver reports as an error.
 *
 * Usage: replay-NAME [DIR|FILE]...; without arguments the folders are
 * $EF_TEST_SRCDIR/tests/fuzz/regress/NAME and, for the harnesses whose
 * seeds are files of the source tree, the seed folders.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-common.h"
#include "tap.h"

#ifndef FUZZ_NAME
#error FUZZ_NAME must name the harness
#endif

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			unsigned char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Put in front of every file (the key harness's password). */
static const char *prefix = "";

static void run_file(const char *path)
{
	size_t len = 0, pre = strlen(prefix);
	unsigned char *data = slurp(path, &len);
	if (!ok(data != NULL, "%s: read %s", FUZZ_NAME, path))
		return;
	/* An exact-size copy: ASan then sees a read one byte past the end. */
	unsigned char *exact = malloc(pre + len ? pre + len : 1);
	int rc = -1;
	if (exact) {
		memcpy(exact, prefix, pre);
		memcpy(exact + pre, data, len);
		rc = LLVMFuzzerTestOneInput(exact, pre + len);
	}
	free(exact);
	free(data);
	/* A crash or a sanitizer report never gets here; libFuzzer's
	 * contract is that a harness returns 0. */
	ok(rc == 0, "%s: %s (%zu bytes) ran, harness returned 0", FUZZ_NAME, path, len);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		tap_diag("%s: not found, skipped", path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*p));
		if (!p)
			break;
		names = p;
		if (asprintf(&names[n], "%s/%s", path, e->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		run_path(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	char dir[2048];
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_path(argv[i]);
		return tap_done();
	}
	const char *src = getenv("EF_TEST_SRCDIR");
	const char *data = getenv("EF_TEST_DATA");
	if (!src || !data) {
		fprintf(stderr, "EF_TEST_SRCDIR/EF_TEST_DATA not set (run through make check)\n");
		return 99;
	}
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regress/%s", src, FUZZ_NAME);
	run_path(dir);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/seeds/%s", src, FUZZ_NAME);
	run_path(dir);
	/* The SAT files are the certificate harness's seeds as they are, and
	 * the key harness's behind a password-length byte and the password. */
	if (strcmp(FUZZ_NAME, "cert") == 0 || strcmp(FUZZ_NAME, "key") == 0) {
		if (strcmp(FUZZ_NAME, "key") == 0)
			prefix = "\x09" "12345678a";
		snprintf(dir, sizeof(dir), "%s/sat", data);
		run_path(dir);
	}
	return tap_done();
}
