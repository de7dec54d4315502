/*
 * hotplug.h - tokens that come and go while programs run: when the slot
 * table is looked at again, and who waits for the files to change
 * (doc/DESIGN.md §8, hot-plug).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The watch (watch.h) tells that the bundles' folders, the removable
 * roots or the mount table changed; the slot table is then rescanned,
 * the sessions of tokens that went away are closed (their keys wiped by
 * the logout), and C_WaitForSlotEvent is woken.
 *
 * Who notices, and when:
 * - a thread of the module's own, when the application lets it create
 *   one: a removed token's key is wiped at once;
 * - else a thread blocked in C_WaitForSlotEvent (NSS runs one): it waits
 *   on the watch itself, without the lock;
 * - and in any case every call that looks at slots or starts work on a
 *   token first reads what the watch queued (one system call when
 *   nothing changed).
 * Nothing wakes up periodically while nothing changes, except where the
 * system cannot notify (the watch then polls once a second).
 *
 * Functions ending in _inlock need the global lock (lock.h).
 */
#ifndef EF_HOTPLUG_H
#define EF_HOTPLUG_H

#include <stdbool.h>
#include "efirma-pkcs11.h"
#include "config.h"

/* C_Initialize: the slot table from cfg, the watch, and the thread when
 * may_create_threads. */
CK_RV ef_hotplug_init_inlock(const struct ef_config *cfg, bool may_create_threads);
/* C_Finalize: no more rescans; the module's thread and any thread
 * waiting on the watch are woken to leave (once the caller releases the
 * lock). */
void ef_hotplug_stop_inlock(void);
/* Without the lock (C_Finalize once it has released it, C_Initialize):
 * waits for the thread of an initialization that ended to have left. */
void ef_hotplug_join(void);
/* The library's unloading: the thread stopped (even without C_Finalize)
 * and joined. */
void ef_hotplug_unload(void);
/* In a forked child's only thread: the parent's watch and thread are
 * not the child's. */
void ef_hotplug_forget_forked(void);

/* Rescans if the watch noticed something, or always when force (the
 * application asked to look again: C_GetSlotList's first call).  The
 * disk is read with the lock released (scan.h), so call it before
 * looking anything up; CKR_CRYPTOKI_NOT_INITIALIZED (the lock held all
 * the same) when C_Finalize ran meanwhile. */
CK_RV ef_hotplug_refresh_inlock(bool force);
/* Blocks until a rescan may have produced an event: the lock is released
 * meanwhile.  CKR_CRYPTOKI_NOT_INITIALIZED (the lock held all the same)
 * when C_Finalize ran meanwhile.  Wakes up spuriously too: wait in a
 * loop. */
CK_RV ef_hotplug_wait_inlock(void);

#endif
