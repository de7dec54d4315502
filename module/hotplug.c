/*
 * hotplug.c - when the slot table is looked at again (hotplug.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdatomic.h>

#include "hotplug.h"
#include "crypto.h"
#include "lock.h"
#include "log.h"
#include "platform.h"
#include "scan.h"
#include "session.h"
#include "slots.h"
#include "watch.h"

/* The watch of this initialization; NULL before C_Initialize and after
 * C_Finalize, which is how a thread coming back from a wait knows. */
static struct ef_watch *watch;
static struct ef_sources *sources;
static struct ef_os_thread thread;
static bool have_thread;
/* The thread was told to leave (C_Finalize): it may be joined. */
static bool thread_stopping;
/* The process that started it: a child forked after C_Finalize has the
 * flags but not the thread. */
static unsigned long thread_pid;
/* The watch the thread waits on, held for whoever must wake it without
 * the lock (the library's unloading). */
static struct ef_watch *thread_watch;
/* The library is being unloaded: the thread leaves without the lock. */
static atomic_bool unloading;
/* A thread is blocked on the watch for everyone: the others wait for
 * the lock's broadcast instead of reading the same notifications. */
static bool turn_taken;

/* Reads the disk without the lock, then applies what it read with it:
 * the lock is released in between, so the caller holds no pointer into
 * the tables across this call. */
static CK_RV rescan_inlock(void)
{
	ef_assert_locked();
	struct ef_watch *w = ef_watch_ref(watch);
	struct ef_sources *src = ef_sources_ref(sources);
	struct ef_scan scan;
	/* The sources' mutex first, the global lock second: one rescan at
	 * a time, applied in the order it was read. */
	ef_lock_release();
	ef_sources_lock(src);
	CK_RV rv = ef_scan_read(src, w, &scan);
	ef_lock_acquire();
	if (watch != w) {
		rv = EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED); /* C_Finalize ran meanwhile */
	} else if (rv == CKR_OK) {
		rv = ef_slots_apply_inlock(&scan);
		/* Also after a failed one: what it did unload is gone. */
		ef_sessions_close_stale_inlock();
		if (ef_slots_events_inlock()) {
			ef_lock_broadcast();
			/* The thread blocked on the watch, if another one read
			 * the notifications first, has an event to report. */
			ef_watch_wake(w);
		}
	}
	ef_sources_unlock(src);
	ef_scan_free(&scan);
	ef_sources_unref(src);
	ef_watch_unref(w);
	return rv;
}

CK_RV ef_hotplug_refresh_inlock(bool force)
{
	ef_assert_locked();
	if (!watch)
		return CKR_OK;
	bool changed = ef_watch_changed(watch);
	return changed || force ? rescan_inlock() : CKR_OK;
}

/* The module's own watcher: waits without the lock, rescans with it. */
static void *watch_thread(void *arg)
{
	struct ef_watch *w = arg;
	for (;;) {
		ef_watch_wait(w);
		if (atomic_load(&unloading))
			break;
		ef_lock_acquire();
		if (watch != w) {
			ef_lock_release();
			break;
		}
		if (ef_watch_changed(w) && rescan_inlock() != CKR_OK)
			ef_fail_forget(); /* the next change or call tries again */
		ef_lock_release();
		/* OpenSSL's state of this thread (its error queue, set up by
		 * the certificates' parsing) is freed while it waits, so it
		 * leaves (above, before any OpenSSL call) holding none: a
		 * program that exits without C_Finalize runs OpenSSL's
		 * cleanup before the library's unloading wakes this thread. */
		ef_crypto_thread_done();
	}
	ef_watch_unref(w);
	return NULL;
}

static void start_thread_inlock(void)
{
	ef_assert_locked();
	ef_watch_ref(watch);
	have_thread = ef_os_thread_start(&thread, watch_thread, watch);
	thread_pid = ef_os_pid();
	if (have_thread) {
		ef_watch_unref(thread_watch);
		thread_watch = ef_watch_ref(watch);
	} else {
		ef_watch_unref(watch);
		ef_log_warn("cannot start the thread that follows the bundles' folders; "
			    "changes are seen at the next calls");
	}
}

