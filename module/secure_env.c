/*
 * secure_env.c - AT_SECURE detection (secure_env.h): the system's answer
 * (ef_os_privileged_start), or what a unit test forced.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The module can be loaded into set-user-ID programs (a PAM module doing
 * smart-card login, for one); there the invoking user must not be able to
 * choose which certificate and key the token offers, nor read a trace of
 * the privileged process.
 */
#include <stdlib.h>

#include "secure_env.h"
#include "platform.h"

/* -1: ask the kernel; 0 or 1: what a unit test decided. */
static int secure_forced = -1;

void ef_env_force_secure(int on)
{
	secure_forced = on;
}

bool ef_env_secure(void)
{
	if (secure_forced >= 0)
		return secure_forced != 0;
	return ef_os_privileged_start();
}

const char *ef_env_get(const char *name)
{
	return ef_env_secure() ? NULL : getenv(name);
}
