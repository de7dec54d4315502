/*
 * file_posix.c - reading a whole file and replacing one (file.h), with
 * POSIX calls.  Windows needs its own (UTF-16 paths, MoveFileExW with
 * MOVEFILE_WRITE_THROUGH): nothing of this file's system calls carries
 * over, so file.h is the interface, as watch.h is for watch_inotify.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

const struct ef_file_mem ef_file_heap = { malloc, free };

bool ef_file_read_fd(int fd, size_t max, const struct ef_file_mem *mem, unsigned char **out,
		     size_t *out_len, struct stat *st_out)
{
	unsigned char *buf;
	size_t len = 0;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return false;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (unsigned long long)st.st_size > max) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return false;
	}
	buf = mem->alloc((size_t)st.st_size + 1);
	if (!buf) {
		errno = ENOMEM;
		return false;
	}
	/* The size may change under us: read what is there, up to it. */
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			mem->release(buf);
			errno = saved;
			return false;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (st_out)
		*st_out = st;
	*out = buf;
	*out_len = len;
	return true;
}

bool ef_file_read(const char *path, bool nofollow, size_t max, const struct ef_file_mem *mem,
		  unsigned char **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
			  (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return false;
	bool ok = ef_file_read_fd(fd, max, mem, out, out_len, NULL);
	int saved = errno;
	close(fd);
	errno = saved;
	return ok;
}

bool ef_file_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		p += w;
		len -= (size_t)w;
	}
	return true;
}

bool ef_atomic_begin(struct ef_atomic *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->path = path;
	a->fd = -1;
	if (asprintf(&a->tmp, "%s" EF_ATOMIC_SUFFIX, path) < 0) {
		a->tmp = NULL;
		errno = ENOMEM;
		return false;
	}
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	a->created = a->fd >= 0;
	return a->created;
}

/* The rename is in the folder's entry: without this a crash may still
 * show the old file. */
static void sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

bool ef_atomic_commit(struct ef_atomic *a, bool (*check)(int fd, void *arg), void *arg)
{
	a->failed = EF_ATOMIC_WRITE;
	if (fsync(a->fd) != 0)
		return false;
	if (check && !check(a->fd, arg)) {
		a->failed = EF_ATOMIC_CHECK;
		return false;
	}
	int r = close(a->fd);
	a->fd = -1;
	if (r != 0)
		return false;
	if (rename(a->tmp, a->path) != 0) {
		a->failed = EF_ATOMIC_RENAME;
		return false;
	}
	a->renamed = true;
	sync_dir_of(a->path);
	return true;
}

void ef_atomic_end(struct ef_atomic *a)
{
	int saved = errno;

	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	/* Not created: the name may be another process's file. */
	if (a->created && !a->renamed)
		unlink(a->tmp);
	free(a->tmp);
	a->tmp = NULL;
	errno = saved;
}