CK_RV ef_hotplug_init_inlock(const struct ef_config *cfg, bool may_create_threads)
{
	ef_assert_locked();
	struct ef_scan scan = { 0 };
	CK_RV rv = ef_sources_new(cfg, &sources);
	if (rv != CKR_OK)
		return rv;
	rv = ef_watch_new(!cfg->removable_off, &watch);
	if (rv == CKR_OK) {
		/* The sources are this thread's alone until the watcher starts:
		 * read without their mutex, which is never taken under the
		 * global lock (scan.h). */
		rv = ef_scan_read(sources, watch, &scan);
		if (rv == CKR_OK)
			rv = ef_slots_init_inlock(cfg, &scan, ef_sources_dynamic(sources));
		ef_scan_free(&scan);
	}
	if (rv != CKR_OK) {
		ef_slots_fini_inlock();
		ef_watch_unref(watch);
		ef_sources_unref(sources);
		watch = NULL;
		sources = NULL;
		return rv;
	}
	turn_taken = false;
	if (may_create_threads)
		start_thread_inlock();
	ef_log_trace("following the bundles' files: %s%s",
		     ef_watch_polling(watch) ? "looking once a second" : "notified",
		     have_thread ? ", by a thread of the module" : ", at calls");
	return CKR_OK;
}

void ef_hotplug_stop_inlock(void)
{
	ef_assert_locked();
	if (!watch)
		return;
	thread_stopping = have_thread;
	ef_watch_wake(watch);
	ef_watch_unref(watch);
	ef_sources_unref(sources);
	watch = NULL;
	sources = NULL;
	ef_lock_broadcast();
}

void ef_hotplug_join(void)
{
	/* C_Finalize joins without the global lock, and a C_Initialize
	 * racing it on another thread would join the same thread: one at a
	 * time.  The watcher never takes this mutex. */
	static struct ef_os_mutex joining = EF_OS_MUTEX_INIT;
	ef_os_mutex_lock(&joining);
	/* A thread not told to leave belongs to a library still
	 * initialized (C_Initialize called twice): left running. */
	if (have_thread && thread_stopping) {
		if (thread_pid == ef_os_pid())
			ef_os_thread_join(&thread);
		have_thread = thread_stopping = false;
		ef_watch_unref(thread_watch);
		thread_watch = NULL;
	}
	ef_os_mutex_unlock(&joining);
}

void ef_hotplug_unload(void)
{
	if (!have_thread || thread_pid != ef_os_pid())
		return;
	/* The thread must not outlive its code.  Unloaded without
	 * C_Finalize (a program that exits), the lock may be held by a
	 * thread in the middle of a call: the watcher is told without it,
	 * and not waited for long, the process being on its way out. */
	atomic_store(&unloading, true);
	ef_watch_wake(thread_watch);
	if (ef_os_thread_join_within(&thread, 200)) {
		have_thread = thread_stopping = false;
		ef_watch_unref(thread_watch);
		thread_watch = NULL;
	}
}

void ef_hotplug_forget_forked(void)
{
	/* The watch of a thread woken by C_Finalize and not yet joined is
	 * another than the current one (NULL after C_Finalize). */
	if (thread_watch != watch)
		ef_watch_forget_forked(thread_watch);
	ef_watch_forget_forked(watch);
	ef_sources_forget_forked(sources);
	watch = NULL;
	sources = NULL;
	have_thread = thread_stopping = false;
	thread_watch = NULL;
	turn_taken = false;
}

CK_RV ef_hotplug_wait_inlock(void)
{
	ef_assert_locked();
	struct ef_watch *w = watch;
	if (!w)
		return EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED);
	if (have_thread || turn_taken) {
		ef_lock_wait_inlock();
	} else {
		turn_taken = true;
		ef_watch_ref(w);
		ef_lock_release();
		ef_watch_wait(w);
		ef_lock_acquire();
		ef_watch_unref(w);
		if (watch == w)
			turn_taken = false;
		/* Another waiter may take the turn now. */
		ef_lock_broadcast();
	}
	return watch == w ? CKR_OK : EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED);
}
