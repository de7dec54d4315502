/*
 * global.c - initialization, finalization and fork detection.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The module never registers pthread_atfork handlers (doc/DESIGN.md §4): a fork is
 * noticed by the process id changing (ef_os_pid).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "global.h"
#include "config.h"
#include "crypto.h"
#include "hotplug.h"
#include "log.h"
#include "mech.h"
#include "platform.h"
#include "session.h"
#include "slots.h"

static atomic_bool initialized;
static atomic_ulong init_pid;
static atomic_bool child_wiped;

/* In a forked child: the parent's keys are in our copy of its memory.  The
 * child has one thread, so the tables can be walked without the lock (which
 * another parent thread may have held at the moment of the fork).  For
 * that, a change under the lock takes a pointer out of the tables before
 * it frees what it points to: the child finds it whole or gone, and at
 * worst leaks what the parent was freeing. */
static void wipe_inherited_keys_forked(void)
{
	if (atomic_exchange(&child_wiped, true))
		return;
	ef_slots_wipe_keys_forked();
}

CK_RV ef_global_check(void)
{
	if (!atomic_load(&initialized))
		return EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED);
	if (atomic_load(&init_pid) != ef_os_pid()) {
		wipe_inherited_keys_forked();
		return EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED);
	}
	return CKR_OK;
}

CK_RV ef_lock(void)
{
	/* The PID is checked before locking: in a forked child the lock may
	 * be held by a thread that no longer exists. */
	CK_RV rv = ef_global_check();
	if (rv != CKR_OK)
		return rv;
	ef_lock_acquire();
	/* C_Finalize may have run while this thread waited. */
	if (!atomic_load(&initialized)) {
		ef_lock_release();
		return EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED);
	}
	return CKR_OK;
}

void ef_unlock(void)
{
	ef_lock_release();
}

CK_RV ef_global_wait_inlock(void)
{
	ef_assert_locked();
	ef_lock_wait_inlock();
	return atomic_load(&initialized) ? CKR_OK : EF_FAIL(CKR_CRYPTOKI_NOT_INITIALIZED);
}

CK_RV ef_global_initialize(const char *reserved, bool may_create_threads)
{
	CK_RV rv;
	struct ef_config cfg = {0};
	char *sysconf = NULL;

	/* A forked child's first C_Initialize: the parent's lock may be
	 * held forever by a thread that does not exist here.  The child
	 * puts a fresh lock in its place, and forgets the parent's tables
	 * under it. */
	unsigned long was = atomic_load(&init_pid);
	bool forked = was != 0 && was != ef_os_pid();
	if (forked) {
		ef_lock_reset_forked();
		wipe_inherited_keys_forked();
		ef_hotplug_forget_forked();
	}
	/* The thread of a previous initialization leaves once it gets the
	 * lock: joined before this one takes it. */
	ef_hotplug_join();
	ef_lock_acquire();
	if (forked) {
		ef_sessions_fini_inlock();
		ef_slots_fini_inlock();
		atomic_store(&initialized, false);
	}
	if (atomic_load(&initialized)) {
		rv = EF_FAIL(CKR_CRYPTOKI_ALREADY_INITIALIZED);
		goto out;
	}
	ef_log_init_from_env();
	if (!ef_os_system_config_file(&sysconf)) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	rv = ef_config_load(reserved, sysconf, &cfg);
	if (rv != CKR_OK)
		goto out;
	if (cfg.debug)
		ef_log_enable_trace();
	ef_log_trace("configuration from %s: %zu bundles, %zu folders%s",
		     cfg.origin ? cfg.origin : "(none)", cfg.n_bundles, cfg.n_dirs,
		     cfg.allow_pkcs1_decrypt ? ", PKCS#1 v1.5 decryption allowed" : "");
	ef_mech_allow_pkcs1_decrypt(cfg.allow_pkcs1_decrypt);
	/* Before any key is opened; a failure leaves the keys in the
	 * ordinary heap, as without the switch. */
	if (cfg.secure_heap && !ef_crypto_secure_heap())
		ef_log_warn("cannot set up OpenSSL's secure heap; keys stay in the ordinary heap");
	rv = ef_crypto_init();
	if (rv != CKR_OK)
		goto out;
	rv = ef_hotplug_init_inlock(&cfg, may_create_threads);
	if (rv != CKR_OK)
		goto out;
	atomic_store(&init_pid, ef_os_pid());
	atomic_store(&child_wiped, false);
	atomic_store(&initialized, true);
out:
	free(sysconf);
	ef_config_free(&cfg);
	ef_lock_release();
	return rv;
}

/* The OpenSSL context outlives C_Finalize: a thread still inside a
 * signature when another calls C_Finalize holds a key of that context. */
__attribute__((destructor)) static void unload(void)
{
	/* Its code is about to be unmapped. */
	ef_hotplug_unload();
	ef_crypto_fini();
	ef_slots_forget_ids();
}

CK_RV ef_global_finalize(void)
{
	CK_RV rv = ef_lock();
	if (rv != CKR_OK)
		return rv;
	atomic_store(&initialized, false);
	ef_hotplug_stop_inlock();
	ef_sessions_fini_inlock();
	ef_slots_fini_inlock();
	ef_unlock();
	/* The module's thread, woken, leaves once it gets the lock (or its
	 * rescan in flight ends): waited for here, so that no code of the
	 * module runs after C_Finalize returns - a program may unload the
	 * library or exit, and OpenSSL's exit cleanup must not meet this
	 * thread still leaving (helgrind saw them race). */
	ef_hotplug_join();
	return CKR_OK;
}
