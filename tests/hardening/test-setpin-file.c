/*
 * test-setpin-file.c - C_SetPIN keeps the file the user has (issue 9,
 * item 3): what happens to a symlinked or hard-linked .key, to its owner,
 * group, mode, ACLs and extended attributes, and when two processes
 * change the same key's password at the same moment.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Which password opens a key is always decided by OpenSSL alone
 * (api_load_key), never by the module.  ACLs and extended attributes are
 * set and read with setfacl/getfacl and setfattr/getfattr (Debian
 * packages acl and attr); only a file system without extended
 * attributes skips those checks.  As root (CI) the key is given to
 * nobody:nogroup by number, and an unprivileged child checks that a key
 * whose owner it cannot reproduce is refused, not given away.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "api/api-util.h"
#include "tap.h"

#define OLD_PIN API_PIN
#define NEW_PIN "nueva-clave-2025"
/* The two racers' new passwords. */
static const char *const race_pins[2] = { "primera-clave-1", "segunda-clave-2" };
/* The race is statistical: 40 runs lost a password about 13 times before
 * the lock.  Under valgrind (EF_TEST_TIME_SCALE set) each child starts in
 * seconds, and a few runs cover the code paths memcheck is after. */
#define RACES 40
#define RACES_SLOW 4
/* nobody:nogroup on Debian; any unused numbers would do. */
#define OTHER_UID 65534
#define OTHER_GID 65534

static struct api_bundle fiel;
static unsigned char *orig;
static size_t orig_len;

/* ------------------------------------------------------------- helpers */

/* C_Initialize on one bundle and a R/W session on its token. */
static CK_RV open_rw(const char *cer, const char *key, CK_SESSION_HANDLE *s)
{
	char conf[3000];
	CK_SLOT_ID slot;
	snprintf(conf, sizeof conf, "cert=\"%s\" key=\"%s\"", cer, key);
	CK_RV rv = api_init(conf);
	if (rv == CKR_OK)
		rv = api_first_token_slot(&slot);
	if (rv == CKR_OK)
		rv = api_open(slot, true, s);
	return rv;
}

static CK_RV set_pin_on(CK_SESSION_HANDLE s, const char *oldp, const char *newp)
{
	return P->C_SetPIN(s, (CK_UTF8CHAR_PTR)oldp, strlen(oldp), (CK_UTF8CHAR_PTR)newp,
			   strlen(newp));
}

/* One whole password change through the module, in this process. */
static CK_RV set_pin(const char *cer, const char *key, const char *oldp, const char *newp)
{
	CK_SESSION_HANDLE s;
	CK_RV rv = open_rw(cer, key, &s);
	if (rv == CKR_OK)
		rv = set_pin_on(s, oldp, newp);
	api_finalize();
	return rv;
}

static bool opens(const char *key, const char *pin)
{
	EVP_PKEY *k = api_load_key(key, pin, strlen(pin));
	EVP_PKEY_free(k);
	return k != NULL;
}

static bool same_bytes(const char *path)
{
	size_t len = 0;
	unsigned char *now = api_read_file(path, &len);
	bool same = now && len == orig_len && memcmp(now, orig, len) == 0;
	free(now);
	return same;
}

/* The names in a folder, sorted, space-separated ("" when empty). */
static char *listing(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	static char buf[4096];
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			if (buf[0])
				strncat(buf, " ", sizeof buf - strlen(buf) - 1);
			strncat(buf, names[i]->d_name, sizeof buf - strlen(buf) - 1);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return buf;
}

