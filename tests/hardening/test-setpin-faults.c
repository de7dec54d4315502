/*
 * test-setpin-faults.c - C_SetPIN is crash safe: killed or failing at any
 * step of the password change, the .key still opens with the old or the
 * new password, and nothing else is left behind.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A child process (this program again, with --child) changes the password
 * of a copy of a SAT bundle through the function list, with the
 * LD_PRELOAD shim tests/hardening/faultshim.c in front of libc.  A first
 * run counts the steps (every write, fsync, close, flock, fchmod, rename,
 * unlink on the key's folder); then, for each step and each fault - SIGKILL before the
 * call, SIGKILL right after it, EIO, a full disk (ENOSPC) - a fresh copy
 * is changed and the result checked with OpenSSL alone:
 *   - the .key opens with exactly one of the two passwords;
 *   - C_SetPIN answered CKR_OK if and only if it is the new one, and
 *     otherwise CKR_DEVICE_ERROR with the file byte-for-byte unchanged;
 *   - after an error nothing but the .cer and the .key is in the folder;
 *   - after a kill, at most one KEY.new-XXXXXX is left (a file cannot be
 *     replaced without a second name) and the next C_SetPIN removes it.
 * Steps that open a file (mkostemp) are not interceptable here: glibc
 * calls the system directly.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api-util.h"
#include "tap.h"

/* This program, to run again as the child (argv[0], not /proc/self/exe:
 * under valgrind that is valgrind). */
static const char *self_path;

#define OLD_PIN API_PIN
#define NEW_PIN "nueva-clave-2025"
#define THIRD_PIN "tercera-clave-9"

static char dir[1024], cer[1100], key[1100], shim[2048], logpath[1100];
static unsigned char *orig;
static size_t orig_len;

/* ------------------------------------------------------------ the child */

static int child(const char *c, const char *k, const char *oldp, const char *newp)
{
	char conf[3000];
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (!api_load())
		return 2;
	snprintf(conf, sizeof conf, "cert=%s key=%s", c, k);
	rv = api_init(conf);
	if (rv == CKR_OK)
		rv = api_first_token_slot(&slot);
	if (rv == CKR_OK)
		rv = api_open(slot, true, &s);
	if (rv == CKR_OK)
		rv = P->C_SetPIN(s, (CK_UTF8CHAR_PTR)oldp, strlen(oldp), (CK_UTF8CHAR_PTR)newp,
				 strlen(newp));
	printf("rv=%lu\n", (unsigned long)rv);
	fflush(stdout);
	P->C_Finalize(NULL);
	return 0;
}

/* ----------------------------------------------------------- the parent */

struct run {
	bool ran;         /* the child printed a return value */
	CK_RV rv;
	bool killed;      /* ended by SIGKILL */
};

