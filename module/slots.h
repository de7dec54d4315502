/*
 * slots.h - the slot table: which bundles exist, from the configuration
 * and from scanned folders, and the CA certificates that chain them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Slot IDs are stable for the life of the process (a path keeps its ID
 * across C_Finalize/C_Initialize and across a rescan, unless another
 * bundle took its slot while it was away) and never 0 or 1.
 * Functions ending in _inlock need the global lock (lock.h).
 */
#ifndef EF_SLOTS_H
#define EF_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "config.h"
#include "token.h"
#include "scan.h"

/* The configured bundles' slots and the first scan's tokens (read by
 * ef_scan_read); dynamic: bundles can appear later, so empty slots are
 * kept for them. */
CK_RV ef_slots_init_inlock(const struct ef_config *cfg, const struct ef_scan *scan, bool dynamic);
void ef_slots_fini_inlock(void);
/* Forgets the path -> slot ID registry (library unload only). */
void ef_slots_forget_ids(void);

/* In a forked child's only thread, without the lock (global.c): logs
 * every token out, wiping the keys the child inherited. */
void ef_slots_wipe_keys_forked(void);

/* Applies a rescan (ef_scan_read, done without the lock): a new bundle
 * takes a vacant slot (or a new one), a vanished certificate leaves its
 * slot without a token, a changed one is reloaded (from the bytes the
 * scan read), and each such slot has an event.  The caller then closes
 * the sessions of tokens that went away (ef_sessions_close_stale_inlock). */
CK_RV ef_slots_apply_inlock(const struct ef_scan *scan);

/* Slots changed since C_Initialize and not yet reported: how many, and
 * the first of them, which is then no longer pending. */
size_t ef_slots_events_inlock(void);
bool ef_slots_take_event_inlock(CK_SLOT_ID *slot);

size_t ef_slots_count_inlock(void);
struct ef_token *ef_slots_at_inlock(size_t index);
struct ef_token *ef_slots_find_inlock(CK_SLOT_ID id);

#endif
