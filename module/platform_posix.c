/*
 * platform_posix.c - platform.h for Linux and other POSIX systems.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * With file_posix.c, keyfile_posix.c and watch_inotify.c, the only files
 * of the module that include POSIX headers (platform.h aside, for the
 * lock types).  It knows nothing of the module: no CKR, no log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "strv.h"

#ifndef EF_SYSCONF_PATH
#define EF_SYSCONF_PATH "/etc/efirma-pkcs11.conf"
#endif

/* ------------------------------------------------------ locks, threads */

/* A plain pthread mutex: on Linux it works for every thread an
 * application can have, so the application's mutex callbacks are accepted
 * but not needed. */
void ef_os_mutex_init(struct ef_os_mutex *m)
{
	pthread_mutex_init(&m->m, NULL);
}

void ef_os_mutex_destroy(struct ef_os_mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

void ef_os_mutex_lock(struct ef_os_mutex *m)
{
	pthread_mutex_lock(&m->m);
}

void ef_os_mutex_unlock(struct ef_os_mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

void ef_os_cond_wait(struct ef_os_cond *c, struct ef_os_mutex *m)
{
	pthread_cond_wait(&c->c, &m->m);
}

void ef_os_cond_broadcast(struct ef_os_cond *c)
{
	pthread_cond_broadcast(&c->c);
}

bool ef_os_thread_start(struct ef_os_thread *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	/* The new thread inherits this mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	bool ok = pthread_create(&t->t, NULL, fn, arg) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

void ef_os_thread_join(struct ef_os_thread *t)
{
	pthread_join(t->t, NULL);
}

bool ef_os_thread_join_within(struct ef_os_thread *t, unsigned ms)
{
	struct timespec limit;
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += ms / 1000;
	limit.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (limit.tv_nsec >= 1000000000L) {
		limit.tv_sec++;
		limit.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t->t, NULL, &limit) == 0;
}

/* ------------------------------------------------------------ process */

unsigned long ef_os_pid(void)
{
	return (unsigned long)getpid();
}

bool ef_os_privileged_start(void)
{
	/* The kernel sets AT_SECURE when the program gained privileges at
	 * exec (set-user-ID, set-group-ID, file capabilities, an LSM
	 * transition): exactly when the environment belongs to someone
	 * less trusted than the process. */
	return getauxval(AT_SECURE) != 0;
}

size_t ef_os_page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);

	return n > 0 ? (size_t)n : 4096;
}

void *ef_os_pages_alloc(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* Pages of their own, so that no other data shares the advice.  A
	 * kernel that does not know it (before Linux 3.4) still gets a
	 * buffer that is wiped: the advice is best effort. */
	(void)madvise(m, len, MADV_DONTDUMP);
	return m;
}

void ef_os_pages_free(void *p, size_t len)
{
	munmap(p, len);
}

void ef_os_write_stderr(const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, buf + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
}

/* ----------------------------------------------------- where files are */

const char *ef_os_home(void)
{
	const char *home = getenv("HOME");
	return home != NULL && home[0] == '/' ? home : NULL;
}

/* [XDG Base Directory Specification] "If $XDG_CONFIG_HOME is either not set
 * or empty, a default equal to $HOME/.config should be used." and "All
 * paths set in these environment variables must be absolute." */
bool ef_os_user_config_dir(char **dir)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = ef_os_home();

	*dir = NULL;
	if (xdg != NULL && xdg[0] == '/')
		*dir = strdup(xdg);
	else if (home == NULL)
		return true;
	else if (asprintf(dir, "%s%s.config", home, home[strlen(home) - 1] == '/' ? "" : "/") < 0)
		*dir = NULL;
	return *dir != NULL;
}

bool ef_os_system_config_file(char **path)
{
	*path = strdup(EF_SYSCONF_PATH);
	return *path != NULL;
}

bool ef_os_removable_roots(char ***roots, size_t *n)
{
	static const char *const bases[] = { "/media", "/run/media" };
	struct passwd pw, *found = NULL;
	char buf[4096];
	char **v;

	*roots = NULL;
	*n = 0;
	/* No user name (a container's anonymous UID): no roots. */
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) != 0 || !found ||
	    !found->pw_name[0] || strchr(found->pw_name, '/'))
		return true;
	v = calloc(2, sizeof(*v));
	if (!v)
		return false;
	for (size_t i = 0; i < 2; i++) {
		if (asprintf(&v[i], "%s/%s", bases[i], found->pw_name) < 0) {
			v[i] = NULL;
			ef_strv_free(v, i);
			return false;
		}
	}
	*roots = v;
	*n = 2;
	return true;
}

/* ------------------------------------------------------ files, folders */

static enum ef_os_kind kind_of(mode_t mode)
{
	return S_ISREG(mode) ? EF_OS_FILE : S_ISDIR(mode) ? EF_OS_DIR : EF_OS_OTHER;
}

static struct ef_file_id id_of(const struct stat *st)
{
	return (struct ef_file_id){ st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim };
}

static bool stat_at(int dirfd, const char *name, int flags, struct ef_file_id *id)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, flags) != 0 || !S_ISREG(st.st_mode))
		return false;
	*id = id_of(&st);
	return true;
}

enum ef_os_kind ef_os_path_kind(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? kind_of(st.st_mode) : EF_OS_NONE;
}

bool ef_os_file_id(const char *path, struct ef_file_id *id)
{
	return stat_at(AT_FDCWD, path, 0, id);
}

struct ef_os_dir {
	DIR *d;
	struct dirent *e;
};

bool ef_os_dir_open(const char *path, struct ef_os_dir **out)
{
	struct ef_os_dir *d = malloc(sizeof(*d));
	*out = NULL;
	if (!d) {
		errno = ENOMEM;
		return false;
	}
	d->e = NULL;
	d->d = opendir(path);
	if (!d->d) {
		int saved = errno;
		free(d);
		errno = saved;
		return false;
	}
	*out = d;
	return true;
}

const char *ef_os_dir_next(struct ef_os_dir *d)
{
	d->e = readdir(d->d);
	return d->e ? d->e->d_name : NULL;
}

enum ef_os_kind ef_os_dir_kind(struct ef_os_dir *d, struct ef_file_id *id)
{
	struct stat st;
	unsigned char type = d->e->d_type;

	/* The entry's type costs nothing; a file's id costs a stat. */
	if (type != DT_UNKNOWN && (!id || type != DT_REG))
		return type == DT_REG ? EF_OS_FILE : type == DT_DIR ? EF_OS_DIR : EF_OS_OTHER;
	if (fstatat(dirfd(d->d), d->e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return EF_OS_NONE;
	if (id && S_ISREG(st.st_mode))
		*id = id_of(&st);
	return kind_of(st.st_mode);
}

bool ef_os_dir_file_id(struct ef_os_dir *d, const char *name, struct ef_file_id *id)
{
	return stat_at(dirfd(d->d), name, AT_SYMLINK_NOFOLLOW, id);
}

void ef_os_dir_close(struct ef_os_dir *d)
{
	if (!d)
		return;
	closedir(d->d);
	free(d);
}
