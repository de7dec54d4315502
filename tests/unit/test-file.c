/*
 * test-file.c - unit tests for module/file_posix.c: the one whole-file reader
 * and the one atomic writer of the module and efirma-tool.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <dirent.h>
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

/* Files in the folder besides the ones named, i.e. temporaries left. */
static int leftovers(void)
{
	DIR *d = opendir(root);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".new-") != NULL;
	if (d)
		closedir(d);
	return n;
}

static char *slurp(const char *name)
{
	unsigned char *d = NULL;
	size_t n = 0;

	return ef_file_read(at(name), false, EF_MAX_FILE, &ef_file_heap, &d, &n) ? (char *)d : NULL;
}

static bool refuse(int fd, void *arg)
{
	(void)fd;
	(void)arg;
	return false;
}

static bool reads_new(int fd, void *arg)
{
	unsigned char *d = NULL;
	size_t n = 0;
	bool same = lseek(fd, 0, SEEK_SET) == 0 &&
		    ef_file_read_fd(fd, EF_MAX_FILE, &ef_file_heap, &d, &n, NULL) &&
		    strcmp((char *)d, arg) == 0;

	free(d);
	return same;
}

static void test_atomic(void)
{
	struct ef_atomic a;
	struct stat st;
	char *text;
	bool ok1;

	put("conf", "old\n", 4);
	ok1 = ef_atomic_begin(&a, at("conf"));
	ok(ok1 && strncmp(a.tmp, at("conf.new-"), strlen(at("conf.new-"))) == 0 &&
	   fstat(a.fd, &st) == 0 && (st.st_mode & 07777) == 0600,
	   "atomic: the new file is PATH.new-XXXXXX beside it, mode 0600");
	ok(ok1 && ef_file_write_all(a.fd, "new\n", 4) && ef_atomic_commit(&a, reads_new, "new\n"),
	   "atomic: written, read back by the check, committed");
	ef_atomic_end(&a);
	text = slurp("conf");
	ok(text && strcmp(text, "new\n") == 0 && leftovers() == 0,
	   "atomic: the file has the new text, no temporary is left");
	free(text);

	ef_atomic_begin(&a, at("conf"));
	ef_file_write_all(a.fd, "bad\n", 4);
	ok(!ef_atomic_commit(&a, refuse, NULL) && a.failed == EF_ATOMIC_CHECK,
	   "atomic: a check that refuses -> EF_ATOMIC_CHECK");
	ef_atomic_end(&a);
	text = slurp("conf");
	ok(text && strcmp(text, "new\n") == 0 && leftovers() == 0,
	   "atomic: ... the file is as it was, the temporary removed");
	free(text);

	mkdir(at("dir"), 0700);
	put("dir/x", "", 0);
	ef_atomic_begin(&a, at("dir"));
	ok(!ef_atomic_commit(&a, NULL, NULL) && a.failed == EF_ATOMIC_RENAME,
	   "atomic: a rename that fails (a folder in the way) -> EF_ATOMIC_RENAME");
	ef_atomic_end(&a);
	ok(leftovers() == 0, "atomic: ... the temporary removed");
	unlink(at("dir/x"));
	rmdir(at("dir"));

	errno = 0;
	ok(!ef_atomic_begin(&a, at("missing/conf")) && errno == ENOENT && a.tmp != NULL,
	   "atomic: a folder that does not exist -> ENOENT, the name kept for the message");
	ef_atomic_end(&a);
	unlink(at("conf"));
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	TAP_PART(test_read());
	TAP_PART(test_read_fd());
	TAP_PART(test_atomic());
	unlink(at("a.txt"));
	unlink(at("b.txt"));
	unlink(at("empty"));
	unlink(at("fifo"));
	unlink(at("link"));
	rmdir(root);
	return tap_done();
}
