/*
 * global.h - the library's life cycle: initialized or not, in which
 * process; the top of the core, above the session and slot tables (the
 * lock that guards them is in lock.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_GLOBAL_H
#define EF_GLOBAL_H

#include <stdbool.h>
#include "efirma-pkcs11.h"
#include "lock.h"   /* ef_global_lock, ef_global_unlock, ef_global_broadcast */

/* CKR_OK when C_Initialize has succeeded in this very process.  In a
 * forked child it returns CKR_CRYPTOKI_NOT_INITIALIZED (the child must call
 * C_Initialize) and, once, wipes the keys the child inherited. */
CK_RV ef_global_check(void);

/* ef_global_check, then takes the lock.  On failure the lock is not held. */
CK_RV ef_global_enter(void);
/* Releases the lock until ef_global_broadcast, then takes it again:
 * CKR_CRYPTOKI_NOT_INITIALIZED (the lock held all the same) if C_Finalize
 * ran meanwhile.  Wakes up spuriously too: wait in a loop. */
CK_RV ef_global_wait_inlock(void);

/* C_Initialize / C_Finalize bodies (argument checks are in entry). */
CK_RV ef_global_initialize(const char *reserved);
CK_RV ef_global_finalize(void);

#endif
