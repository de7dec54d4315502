/*
 * global.h - the library's life cycle: initialized or not, in which
 * process, and the one short lock that guards the slot and session tables.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_GLOBAL_H
#define EF_GLOBAL_H

#include <stdbool.h>
#include "efirma-pkcs11.h"
#include "lock.h"

/* CKR_OK when C_Initialize has succeeded in this very process; takes no
 * lock (for the calls that need none).  In a forked child it returns
 * CKR_CRYPTOKI_NOT_INITIALIZED (the child must call C_Initialize) and,
 * once, wipes the keys the child inherited. */
CK_RV ef_global_check(void);

/* Every entry point that touches a slot, token or session shows the lock
 * it holds, as a pair:
 *
 *	CK_RV rv = ef_lock();
 *	if (rv == CKR_OK) {
 *		rv = get_session_info_inlock(h, pInfo);
 *		ef_unlock();
 *	}
 *
 * (the _inlock function begins with ef_session_lookup_inlock(h, &s)).
 *
 * ef_lock takes the global lock of a library initialized in this
 * process: CKR_OK with the lock held, or CKR_CRYPTOKI_NOT_INITIALIZED
 * without it (ef_global_check, or C_Finalize ran while this thread
 * waited for the lock). */
CK_RV ef_lock(void);
void ef_unlock(void);
/* Releases the lock until ef_lock_broadcast, then takes it again:
 * CKR_CRYPTOKI_NOT_INITIALIZED (the lock held all the same) if C_Finalize
 * ran meanwhile.  Wakes up spuriously too: wait in a loop. */
CK_RV ef_global_wait_inlock(void);

/* C_Initialize / C_Finalize bodies (argument checks are in entry). */
/* may_create_threads: the application did not pass
 * CKF_LIBRARY_CANT_CREATE_OS_THREADS. */
CK_RV ef_global_initialize(const char *reserved, bool may_create_threads);
CK_RV ef_global_finalize(void);

#endif
