/*
 * file.h - reading a whole file: the one reader of the module (and of the
 * parts of it efirma-tool links).
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

#endif
