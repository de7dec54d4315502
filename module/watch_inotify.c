/*
 * watch_inotify.c - the watch (watch.h) on Linux: inotify for folders,
 * poll(2) on /proc/self/mountinfo for the mount table.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"
#include "grow.h"
#include "log.h"

/* What changes a scan's answer: a file or folder made, written, renamed
 * or deleted, the folder itself gone, its file system unmounted. */
#define DIR_EVENTS                                                                               \
	(IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_UNMOUNT | IN_ONLYDIR)
/* Without notification: how often the caller is told to look again. */
#define POLL_INTERVAL_MS 1000
/* After an event, the events that follow at once (a copy's two files)
 * are taken with it: one rescan, not one per file. */
#define SETTLE_MS 50

struct watched {
	int wd;
	/* NULL: every event counts.  Else the folder is watched for a
	 * missing child of that name, and only events naming it count. */
	char *only;
	bool kept;
};

struct ef_watch {
	atomic_int refs;
	pthread_mutex_t mu;
	int ino_fd; /* -1: polling */
	int wake_fd;
	int mount_fd;		  /* -1: the mount table is not watched */
	atomic_bool mounts_moved; /* seen by ef_watch_wait, not yet reported */
	atomic_bool polling;
	struct timespec last_poll;
	struct watched *w;
	size_t n, cap;
};

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

/* Under w->mu.  Notification is given up for good: a folder that cannot
 * be watched would otherwise never be looked at again. */
static void fall_back_to_polling(struct ef_watch *w, const char *why)
{
	if (atomic_load(&w->polling))
		return;
	ef_log_warn("cannot follow folders (%s): they are looked at once a second", why);
	atomic_store(&w->polling, true);
	clock_gettime(CLOCK_MONOTONIC, &w->last_poll);
}

CK_RV ef_watch_new(bool mounts, struct ef_watch **out)
{
	struct ef_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return EF_FAIL(CKR_HOST_MEMORY);
	atomic_init(&w->refs, 1);
	pthread_mutex_init(&w->mu, NULL);
	w->mount_fd = -1;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ino_fd < 0 || w->wake_fd < 0)
		fall_back_to_polling(w, strerror(errno));
	if (mounts)
		w->mount_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	*out = w;
	return CKR_OK;
}

struct ef_watch *ef_watch_ref(struct ef_watch *w)
{
	atomic_fetch_add(&w->refs, 1);
	return w;
}

static void close_fds(struct ef_watch *w)
{
	if (w->ino_fd >= 0)
		close(w->ino_fd);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	if (w->mount_fd >= 0)
		close(w->mount_fd);
}

static void free_table(struct ef_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->w[i].only);
	free(w->w);
}

void ef_watch_unref(struct ef_watch *w)
{
	if (!w || atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	close_fds(w);
	free_table(w);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void ef_watch_forget_forked(struct ef_watch *w)
{
	if (!w)
		return;
	/* The mutex may be held by a parent thread: neither taken nor
	 * destroyed; the memory is the child's to free. */
	close_fds(w);
	free_table(w);
	free(w);
}

void ef_watch_begin(struct ef_watch *w)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->n; i++)
		w->w[i].kept = false;
	pthread_mutex_unlock(&w->mu);
}

static struct watched *find_wd(struct ef_watch *w, int wd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->w[i].wd == wd)
			return &w->w[i];
	return NULL;
}

/* Under w->mu.  0, or why the folder is not watched (an errno). */
static int add(struct ef_watch *w, const char *path, const char *only)
{
	int wd = inotify_add_watch(w->ino_fd, path, DIR_EVENTS);
	if (wd < 0) {
		int err = errno;
		if (err == ENOSPC || err == ENOMEM)
			fall_back_to_polling(w, strerror(err));
		return err;
	}
	struct watched *e = find_wd(w, wd);
	if (e) {
		/* One folder, watched for itself and for a missing child:
		 * every event counts. */
		if (e->kept && (!only || !e->only || strcmp(e->only, only) != 0)) {
			free(e->only);
			e->only = NULL;
		} else if (!e->kept) {
			free(e->only);
			e->only = only ? strdup(only) : NULL;
		}
		e->kept = true;
		return 0;
	}
	struct watched *grown = ef_grow(w->w, w->n, &w->cap, 16, sizeof(*grown));
	char *copy = only ? strdup(only) : NULL;
	if (!grown || (only && !copy)) {
		free(copy);
		if (grown)
			w->w = grown;
		inotify_rm_watch(w->ino_fd, wd);
		fall_back_to_polling(w, "out of memory");
		return ENOMEM;
	}
	w->w = grown;
	w->w[w->n++] = (struct watched){ wd, copy, true };
	return 0;
}

