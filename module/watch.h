/*
 * watch.h - being told that folders changed, instead of looking at them
 * over and over (doc/DESIGN.md §8, hot-plug).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A watch is a set of folders and, optionally, the mount table.  It only
 * says "something may have changed": the caller then rescans.  Where the
 * system cannot notify (no inotify, out of watches), the watch falls back
 * to saying so once a second, and only then: an idle process with
 * notification has no periodic wakeup at all.
 *
 * One implementation per platform (watch_inotify.c on Linux).  Every
 * function may be called with or without the global lock: the watch has
 * its own, and ef_watch_wait, which blocks, takes none.
 */
#ifndef EF_WATCH_H
#define EF_WATCH_H

#include <stdbool.h>
#include "efirma-pkcs11.h"

struct ef_watch;

/* mounts: also report changes of the mount table (a volume mounted or
 * unmounted under a removable root).  CKR_HOST_MEMORY only: without
 * notification the watch polls. */
CK_RV ef_watch_new(bool mounts, struct ef_watch **out);
struct ef_watch *ef_watch_ref(struct ef_watch *w);
void ef_watch_unref(struct ef_watch *w);
/* In a forked child's only thread: closes what the child inherited (the
 * parent's notification queue is shared with it) without taking a lock
 * that a parent thread may have held at the fork. */
void ef_watch_forget_forked(struct ef_watch *w);

/* The folder set is given anew at each rescan: begin, then each folder,
 * then end, which drops the folders not given this time.  A folder that
 * does not exist is watched through its parent, so that its creation is
 * noticed. */
void ef_watch_begin(struct ef_watch *w);
void ef_watch_dir(struct ef_watch *w, const char *path);
void ef_watch_end(struct ef_watch *w);

/* Never blocks: true when something may have changed since the last
 * call (an event, the mount table, or, when polling, a second passed). */
bool ef_watch_changed(struct ef_watch *w);
/* Blocks until something may have changed or ef_watch_wake is called;
 * may return early.  Call it without the global lock. */
void ef_watch_wait(struct ef_watch *w);
/* Makes the current or next ef_watch_wait return. */
void ef_watch_wake(struct ef_watch *w);
/* True when the watch polls instead of being notified (tests, trace). */
bool ef_watch_polling(struct ef_watch *w);

#endif
