/*
 * secure_env.h - whether this process may trust its environment: false in
 * an AT_SECURE process (set-user-ID and the like), where the environment
 * and the working directory belong to a less trusted user than the
 * process itself.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Below both the configuration and the log (each asks it), and includes
 * nothing of the module.
 */
#ifndef EF_SECURE_ENV_H
#define EF_SECURE_ENV_H

#include <stdbool.h>

/* True in an AT_SECURE process. */
bool ef_env_secure(void);
/* For unit tests only: 1 or 0 forces the answer, -1 asks the kernel again. */
void ef_env_force_secure(int on);
/* getenv(name), except NULL in an AT_SECURE process. */
const char *ef_env_get(const char *name);

#endif