void ef_watch_dir(struct ef_watch *w, const char *path)
{
	pthread_mutex_lock(&w->mu);
	if (atomic_load(&w->polling))
		goto out;
	int before = errno;
	if (add(w, path, NULL) == ENOENT && !atomic_load(&w->polling)) {
		/* Not there yet: its parent tells when it is made. */
		char parent[PATH_MAX];
		const char *slash = strrchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : 0;
		if (slash && len < sizeof(parent) && slash[1]) {
			memcpy(parent, path, len ? len : 1);
			parent[len ? len : 1] = '\0';
			add(w, parent, slash + 1);
		}
	}
	errno = before;
out:
	pthread_mutex_unlock(&w->mu);
}

void ef_watch_end(struct ef_watch *w)
{
	pthread_mutex_lock(&w->mu);
	size_t kept = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (w->w[i].kept) {
			w->w[kept++] = w->w[i];
			continue;
		}
		inotify_rm_watch(w->ino_fd, w->w[i].wd);
		free(w->w[i].only);
	}
	w->n = kept;
	pthread_mutex_unlock(&w->mu);
}

/* Under w->mu: reads every queued event; true if one of them counts. */
static bool drain_events(struct ef_watch *w)
{
	_Alignas(struct inotify_event) char buf[4096];
	bool changed = false;
	for (;;) {
		ssize_t got = read(w->ino_fd, buf, sizeof(buf));
		if (got <= 0)
			return changed;
		for (char *p = buf; p < buf + got;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			const struct watched *e = find_wd(w, ev->wd);
			/* A lost queue, a folder gone, or a watch that
			 * no longer is: look again to be sure. */
			if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED) || !e || !e->only ||
			    (ev->len && strcmp(ev->name, e->only) == 0))
				changed = true;
		}
	}
}

static bool mounts_moved_now(struct ef_watch *w)
{
	if (w->mount_fd < 0)
		return false;
	/* The kernel reports a changed mount table once per open file, at
	 * the first poll after the change. */
	struct pollfd p = { w->mount_fd, POLLPRI, 0 };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR));
}

bool ef_watch_changed(struct ef_watch *w)
{
	bool changed = atomic_exchange(&w->mounts_moved, false) || mounts_moved_now(w);
	pthread_mutex_lock(&w->mu);
	if (atomic_load(&w->polling)) {
		if (ms_since(&w->last_poll) >= POLL_INTERVAL_MS) {
			clock_gettime(CLOCK_MONOTONIC, &w->last_poll);
			changed = true;
		}
	} else if (drain_events(w)) {
		changed = true;
	}
	pthread_mutex_unlock(&w->mu);
	return changed;
}

void ef_watch_wait(struct ef_watch *w)
{
	struct pollfd p[3];
	nfds_t n = 0;
	/* The descriptors live as long as the watch, which the caller
	 * holds a reference to: reading them needs no lock. */
	if (w->wake_fd >= 0)
		p[n++] = (struct pollfd){ w->wake_fd, POLLIN, 0 };
	if (w->mount_fd >= 0)
		p[n++] = (struct pollfd){ w->mount_fd, POLLPRI, 0 };
	bool notified = w->ino_fd >= 0 && !atomic_load(&w->polling);
	if (w->ino_fd >= 0)
		p[n++] = (struct pollfd){ w->ino_fd, POLLIN, 0 };
	int got = poll(p, n, notified ? -1 : POLL_INTERVAL_MS);
	if (got <= 0)
		return;
	for (nfds_t i = 0; i < n; i++) {
		if (p[i].fd == w->wake_fd && (p[i].revents & POLLIN)) {
			uint64_t v;
			if (read(w->wake_fd, &v, sizeof(v)) < 0)
				continue;
		}
		if (p[i].fd == w->mount_fd && (p[i].revents & (POLLPRI | POLLERR)))
			atomic_store(&w->mounts_moved, true);
		if (p[i].fd == w->ino_fd && (p[i].revents & POLLIN)) {
			struct timespec settle = { 0, SETTLE_MS * 1000000L };
			nanosleep(&settle, NULL);
		}
	}
}

void ef_watch_wake(struct ef_watch *w)
{
	uint64_t one = 1;
	if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: a wakeup is pending anyway */
}

bool ef_watch_polling(struct ef_watch *w)
{
	return atomic_load(&w->polling);
}