/* A command's standard output, malloc'd (NULL if it failed). */
static char *output_of(const char *fmt, const char *path)
{
	char cmd[2048], chunk[1024];
	size_t len = 0, n;
	char *out = calloc(1, 1);
	snprintf(cmd, sizeof cmd, fmt, path);
	FILE *p = popen(cmd, "r");
	if (!p || !out) {
		free(out);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
		char *grown = realloc(out, len + n + 1);
		if (!grown)
			break;
		out = grown;
		memcpy(out + len, chunk, n);
		len += n;
		out[len] = '\0';
	}
	if (pclose(p) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Everything about the file that C_SetPIN must keep: owner, group, mode,
 * the ACL and every extended attribute (hex, names sorted). */
static char *attributes(const char *path)
{
	char *own = output_of("stat -c '%%u:%%g %%a' '%s'", path);
	char *acl = output_of("getfacl -n -p '%s' 2>/dev/null", path);
	char *xat = output_of("getfattr -d -m - -e hex --absolute-names '%s' 2>/dev/null", path);
	char *all = NULL;
	if (own && acl && xat && asprintf(&all, "%s%s%s", own, acl, xat) < 0)
		all = NULL;
	free(own);
	free(acl);
	free(xat);
	return all;
}

static bool xattrs_supported(const char *dir)
{
	char probe[1300];
	snprintf(probe, sizeof probe, "%s/probe", dir);
	api_write_file(probe, "x", 1);
	bool yes = setxattr(probe, "user.efirma-probe", "1", 1, 0) == 0;
	unlink(probe);
	return yes;
}

/* ---------------------------------------------------------- the tests */

/* A .key that is a symlink into another folder: the file it names gets
 * the new key, and the link stays a link. */
static void test_symlink(const char *top)
{
	char dir[1200], real[1200], cer[1300], key[1300], target[1300], link[256];
	tap_diag("---- a symlinked .key");
	snprintf(dir, sizeof dir, "%s/sym", top);
	snprintf(real, sizeof real, "%s/real", top);
	mkdir(dir, 0700);
	mkdir(real, 0700);
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	snprintf(target, sizeof target, "%s/efirma.key", real);
	if (!ok(api_copy_file(fiel.cer, cer) && api_write_file(target, orig, orig_len) &&
		symlink("../real/efirma.key", key) == 0, "bundle.key -> ../real/efirma.key"))
		return;
	is_ul(set_pin(cer, key, OLD_PIN, NEW_PIN), CKR_OK, "C_SetPIN through the symlink");
	struct stat st;
	ssize_t n = readlink(key, link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	ok(lstat(key, &st) == 0 && S_ISLNK(st.st_mode) && strcmp(link, "../real/efirma.key") == 0,
	   "the .key is still the same symlink");
	ok(opens(target, NEW_PIN) && !opens(target, OLD_PIN),
	   "the file it names opens with the new password only");
	is_str(listing(real), "efirma.key", "nothing else is left beside the target");
	is_str(listing(dir), "bundle.cer bundle.key", "nor beside the link");
	is_ul(set_pin(cer, key, NEW_PIN, OLD_PIN), CKR_OK, "and back, through the link");
	ok(opens(target, OLD_PIN), "the target opens with the old password again");
}

/* A .key with a second name: refused, both names keep the same key. */
static void test_hard_link(const char *top)
{
	char dir[1200], cer[1300], key[1300], backup[1300];
	struct stat st;
	tap_diag("---- a hard-linked .key");
	snprintf(dir, sizeof dir, "%s/hard", top);
	mkdir(dir, 0700);
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	snprintf(backup, sizeof backup, "%s/respaldo.key", dir);
	if (!ok(api_copy_file(fiel.cer, cer) && api_write_file(key, orig, orig_len) &&
		link(key, backup) == 0, "respaldo.key is a second name of bundle.key"))
		return;
	is_ul(set_pin(cer, key, OLD_PIN, NEW_PIN), CKR_DEVICE_ERROR,
	      "C_SetPIN on a key with two names -> CKR_DEVICE_ERROR");
	ok(same_bytes(key) && same_bytes(backup) && stat(key, &st) == 0 && st.st_nlink == 2,
	   "both names still hold the old key, byte for byte, as one file");
	is_str(listing(dir), "bundle.cer bundle.key respaldo.key", "nothing is left behind");
	unlink(backup);
	is_ul(set_pin(cer, key, OLD_PIN, NEW_PIN), CKR_OK, "with one name again: CKR_OK");
	ok(opens(key, NEW_PIN), "the key opens with the new password");
}

/* Owner, group, mode, ACL and extended attributes survive. */
static void test_attributes(const char *top)
{
	char dir[1200], cer[1300], key[1300];
	bool root = geteuid() == 0;
	tap_diag("---- owner, group, mode, ACL and extended attributes");
	snprintf(dir, sizeof dir, "%s/attr", top);
	mkdir(dir, 0700);
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	if (!ok(api_copy_file(fiel.cer, cer) && api_write_file(key, orig, orig_len) &&
		chmod(key, 0640) == 0, "a key of mode 0640"))
		return;
	if (root)
		ok(chown(key, OTHER_UID, OTHER_GID) == 0, "... given to %d:%d", OTHER_UID,
		   OTHER_GID);
	else
		ok(1, "# SKIP owner: not root, the key stays the caller's");
	bool xattrs = xattrs_supported(dir);
	if (xattrs) {
		/* The owning group has read access through the mode; the ACL
		 * gives another user read access and the group none. */
		ok(api_sh("setfacl -m u:4242:r,g::-,m::r '%s' && "
			  "setfattr -n user.efirma.note -v 'no me borres' '%s'", key, key) == 0,
		   "an ACL and a user.* attribute set (setfacl, setfattr)");
	} else {
		ok(1, "# SKIP ACL and extended attributes: the file system has none");
	}
	char *before = attributes(key);
	if (!ok(before != NULL, "stat, getfacl and getfattr read the key"))
		tap_diag("install the Debian packages acl and attr (tests/setup-debian.sh)");
	is_ul(set_pin(cer, key, OLD_PIN, NEW_PIN), CKR_OK, "C_SetPIN");
	ok(opens(key, NEW_PIN), "the key opens with the new password");
	char *after = attributes(key);
	if (!ok(before && after && strcmp(before, after) == 0,
		"owner, group, mode, ACL and extended attributes are as they were")) {
		tap_diag("before:\n%s", before ? before : "(none)");
		tap_diag("after:\n%s", after ? after : "(none)");
	}
	free(before);
	free(after);
	is_str(listing(dir), "bundle.cer bundle.key", "nothing is left behind");
}

/* A folder whose default ACL gives others access: the new file inherits
 * it, the key had no ACL, so it must not have one afterwards. */
static void test_default_acl(const char *top)
{
	char dir[1200], cer[1300], key[1300];
	tap_diag("---- a folder with a default ACL, a key without one");
	snprintf(dir, sizeof dir, "%s/dacl", top);
	mkdir(dir, 0700);
	if (!xattrs_supported(dir)) {
		ok(1, "# SKIP default ACL: the file system has no extended attributes");
		return;
	}
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	if (!ok(api_copy_file(fiel.cer, cer) && api_write_file(key, orig, orig_len) &&
		api_sh("setfacl -d -m u:4242:rw '%s' && setfacl -b '%s' && chmod 0600 '%s'",
		       dir, key, key) == 0, "default ACL u:4242:rw on the folder, none on the key"))
		return;
	char *before = attributes(key);
	is_ul(set_pin(cer, key, OLD_PIN, NEW_PIN), CKR_OK, "C_SetPIN");
	char *after = attributes(key);
	if (!ok(before && after && strcmp(before, after) == 0,
		"the key has no ACL afterwards either (mode 0600, nobody else reads it)")) {
		tap_diag("before:\n%s", before ? before : "(none)");
		tap_diag("after:\n%s", after ? after : "(none)");
	}
	free(before);
	free(after);
}

/* A key whose owner the caller cannot give a new file (root's key in a
 * folder nobody may write): refused, not handed over to the caller. */
static void test_foreign_owner(const char *top)
{
	char dir[1200], cer[1300], key[1300];
	tap_diag("---- a key owned by someone else");
	if (geteuid() != 0) {
		ok(1, "# SKIP foreign owner: needs root to make the files");
		return;
	}
	snprintf(dir, sizeof dir, "%s/foreign", top);
	mkdir(dir, 0700);
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	if (!ok(chmod(top, 0711) == 0 && chown(dir, OTHER_UID, OTHER_GID) == 0 &&
		api_copy_file(fiel.cer, cer) && api_write_file(key, orig, orig_len) &&
		chmod(cer, 0644) == 0 && chmod(key, 0644) == 0,
		"root's key, readable by all, in a folder of uid %d", OTHER_UID))
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(OTHER_GID) != 0 || setuid(OTHER_UID) != 0)
			_exit(100);
		CK_RV rv = set_pin(cer, key, OLD_PIN, NEW_PIN);
		_exit(rv == CKR_DEVICE_ERROR ? 0 : rv == CKR_OK ? 1 : 2);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	is_ul((unsigned long)code, 0, "C_SetPIN as uid %d -> CKR_DEVICE_ERROR (1: CKR_OK)",
	      OTHER_UID);
	struct stat kst;
	ok(stat(key, &kst) == 0 && kst.st_uid == 0 && same_bytes(key),
	   "the key is still root's, byte for byte");
	is_str(listing(dir), "bundle.cer bundle.key", "nothing is left behind");
}

/* One racer: its session ready, it waits for the start, changes the
 * password and reports the answer on out. */
static void racer(const char *cer, const char *key, const char *newp, int ready, int go,
		  int out)
{
	CK_SESSION_HANDLE s;
	CK_RV rv = open_rw(cer, key, &s);
	char c;
	(void)!write(ready, "r", 1);
	(void)!read(go, &c, 1);
	if (rv == CKR_OK)
		rv = set_pin_on(s, OLD_PIN, newp);
	unsigned long v = rv;
	(void)!write(out, &v, sizeof v);
	api_finalize();
	_exit(0);
}

/* Two processes change the same key's password at the same moment. */
static void test_race(const char *top)
{
	char dir[1200], cer[1300], key[1300];
	int one_winner = 0, loser_incorrect = 0, winner_opens = 0, clean = 0;
	const char *scale = getenv("EF_TEST_TIME_SCALE");
	int races = scale && atoi(scale) > 1 ? RACES_SLOW : RACES;
	tap_diag("---- two processes change the same password, %d times", races);
	snprintf(dir, sizeof dir, "%s/race", top);
	mkdir(dir, 0700);
	snprintf(cer, sizeof cer, "%s/bundle.cer", dir);
	snprintf(key, sizeof key, "%s/bundle.key", dir);
	if (!ok(api_copy_file(fiel.cer, cer), "bundle copied"))
		return;
	for (int i = 0; i < races; i++) {
		int ready[2], go[2], out[2][2];
		unsigned long rv[2] = { CKR_GENERAL_ERROR, CKR_GENERAL_ERROR };
		pid_t pid[2];
		char c;
		api_write_file(key, orig, orig_len);
		if (pipe(ready) || pipe(go) || pipe(out[0]) || pipe(out[1]))
			break;
		fflush(stdout);
		for (int j = 0; j < 2; j++) {
			pid[j] = fork();
			if (pid[j] == 0) {
				close(go[1]);
				racer(cer, key, race_pins[j], ready[1], go[0], out[j][1]);
			}
			close(out[j][1]);
		}
		close(ready[1]);
		close(go[0]);
		/* Both sessions open, then both start at once. */
		for (int j = 0; j < 2; j++)
			(void)!read(ready[0], &c, 1);
		close(go[1]);
		for (int j = 0; j < 2; j++) {
			if (read(out[j][0], &rv[j], sizeof rv[j]) != sizeof rv[j])
				rv[j] = CKR_GENERAL_ERROR;
			close(out[j][0]);
			waitpid(pid[j], NULL, 0);
		}
		close(ready[0]);
		int w = rv[0] == CKR_OK ? 0 : 1;
		bool one = (rv[0] == CKR_OK) != (rv[1] == CKR_OK);
		one_winner += one;
		loser_incorrect += one && rv[!w] == CKR_PIN_INCORRECT;
		winner_opens += one && opens(key, race_pins[w]) && !opens(key, race_pins[!w]) &&
				!opens(key, OLD_PIN);
		clean += strcmp(listing(dir), "bundle.cer bundle.key") == 0;
		if (!one || rv[!w] != CKR_PIN_INCORRECT)
			tap_diag("race %d: %s and %s", i, ef_rv_name(rv[0]), ef_rv_name(rv[1]));
	}
	is_ul(one_winner, races, "exactly one CKR_OK in every race");
	is_ul(loser_incorrect, races,
	      "the other one gets CKR_PIN_INCORRECT (its old password is no longer the key's)");
	is_ul(winner_opens, races, "the key opens with the winner's password, and only that one");
	is_ul(clean, races, "nothing is left behind");
}

int main(void)
{
	api_setup_env();
	const char *top = api_tmpdir();
	if (!ok(api_load(), "module loaded") ||
	    !ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel) && top, "SAT bundle"))
		return tap_done();
	orig = api_read_file(fiel.key, &orig_len);
	if (!ok(orig != NULL, "key read"))
		return tap_done();
	tap_alarm("C_SetPIN file tests", 120);
	TAP_PART(test_symlink(top));
	TAP_PART(test_hard_link(top));
	TAP_PART(test_attributes(top));
	TAP_PART(test_default_acl(top));
	TAP_PART(test_foreign_owner(top));
	TAP_PART(test_race(top));
	free(orig);
	return tap_done();
}
