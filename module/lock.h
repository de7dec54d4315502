/*
 * lock.h - the one global lock, and who holds it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The lock guards the slot table and its tokens, the session table and
 * its sessions, the CA pool and the token stamps (doc/DESIGN.md §5).  A function
 * that needs it held ends in _inlock, and nothing else does; in a build
 * configured with --enable-debug each _inlock function checks, on entry,
 * that the calling thread holds it (ef_assert_locked), and a violation
 * aborts with the function's name.  That check is about this module's own
 * code, never about what a caller passed in.  The layers below the token
 * (object, mech, folder, crypto) know nothing of the lock: they work on
 * what they are given, and a caller that gives them a token's objects or
 * a folder's key index holds the lock for that.
 *
 * Entry points take the lock through ef_lock() (global.h), which also
 * answers "is the library initialized in this process"; what is here is
 * the bare lock, for global.c and for the one core function that takes it
 * itself (ef_session_return_op).
 *
 * A forked child's first thread finds the lock as the parent's threads
 * left it, possibly held by a thread that does not exist in the child:
 * the fork path (functions ending in _forked) never takes it.
 */
#ifndef EF_LOCK_H
#define EF_LOCK_H

#include <stdbool.h>

void ef_lock_acquire(void);
void ef_lock_release(void);
/* Releases the lock until ef_lock_broadcast, then takes it again.  Wakes
 * up spuriously too: wait in a loop. */
void ef_lock_wait_inlock(void);
void ef_lock_broadcast(void);
/* In a forked child, single-threaded, before its first C_Initialize: a
 * fresh lock in place of the parent's. */
void ef_lock_reset_forked(void);

/* True when the calling thread holds the lock. */
bool ef_lock_held(void);

#ifdef EF_DEBUG
void ef_lock_check_held(const char *fn);
#define ef_assert_locked() ef_lock_check_held(__func__)
#else
#define ef_assert_locked() ((void)0)
#endif

#endif
