/*
 * ca_pool.h - the CA certificates that chain the tokens' certificates.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The pool is read at the first search that may show CA certificates:
 * signing alone never needs it.  Functions ending in _inlock need the
 * global lock (lock.h).
 */
#ifndef EF_CA_POOL_H
#define EF_CA_POOL_H

#include <stddef.h>
#include "efirma-pkcs11.h"
#include "token.h"

/* Remembers the configuration's [ca] paths; reads nothing yet. */
CK_RV ef_ca_pool_init_inlock(char *const *paths, size_t n);
void ef_ca_pool_fini_inlock(void);
/* Makes sure the token shows the CA certificates that chain its own
 * (reading the CA files at the first call). */
CK_RV ef_ca_pool_chain_inlock(struct ef_token *t);

#endif
