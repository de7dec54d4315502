/*
 * hotplug.c - when the slot table is looked at again (hotplug.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pthread.h>
#include <signal.h>

#include "hotplug.h"
#include "lock.h"
#include "log.h"
#include "session.h"
#include "slots.h"
#include "watch.h"

/* The watch of this initialization; NULL before C_Initialize and after
 * C_Finalize, which is how a thread coming back from a wait knows. */
static struct ef_watch *watch;
static pthread_t thread;
static bool have_thread;
/* A thread is blocked on the watch for everyone: the others wait for
 * the lock's broadcast instead of reading the same notifications. */
static bool turn_taken;

static CK_RV rescan_inlock(void)
{
	ef_assert_locked();
	CK_RV rv = ef_slots_rescan_inlock(watch);
	/* Also after a failed rescan: what it did unload is gone. */
	ef_sessions_close_stale_inlock();
	if (ef_slots_events_inlock()) {
		ef_lock_broadcast();
		/* The thread blocked on the watch, if another one read the
		 * notifications first, has an event to report. */
		ef_watch_wake(watch);
	}
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
		ef_lock_acquire();
		if (watch != w) {
			ef_lock_release();
			break;
		}
		if (ef_watch_changed(w) && rescan_inlock() != CKR_OK)
			ef_fail_forget(); /* the next change or call tries again */
		ef_lock_release();
	}
	ef_watch_unref(w);
	return NULL;
}

static void start_thread_inlock(void)
{
	ef_assert_locked();
	sigset_t all, old;
	/* The application's signals are for its own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ef_watch_ref(watch);
	have_thread = pthread_create(&thread, NULL, watch_thread, watch) == 0;
	if (!have_thread) {
		ef_watch_unref(watch);
		ef_log_warn("cannot start the thread that follows the bundles' folders; "
			    "changes are seen at the next calls");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

CK_RV ef_hotplug_init_inlock(const struct ef_config *cfg, bool may_create_threads)
{
	ef_assert_locked();
	CK_RV rv = ef_watch_new(!cfg->removable_off, &watch);
	if (rv != CKR_OK)
		return rv;
	rv = ef_slots_init_inlock(cfg, watch);
	if (rv != CKR_OK) {
		ef_slots_fini_inlock();
		ef_watch_unref(watch);
		watch = NULL;
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
	ef_watch_wake(watch);
	ef_watch_unref(watch);
	watch = NULL;
	ef_lock_broadcast();
}

void ef_hotplug_join(void)
{
	if (!have_thread)
		return;
	pthread_join(thread, NULL);
	have_thread = false;
}

void ef_hotplug_forget_forked(void)
{
	ef_watch_forget_forked(watch);
	watch = NULL;
	have_thread = false;
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
