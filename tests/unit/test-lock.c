/*
 * test-lock.c - the global lock knows which thread holds it, and a debug
 * build (configure --enable-debug) stops an _inlock function called
 * without it (module/lock.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "lock.h"
#include "slots.h"

static void *held_elsewhere(void *arg)
{
	*(bool *)arg = ef_lock_held();
	return NULL;
}

/* Runs ef_slots_count_inlock in a child, with or without the lock: how
 * the child ended, and what it wrote on stderr. */
static int count_in_child(bool locked, char *err, size_t err_size)
{
	int fds[2], status = -1;
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		if (locked)
			ef_lock_acquire();
		(void)ef_slots_count_inlock();
		if (locked)
			ef_lock_release();
		_exit(0);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], err, err_size - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

int main(void)
{
	bool other = true;
	pthread_t th;
	char err[256];
	int status;

	ok(!ef_lock_held(), "not held before it is taken");
	ef_lock_acquire();
	ok(ef_lock_held(), "held by the thread that took it");
	pthread_create(&th, NULL, held_elsewhere, &other);
	pthread_join(th, NULL);
	ok(!other, "not held by another thread meanwhile");
	ef_lock_release();
	ok(!ef_lock_held(), "not held once released");

	status = count_in_child(true, err, sizeof(err));
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !*err,
	   "an _inlock function with the lock held runs silently");
	status = count_in_child(false, err, sizeof(err));
#ifdef EF_DEBUG
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	   "debug build: an _inlock function without the lock aborts");
	ok(strstr(err, "ef_slots_count_inlock called without the global lock") != NULL,
	   "debug build: and names the function");
#else
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !*err,
	   "release build: the check is compiled out");
#endif
	return tap_done();
}
