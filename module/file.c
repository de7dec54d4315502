/*
 * file.c - reading a whole file (see file.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
