/*
 * file.h - reading a whole file and replacing one: the one reader and the
 * one atomic writer of the module and of efirma-tool (which links this).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Nothing here logs or depends on the rest of the module: each caller
 * says in its own words what failed, from errno.
 */
#ifndef EF_FILE_H
#define EF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Certificates are a few KiB and SAT keys 1.3 KiB: anything larger than
 * this is not a bundle file, and reading it would only cost memory. */
#define EF_MAX_FILE (1024 * 1024)

/* Where a file's contents go: the heap, or for a key (an unencrypted one
 * is the key itself) memory that is wiped when freed (keyfile.h). */
struct ef_file_mem {
	void *(*alloc)(size_t len);
	void (*release)(void *p);
};
extern const struct ef_file_mem ef_file_heap;

/* Reads the whole of the regular file open on fd, from its current offset,
 * into a buffer from mem one byte longer than the data, which ends in a
 * NUL (for text); *st_out (may be NULL) receives its fstat.  A file that
 * shrinks meanwhile is read as it is now.  False with errno set: EINVAL
 * not a regular file, EFBIG larger than max, ENOMEM, or read(2)'s. */
bool ef_file_read_fd(int fd, size_t max, const struct ef_file_mem *mem, unsigned char **out,
		     size_t *out_len, struct stat *st_out);

/* The same for the file path names.  It is opened with O_NONBLOCK, so a
 * FIFO named like a bundle file cannot hang the caller waiting for a
 * writer (it is refused as not regular); nofollow: the last component
 * must not be a symlink (a file found by a folder scan). */
bool ef_file_read(const char *path, bool nofollow, size_t max, const struct ef_file_mem *mem,
		  unsigned char **out, size_t *out_len);

/* Writes all of buf to fd, through short writes and EINTR.  False with
 * errno set (EIO when write returned 0). */
bool ef_file_write_all(int fd, const void *buf, size_t len);

/* A file's new contents, written beside it and renamed over it, so that
 * a reader (the module reading its configuration, a login reading a key)
 * sees the old file or the new one, whole, even after a crash:
 *
 *	struct ef_atomic a;
 *	if (!ef_atomic_begin(&a, path) ||            (a.tmp exists, mode 0600)
 *	    !ef_file_write_all(a.fd, data, len) ||   (and fchmod, attributes...)
 *	    !ef_atomic_commit(&a, NULL, NULL))
 *		say why, from errno, a.tmp and a.failed;
 *	ef_atomic_end(&a);                           (always) */
struct ef_atomic {
	const char *path;   /* the file replaced (the caller's string) */
	char *tmp;          /* PATH.new-XXXXXX, for messages; NULL without memory */
	int fd;             /* open on tmp, -1 once closed */
	bool created, renamed;
	/* What ef_atomic_commit failed at: writing (fsync, close), the
	 * caller's check, or the rename. */
	enum { EF_ATOMIC_WRITE, EF_ATOMIC_CHECK, EF_ATOMIC_RENAME } failed;
};
/* What follows the path in a temporary file's name: a process killed
 * before its rename leaves one, and only the owner of the file knows when
 * no other change is writing one (keyfile_posix.c removes them under its lock). */
#define EF_ATOMIC_SUFFIX ".new-XXXXXX"

/* Creates the temporary file beside path (mode 0600, close-on-exec).
 * False with errno set (ENOMEM when a.tmp is NULL). */
bool ef_atomic_begin(struct ef_atomic *a, const char *path);
/* Forces the data to the disk, lets check (may be NULL) read the file
 * back through fd and refuse it, closes it, renames it over the path and
 * forces the folder to the disk.  False with errno set and a->failed
 * saying where (after a refusing check errno means nothing). */
bool ef_atomic_commit(struct ef_atomic *a, bool (*check)(int fd, void *arg), void *arg);
/* Closes and removes the temporary file unless it was renamed, and
 * frees its name.  Keeps errno. */
void ef_atomic_end(struct ef_atomic *a);

#endif
