/*
 * test-file.c - unit tests for module/file.c: the module's one whole-file
 * reader.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "tap.h"

static char root[] = "/tmp/test-file.XXXXXX";

static const char *at(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", root, name);
	return p;
}

static void put(const char *name, const char *text, size_t len)
{
	FILE *f = fopen(at(name), "wb");

	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
}

static void test_read(void)
{
	unsigned char *d = NULL;
	size_t n = 99;

	put("a.txt", "ab\0c", 4);
	ok(ef_file_read(at("a.txt"), false, EF_MAX_FILE, &ef_file_heap, &d, &n) && n == 4 &&
	   memcmp(d, "ab\0c", 4) == 0 && d[4] == '\0',
	   "read: the whole file, NUL bytes kept, a NUL after it");
	free(d);
	put("empty", "", 0);
	d = NULL;
	ok(ef_file_read(at("empty"), false, EF_MAX_FILE, &ef_file_heap, &d, &n) && n == 0 &&
	   d != NULL && d[0] == '\0', "read: an empty file is an empty text");
	free(d);
	errno = 0;
	ok(!ef_file_read(at("a.txt"), false, 3, &ef_file_heap, &d, &n) && errno == EFBIG,
	   "read: a file over the cap -> EFBIG");
	ok(ef_file_read(at("a.txt"), false, 4, &ef_file_heap, &d, &n) && n == 4,
	   "read: a file of exactly the cap is read");
	free(d);
	errno = 0;
	ok(!ef_file_read(at("missing"), false, EF_MAX_FILE, &ef_file_heap, &d, &n) &&
	   errno == ENOENT, "read: a missing file -> ENOENT");
	errno = 0;
	ok(!ef_file_read(root, false, EF_MAX_FILE, &ef_file_heap, &d, &n) && errno == EINVAL,
	   "read: a folder -> EINVAL");
	/* No writer: a blocking open would hang here. */
	mkfifo(at("fifo"), 0600);
	errno = 0;
	ok(!ef_file_read(at("fifo"), false, EF_MAX_FILE, &ef_file_heap, &d, &n) &&
	   errno == EINVAL, "read: a FIFO is refused without waiting for a writer");
	if (symlink("a.txt", at("link")) == 0) {
		ok(ef_file_read(at("link"), false, EF_MAX_FILE, &ef_file_heap, &d, &n) && n == 4,
		   "read: a symlink is followed by default");
		free(d);
		errno = 0;
		ok(!ef_file_read(at("link"), true, EF_MAX_FILE, &ef_file_heap, &d, &n) &&
		   errno == ELOOP, "read: nofollow refuses a symlink (ELOOP)");
	}
}

static void test_read_fd(void)
{
	unsigned char *d = NULL;
	size_t n = 0;
	struct stat st;
	int fd;

	put("b.txt", "0123456789", 10);
	fd = open(at("b.txt"), O_RDONLY);
	lseek(fd, 4, SEEK_SET);
	ok(ef_file_read_fd(fd, EF_MAX_FILE, &ef_file_heap, &d, &n, &st) && n == 6 &&
	   memcmp(d, "456789", 6) == 0 && st.st_size == 10,
	   "read_fd: from the current offset; *st_out is the file's fstat");
	free(d);
	close(fd);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_read();
	test_read_fd();
	unlink(at("a.txt"));
	unlink(at("b.txt"));
	unlink(at("empty"));
	unlink(at("fifo"));
	unlink(at("link"));
	rmdir(root);
	return tap_done();
}
