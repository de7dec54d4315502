/*
 * lock.c - the global lock (lock.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The system's mutex (platform.h): it works for every thread an
 * application can have, so the application's mutex callbacks are accepted
 * but not needed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lock.h"
#include "platform.h"

static struct ef_os_mutex lock = EF_OS_MUTEX_INIT;
static struct ef_os_cond changed = EF_OS_COND_INIT;
/* Per thread, so reading it never races with the thread that holds the
 * lock: set right after taking it, cleared right before releasing it. */
static _Thread_local bool held;

void ef_lock_acquire(void)
{
	ef_os_mutex_lock(&lock);
	held = true;
}

void ef_lock_release(void)
{
	held = false;
	ef_os_mutex_unlock(&lock);
}

void ef_lock_wait_inlock(void)
{
	ef_assert_locked();
	/* The lock is released while waiting, but no code of this thread
	 * runs meanwhile: held stays true. */
	ef_os_cond_wait(&changed, &lock);
}

void ef_lock_broadcast(void)
{
	ef_os_cond_broadcast(&changed);
}

void ef_lock_reset_forked(void)
{
	struct ef_os_mutex fresh = EF_OS_MUTEX_INIT;
	struct ef_os_cond fresh_cond = EF_OS_COND_INIT;
	lock = fresh;
	changed = fresh_cond;
	held = false;
}

bool ef_lock_held(void)
{
	return held;
}

#ifdef EF_DEBUG
void ef_lock_check_held(const char *fn)
{
	if (held)
		return;
	/* A bug in this module, in a debug build: stop where it is. */
	fprintf(stderr, "efirma-pkcs11: %s called without the global lock\n", fn);
	abort();
}
#endif
