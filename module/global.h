/*
 * global.h - the library's life cycle: initialized or not, in which
 * process, and the one short lock that guards the slot and session tables.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_GLOBAL_H
#define EF_GLOBAL_H

#include <stdbool.h>
#include "efirma-pkcs11.h"

/* CKR_OK when C_Initialize has succeeded in this very process.  In a
 * forked child it returns CKR_CRYPTOKI_NOT_INITIALIZED (the child must call
 * C_Initialize) and, once, wipes the keys the child inherited. */
CK_RV ef_global_check(void);

/* ef_global_check, then takes the lock.  On failure the lock is not held. */
CK_RV ef_global_enter(void);
void ef_global_lock(void);
void ef_global_unlock(void);
/* Releases the lock until ef_global_broadcast, then takes it again:
 * CKR_CRYPTOKI_NOT_INITIALIZED (the lock held all the same) if C_Finalize
 * ran meanwhile.  Wakes up spuriously too: wait in a loop. */
CK_RV ef_global_wait_inlock(void);
void ef_global_broadcast(void);

/* C_Initialize / C_Finalize bodies (argument checks are in entry). */
CK_RV ef_global_initialize(const char *reserved);
CK_RV ef_global_finalize(void);

#endif
