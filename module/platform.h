/*
 * platform.h - what differs between the systems the module runs on:
 * threads and locks, the process (fork), where the user's and the
 * system's files are, folder listings.  One implementation per system
 * (platform_posix.c; Windows: issue 15); the rest of the module calls
 * these and includes no system-specific header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Only what a system really does differently is here: the C library's
 * own calls (stdio, malloc, <stdatomic.h>, _Thread_local) are used
 * directly everywhere.  Paths are UTF-8 strings (on Windows converted to
 * UTF-16 inside, never passed through the ANSI code page).
 *
 * Reading a file and replacing one atomically (file.h), a key's password
 * change that keeps the user's file (keyfile.h) and being told of changes
 * (watch.h) have interfaces of their own, one file per system
 * (file_posix.c, keyfile_posix.c, watch_inotify.c): no step of them
 * carries over between POSIX and Windows.
 */
#ifndef EF_PLATFORM_H
#define EF_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The types of a lock, a condition and a thread are here so that a lock
 * can be a static object initialized at compile time (the module's
 * global lock exists before any call).  Windows: SRWLOCK,
 * CONDITION_VARIABLE and a HANDLE, under #ifdef _WIN32. */
/* clang-format off */
#include <pthread.h>
struct ef_os_mutex {
	pthread_mutex_t m;
};
struct ef_os_cond {
	pthread_cond_t c;
};
struct ef_os_thread {
	pthread_t t;
};
#define EF_OS_MUTEX_INIT { PTHREAD_MUTEX_INITIALIZER }
#define EF_OS_COND_INIT { PTHREAD_COND_INITIALIZER }
/* clang-format on */

/* ------------------------------------------------------ locks, threads */

/* A mutex not initialized statically (EF_OS_MUTEX_INIT). */
void ef_os_mutex_init(struct ef_os_mutex *m);
void ef_os_mutex_destroy(struct ef_os_mutex *m);
void ef_os_mutex_lock(struct ef_os_mutex *m);
void ef_os_mutex_unlock(struct ef_os_mutex *m);
/* Releases m (held) until c is broadcast, then takes it again.  Wakes
 * up spuriously too: wait in a loop. */
void ef_os_cond_wait(struct ef_os_cond *c, struct ef_os_mutex *m);
void ef_os_cond_broadcast(struct ef_os_cond *c);

/* Starts fn(arg) in a thread of the module's own, which receives none of
 * the application's signals (they are for the application's threads).
 * False when no thread could be started. */
bool ef_os_thread_start(struct ef_os_thread *t, void *(*fn)(void *), void *arg);
void ef_os_thread_join(struct ef_os_thread *t);
/* Joins t if it ends within ms milliseconds; false when it did not. */
bool ef_os_thread_join_within(struct ef_os_thread *t, unsigned ms);

/* ------------------------------------------------------------ process */

/* This process's id.  A forked child has another: that is how the module
 * notices a fork without pthread_atfork (global.c).  Where there is no
 * fork (Windows) it never changes while the module is loaded. */
unsigned long ef_os_pid(void);
/* True when the program gained privileges when it started (set-user-ID
 * and the like): its environment belongs to a less trusted user
 * (secure_env.h).  Never on a system without such programs. */
bool ef_os_privileged_start(void);
/* The size of a memory page. */
size_t ef_os_page_size(void);
/* len bytes (a multiple of the page size) of zeroed pages of their own,
 * left out of core dumps where the system allows it; NULL when there is
 * no memory.  ef_os_pages_free gives them back (not wiped here). */
void *ef_os_pages_alloc(size_t len);
void ef_os_pages_free(void *p, size_t len);
/* Writes all of buf to the standard error, in as few writes as the
 * system takes (one line must not be split by another thread's); errors
 * are ignored: there is nowhere to report them. */
void ef_os_write_stderr(const char *buf, size_t len);

/* ----------------------------------------------------- where files are */

/* These read the environment: a caller in a process that must not trust
 * it (ef_env_secure, secure_env.h) does not ask.  Each returns false only
 * when memory runs out. */

/* The user's home folder, what "~" means in a configured path; NULL when
 * there is none usable (not an absolute path). */
const char *ef_os_home(void);
/* The folder of the user's configuration files, malloc'd: on Linux
 * $XDG_CONFIG_HOME, else ~/.config; *dir NULL when there is none. */
bool ef_os_user_config_dir(char **dir);
/* The system-wide configuration file, malloc'd. */
bool ef_os_system_config_file(char **path);
/* Where removable volumes appear, when the configuration names no root:
 * on Linux the effective user's folders under /media and /run/media, from
 * the password database (never $USER, which a set-user-ID caller would
 * choose).  An array of *n malloc'd paths (ef_strv_free), maybe none. */
bool ef_os_removable_roots(char ***roots, size_t *n);

/* ------------------------------------------------------ files, folders */

/* What tells that a file changed since it was last read. */
struct ef_file_id {
	uint64_t dev, ino;
	int64_t size;
	struct timespec mtime, ctime;
};

enum ef_os_kind {
	EF_OS_NONE, /* nothing there, or it cannot be looked at */
	EF_OS_FILE, /* a regular file */
	EF_OS_DIR,
	EF_OS_OTHER, /* a device, a FIFO; for a folder's entry also a symlink */
};

/* What path is, symlinks followed. */
enum ef_os_kind ef_os_path_kind(const char *path);
/* The id of the regular file at path (a symlink followed); false when
 * there is none. */
bool ef_os_file_id(const char *path, struct ef_file_id *id);

/* A folder being read, entry by entry, in no particular order. */
struct ef_os_dir;
/* False with errno set when the folder cannot be read. */
bool ef_os_dir_open(const char *path, struct ef_os_dir **d);
/* The next entry's name ("." and ".." among them), valid until the next
 * call; NULL after the last one. */
const char *ef_os_dir_next(struct ef_os_dir *d);
/* What the entry ef_os_dir_next returned last is itself (a symlink is
 * EF_OS_OTHER, never followed): from the listing when it says, else from
 * the file system.  id, when not NULL, receives a regular file's id (the
 * file system is asked then). */
enum ef_os_kind ef_os_dir_kind(struct ef_os_dir *d, struct ef_file_id *id);
/* The id of the regular file name in d, a symlink not followed; false
 * (id untouched) when it is none. */
bool ef_os_dir_file_id(struct ef_os_dir *d, const char *name, struct ef_file_id *id);
void ef_os_dir_close(struct ef_os_dir *d);

#endif
