/*
 * lock.h - the one short global lock that guards the slot and session
 * tables, and the condition that C_WaitForSlotEvent waits on (lock.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Its own file, below everything that takes it: the session table takes
 * it (session.c) and the library's life cycle (global.c) both takes it and
 * drives the session table, so the lock cannot live in global.c without
 * an include cycle.
 */
#ifndef EF_LOCK_H
#define EF_LOCK_H

void ef_global_lock(void);
void ef_global_unlock(void);
/* Releases the lock until ef_global_broadcast, then takes it again.
 * Wakes up spuriously too: wait in a loop. */
void ef_global_wait_changed_inlock(void);
void ef_global_broadcast(void);
/* In a forked child: a fresh lock and condition, without touching the
 * parent's, which a thread that no longer exists may hold forever. */
void ef_global_lock_reinit(void);

#endif
