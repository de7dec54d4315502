/*
 * slots.h - the slot table: which bundles exist, from the configuration
 * and from scanned folders, and the CA certificates that chain them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Slot IDs are stable for the life of the process (a path keeps its ID
 * across C_Finalize/C_Initialize and across a rescan) and never 0 or 1.
 * Functions ending in _inlock need the global lock (lock.h).
 */
#ifndef EF_SLOTS_H
#define EF_SLOTS_H

#include <stddef.h>
#include "efirma-pkcs11.h"
#include "config.h"
#include "token.h"

CK_RV ef_slots_init_inlock(const struct ef_config *cfg);
void ef_slots_fini_inlock(void);
/* Forgets the path -> slot ID registry (library unload only). */
void ef_slots_forget_ids(void);

/* In a forked child's only thread, without the lock (global.c): logs
 * every token out, wiping the keys the child inherited. */
void ef_slots_wipe_keys_forked(void);

/* Looks at the scanned folders again: new bundles become new slots, a
 * vanished certificate leaves its slot without a token, a changed one is
 * reloaded.  Only directory reads and stat calls unless something changed. */
CK_RV ef_slots_rescan_inlock(void);

/* Makes sure the token shows the CA certificates that chain its own
 * (reading the CA files at the first call). */
CK_RV ef_slots_chain_inlock(struct ef_token *t);

size_t ef_slots_count_inlock(void);
struct ef_token *ef_slots_at_inlock(size_t index);
struct ef_token *ef_slots_find_inlock(CK_SLOT_ID id);

#endif
