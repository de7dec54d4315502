/*
 * faultshim.c - an LD_PRELOAD library for the C_SetPIN fault test
 * (test-setpin-faults.c): it counts the file-system steps of a password
 * change and makes one of them fail, or kills the process there.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Intercepted: write, fsync, fdatasync, close, flock, fchmod, rename,
 * renameat, unlink, linkat.  Only calls on paths containing $EF_FAULT_MATCH count (a file
 * descriptor's path is read from /proc/self/fd), so the program's own
 * output does not.  Environment:
 *   EF_FAULT_MATCH   the folder of the .key under test
 *   EF_FAULT_STEP    the step to act on (1-based); 0 or unset: only count
 *   EF_FAULT_ACTION  kill-before | kill-after | eio | enospc
 *   EF_FAULT_LOG     file that receives one line per counted step
 * "kill-before" sends SIGKILL instead of making the call, "kill-after"
 * makes it and then sends SIGKILL; "eio" / "enospc" return -1 with that
 * errno without making the call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int step_no;

#define REAL(name, type) \
	static type real_##name; \
	if (!real_##name) \
		real_##name = (type)dlsym(RTLD_NEXT, #name)

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*fd_fn)(int);
typedef int (*flock_fn)(int, int);
typedef int (*fchmod_fn)(int, mode_t);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);
typedef int (*unlink_fn)(const char *);
typedef int (*linkat_fn)(int, const char *, int, const char *, int);

static int fd_path(int fd, char *path, size_t size)
{
	char link[64];
	const char *match = getenv("EF_FAULT_MATCH");
	ssize_t n;

	if (!match || !*match || fd < 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, size - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strstr(path, match) != NULL;
}

static int path_matches(const char *p)
{
	const char *match = getenv("EF_FAULT_MATCH");
	return match && *match && p && strstr(p, match) != NULL;
}

static void log_step(const char *call, const char *path)
{
	REAL(write, write_fn);
	REAL(close, fd_fn);
	const char *log = getenv("EF_FAULT_LOG");
	char line[1200];
	int fd, n;

	if (!log || !real_write || !real_close)
		return;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%d %s %s\n", step_no, call, path);
	if (n > 0)
		(void)!real_write(fd, line, (size_t)n);
	real_close(fd);
}

enum verdict { GO, FAIL, KILL_AFTER };

/* Counts one step; says what to do with it. */
static enum verdict step(const char *call, const char *path, int fail_errno)
{
	const char *s = getenv("EF_FAULT_STEP");
	const char *action = getenv("EF_FAULT_ACTION");
	int target = s ? atoi(s) : 0;

	step_no++;
	log_step(call, path);
	if (target != step_no || !action)
		return GO;
	if (strcmp(action, "kill-before") == 0)
		kill(getpid(), SIGKILL);
	if (strcmp(action, "kill-after") == 0)
		return KILL_AFTER;
	if (strcmp(action, "enospc") == 0)
		errno = fail_errno == EIO ? ENOSPC : fail_errno;
	else
		errno = EIO;
	return FAIL;
}

static void after(enum verdict v)
{
	if (v == KILL_AFTER)
		kill(getpid(), SIGKILL);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write, write_fn);
	char path[1024];
	enum verdict v = GO;
	if (fd_path(fd, path, sizeof(path)))
		v = step("write", path, ENOSPC);
	if (v == FAIL)
		return -1;
	ssize_t r = real_write(fd, buf, len);
	after(v);
	return r;
}

#define FD_CALL(name, fail_errno)                                       \
	int name(int fd)                                                \
	{                                                               \
		REAL(name, fd_fn);                                      \
		char path[1024];                                        \
		enum verdict v = GO;                                    \
		if (fd_path(fd, path, sizeof(path)))                    \
			v = step(#name, path, fail_errno);              \
		if (v == FAIL)                                          \
			return -1;                                      \
		int r = real_##name(fd);                                \
		after(v);                                               \
		return r;                                               \
	}

/* A full disk shows at fsync too (delayed allocation); close reports
 * errors of NFS and the like. */
FD_CALL(fsync, ENOSPC)
FD_CALL(fdatasync, ENOSPC)
FD_CALL(close, EIO)

/* The key's lock (a file system without locks answers ENOLCK), and the
 * new file's mode. */
int flock(int fd, int op)
{
	REAL(flock, flock_fn);
	char path[1024];
	enum verdict v = GO;
	if (fd_path(fd, path, sizeof(path)))
		v = step("flock", path, ENOLCK);
	if (v == FAIL)
		return -1;
	int r = real_flock(fd, op);
	after(v);
	return r;
}

int fchmod(int fd, mode_t mode)
{
	REAL(fchmod, fchmod_fn);
	char path[1024];
	enum verdict v = GO;
	if (fd_path(fd, path, sizeof(path)))
		v = step("fchmod", path, EPERM);
	if (v == FAIL)
		return -1;
	int r = real_fchmod(fd, mode);
	after(v);
	return r;
}

int rename(const char *from, const char *to)
{
	REAL(rename, rename_fn);
	enum verdict v = GO;
	if (path_matches(from) || path_matches(to))
		v = step("rename", to, ENOSPC);
	if (v == FAIL)
		return -1;
	int r = real_rename(from, to);
	after(v);
	return r;
}

int renameat(int dfd1, const char *from, int dfd2, const char *to)
{
	REAL(renameat, renameat_fn);
	enum verdict v = GO;
	if (path_matches(from) || path_matches(to))
		v = step("renameat", to, ENOSPC);
	if (v == FAIL)
		return -1;
	int r = real_renameat(dfd1, from, dfd2, to);
	after(v);
	return r;
}

int unlink(const char *path)
{
	REAL(unlink, unlink_fn);
	enum verdict v = GO;
	if (path_matches(path))
		v = step("unlink", path, EIO);
	if (v == FAIL)
		return -1;
	int r = real_unlink(path);
	after(v);
	return r;
}

int linkat(int dfd1, const char *from, int dfd2, const char *to, int flags)
{
	REAL(linkat, linkat_fn);
	enum verdict v = GO;
	if (path_matches(to))
		v = step("linkat", to, ENOSPC);
	if (v == FAIL)
		return -1;
	int r = real_linkat(dfd1, from, dfd2, to, flags);
	after(v);
	return r;
}