static struct run run_child(int step, const char *action, const char *oldp, const char *newp)
{
	struct run r = { false, CKR_GENERAL_ERROR, false };
	int fds[2];
	char stepstr[16], buf[256];
	if (pipe(fds) != 0)
		return r;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		snprintf(stepstr, sizeof stepstr, "%d", step);
		setenv("EF_FAULT_MATCH", dir, 1);
		setenv("EF_FAULT_STEP", stepstr, 1);
		setenv("EF_FAULT_ACTION", action, 1);
		setenv("EF_FAULT_LOG", logpath, 1);
		setenv("LD_PRELOAD", shim, 1);
		/* An ASan build: the shim comes before the ASan runtime. */
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
		execl(self_path, self_path, "--child", cer, key, oldp, newp,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ssize_t n = 0, got;
	while (n < (ssize_t)sizeof(buf) - 1 &&
	       (got = read(fds[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += got;
	buf[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	r.killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	unsigned long v;
	if (sscanf(buf, "rv=%lu", &v) == 1) {
		r.ran = true;
		r.rv = v;
	}
	return r;
}

/* Which password opens the key now: 1 old, 2 new, 3 third, 0 none. */
static int opens_with(void)
{
	static const char *const pins[] = { OLD_PIN, NEW_PIN, THIRD_PIN };
	int which = 0, count = 0;
	for (int i = 0; i < 3; i++) {
		EVP_PKEY *k = api_load_key(key, pins[i], strlen(pins[i]));
		if (k) {
			which = i + 1;
			count++;
			EVP_PKEY_free(k);
		}
	}
	return count == 1 ? which : 0;
}

static bool key_unchanged(void)
{
	size_t len = 0;
	unsigned char *now = api_read_file(key, &len);
	bool same = now && len == orig_len && memcmp(now, orig, len) == 0;
	free(now);
	return same;
}

/* The folder's entries other than the .cer and the .key; *temps counts
 * those named KEY.new-XXXXXX. */
static int others(int *temps)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	const char *kb = strrchr(key, '/') + 1;
	*temps = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "bundle.cer") || !strcmp(e->d_name, "bundle.key"))
			continue;
		n++;
		if (strncmp(e->d_name, kb, strlen(kb)) == 0 &&
		    strncmp(e->d_name + strlen(kb), ".new-", 5) == 0)
			(*temps)++;
		tap_diag("left in the folder: %s", e->d_name);
	}
	closedir(d);
	return n;
}

static bool reset(void)
{
	api_sh("rm -f '%s'/bundle.key*", dir);
	unlink(logpath);
	return api_write_file(key, orig, orig_len);
}

static int count_steps(void)
{
	char line[1200];
	int n = 0;
	FILE *f = fopen(logpath, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		tap_diag("step %s", line);
		n++;
	}
	fclose(f);
	return n;
}

static void one_fault(int step, const char *action)
{
	int temps = 0;
	if (!reset()) {
		ok(0, "reset the key");
		return;
	}
	struct run r = run_child(step, action, OLD_PIN, NEW_PIN);
	int which = opens_with();
	bool kill = strncmp(action, "kill", 4) == 0;

	if (kill) {
		ok(r.killed || r.ran, "%s at step %d: the child was killed (or the step was not reached)",
		   action, step);
		ok(which == 1 || which == 2, "%s at step %d: the key opens with the %s password",
		   action, step, which == 1 ? "old" : which == 2 ? "new" : "(neither!)");
		if (which == 1)
			ok(key_unchanged(), "%s at step %d: ... and is unchanged", action, step);
		int left = others(&temps);
		ok(left == temps && temps <= 1,
		   "%s at step %d: nothing left but the key (%d temporary file(s))", action, step, temps);
		/* The next password change cleans up. */
		const char *from = which == 2 ? NEW_PIN : OLD_PIN;
		struct run again = run_child(0, "none", from, THIRD_PIN);
		is_ul(again.rv, CKR_OK, "%s at step %d: the next C_SetPIN works", action, step);
		ok(opens_with() == 3 && others(&temps) == 0,
		   "%s at step %d: ... and leaves only the .cer and the .key", action, step);
		return;
	}
	ok(r.ran, "%s at step %d: C_SetPIN returned", action, step);
	if (r.rv == CKR_OK) {
		is_ul(which, 2, "%s at step %d: CKR_OK, and the key opens with the new password",
		      action, step);
	} else {
		is_ul(r.rv, CKR_DEVICE_ERROR, "%s at step %d: CKR_DEVICE_ERROR", action, step);
		ok(which == 1 && key_unchanged(),
		   "%s at step %d: ... and the key is unchanged, old password", action, step);
	}
	is_ul(others(&temps), 0, "%s at step %d: nothing left behind", action, step);
}

/* Leftovers of an earlier crash are removed by the next C_SetPIN; look-
 * alike names that are not ours stay. */
static void test_stale_cleanup(void)
{
	char p[1200];
	tap_diag("---- stale temporary files");
	reset();
	static const char *const ours[] = { "bundle.key.new-Ab12Cd", "bundle.key.new-zzzzzz" };
	static const char *const theirs[] = { "bundle.key.new-toolong1", "bundle.key.new-",
					      "other.key.new-Ab12Cd" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, ours[i]);
		api_write_file(p, "x", 1);
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, theirs[i]);
		api_write_file(p, "x", 1);
	}
	struct run r = run_child(0, "none", OLD_PIN, NEW_PIN);
	is_ul(r.rv, CKR_OK, "C_SetPIN with stale temporary files beside the key");
	bool gone = true, kept = true;
	struct stat st;
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, ours[i]);
		gone &= stat(p, &st) != 0;
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, theirs[i]);
		kept &= stat(p, &st) == 0;
		unlink(p);
	}
	ok(gone, "the key's stale KEY.new-XXXXXX files were removed");
	ok(kept, "files that only look alike were left alone");
	is_ul(opens_with(), 2, "the key opens with the new password");
}

int main(int argc, char **argv)
{
	self_path = argv[0];
	if (argc == 6 && strcmp(argv[1], "--child") == 0)
		return child(argv[2], argv[3], argv[4], argv[5]);
	api_setup_env();

	const char *b = getenv("EF_TEST_BUILDDIR");
	snprintf(shim, sizeof shim, "%s/tests/hardening/.libs/libfaultshim.so", b ? b : ".");
	struct api_bundle src;
	const char *tmp = api_tmpdir();
	if (!ok(access(shim, R_OK) == 0, "fault shim built (%s)", shim) ||
	    !ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &src) && tmp, "SAT bundle"))
		return tap_done();
	snprintf(dir, sizeof dir, "%s/keys", tmp);
	mkdir(dir, 0700);
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	snprintf(logpath, sizeof logpath, "%s/steps.log", tmp);
	orig = api_read_file(src.key, &orig_len);
	if (!ok(orig && api_copy_file(src.cer, cer), "bundle copied"))
		return tap_done();

	/* Count the steps of one clean change. */
	reset();
	struct run r = run_child(0, "none", OLD_PIN, NEW_PIN);
	is_ul(r.rv, CKR_OK, "C_SetPIN through the shim, no fault");
	is_ul(opens_with(), 2, "the key opens with the new password");
	int steps = count_steps();
	ok(steps >= 4, "%d file-system steps seen", steps);
	char *log = (char *)api_read_file(logpath, &(size_t){0});
	ok(log && strstr(log, " write ") && strstr(log, " fsync ") && strstr(log, " rename ") &&
	   strstr(log, " close ") && strstr(log, " flock ") && strstr(log, " fchmod "),
	   "the steps include write, fsync, close, rename, the key's lock and the mode");
	free(log);

	static const char *const actions[] = { "kill-before", "kill-after", "eio", "enospc" };
	for (size_t a = 0; a < 4; a++) {
		tap_diag("---- %s", actions[a]);
		for (int s = 1; s <= steps; s++)
			one_fault(s, actions[a]);
	}
	TAP_PART(test_stale_cleanup());
	return tap_done();
}
