/*
 * lock.c - the global lock and its condition (lock.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plain pthread mutex: on Linux it works for every thread an
 * application can have, so the application's mutex callbacks are accepted
 * but not needed.
 */
#include <pthread.h>

#include "lock.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

void ef_global_lock(void)
{
	pthread_mutex_lock(&lock);
}

void ef_global_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void ef_global_wait_changed_inlock(void)
{
	pthread_cond_wait(&changed, &lock);
}

void ef_global_broadcast(void)
{
	pthread_cond_broadcast(&changed);
}

void ef_global_lock_reinit(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;

	lock = fresh;
	changed = fresh_cond;
}
