/*
 * keyfile_posix.c - replace a key file's contents atomically, keeping the
 * file the user has (keyfile.h), with POSIX calls: flock, realpath, owner,
 * mode and extended attributes copied by hand.  Windows keeps the ACL
 * through ReplaceFileW and locks with LockFileEx, sharing none of these
 * steps: keyfile.h is the interface, one file per system.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "keyfile.h"
#include "crypto.h"
#include "log.h"

/* A change holds the lock for two key derivations and two fsyncs:
 * milliseconds, a second or two on a slow USB stick.  A lock held longer
 * is a stopped or hung program (Ctrl-Z on a password tool): give up
 * rather than hang the caller. */
#define EF_LOCK_WAIT_MS 10000
#define EF_LOCK_POLL_MS 10
/* Each retry follows a completed change of the same file by another
 * process; more than a few in a row is a file that never holds still. */
#define EF_LOCK_TRIES 8

const struct ef_file_mem ef_file_secret = { ef_secret_alloc, ef_secret_free };

/* flock() rather than a POSIX record lock: it needs no write access (a
 * .key is often read-only, and rename replaces it anyway), and it is not
 * dropped when another part of the host process closes the same file. */
static bool lock_bounded(int fd)
{
	const struct timespec pause = { 0, EF_LOCK_POLL_MS * 1000000L };
	int waited = 0;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || waited >= EF_LOCK_WAIT_MS)
			return false;
		nanosleep(&pause, NULL);
		waited += EF_LOCK_POLL_MS;
	}
	return true;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Opens and locks the file path names; false with kf->fd < 0 and the
 * reason logged on failure.  *renamed: the lock came, but the path names
 * another file now (a concurrent change renamed its new file over it). */
static bool lock_once(const char *path, struct ef_keyfile *kf, bool *renamed)
{
	struct stat named;

	*renamed = false;
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	kf->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (kf->fd < 0) {
		ef_log_warn("%s: cannot open the key (%s)", path, strerror(errno));
		return false;
	}
	if (fstat(kf->fd, &kf->st) != 0 || !S_ISREG(kf->st.st_mode)) {
		ef_log_warn("%s: the key is not a regular file", path);
		goto fail;
	}
	if (!lock_bounded(kf->fd)) {
		ef_log_warn("%s: cannot lock the key (%s)", path,
			    errno == EWOULDBLOCK ? "another program is changing its password" :
			    strerror(errno));
		goto fail;
	}
	free(kf->path);
	kf->path = realpath(path, NULL);
	if (!kf->path || fstat(kf->fd, &kf->st) != 0) {
		ef_log_warn("%s: the key vanished (%s)", path, strerror(errno));
		goto fail;
	}
	/* lstat: the resolved name must be the locked file itself. */
	*renamed = lstat(kf->path, &named) != 0 || !same_file(&named, &kf->st);
	if (*renamed)
		goto fail;
	return true;
fail:
	close(kf->fd);
	kf->fd = -1;
	return false;
}

CK_RV ef_keyfile_lock(const char *path, struct ef_keyfile *kf)
{
	bool renamed = true;
	CK_RV rv = CKR_DEVICE_ERROR;

	memset(kf, 0, sizeof(*kf));
	kf->fd = -1;
	for (int i = 0; i < EF_LOCK_TRIES && renamed; i++)
		if (!lock_once(path, kf, &renamed) && !renamed)
			goto out;
	if (kf->fd < 0) {
		ef_log_warn("%s: the key keeps being replaced; its password is not changed", path);
		goto out;
	}
	/* A second name (a hard link) would keep the old key, and the old
	 * password, while C_SetPIN reports success.  Rewriting the file in
	 * place would change both names but is not atomic: a crash or a full
	 * disk halfway would leave neither key.  And a second name is often
	 * a backup made on purpose (cp -l, snapshot tools).  So it is
	 * refused, saying how to make the key a file of its own. */
	if (kf->st.st_nlink > 1) {
		ef_log_warn("%s: the key has %ju names (hard links); its password is not changed. "
			    "Copy it to a file of its own first (cp KEY KEY.tmp && mv KEY.tmp KEY)",
			    kf->path, (uintmax_t)kf->st.st_nlink);
		goto out;
	}
	if (!ef_file_read_fd(kf->fd, EF_MAX_FILE, &ef_file_secret, &kf->data, &kf->len, NULL)) {
		rv = errno == ENOMEM ? CKR_HOST_MEMORY : CKR_DEVICE_ERROR;
		ef_log_warn("%s: cannot read the key (%s)", kf->path, strerror(errno));
		goto out;
	}
	rv = CKR_OK;
out:
	if (rv != CKR_OK) {
		EF_FAIL(rv);   /* the warning above says which step */
		ef_keyfile_unlock(kf);
	}
	return rv;
}

void ef_keyfile_unlock(struct ef_keyfile *kf)
{
	/* Closing the last descriptor releases the flock(). */
	if (kf->fd >= 0)
		close(kf->fd);
	kf->fd = -1;
	free(kf->path);
	kf->path = NULL;
	/* An unencrypted key is the key itself. */
	ef_secret_free(kf->data);
	kf->data = NULL;
	kf->len = 0;
}

/* A process killed between creating its temporary file and the rename
 * (SIGKILL, a power cut) leaves KEY.new-XXXXXX beside the key: no rename
 * replaces a file without a second name.  The name is ours alone, so the
 * next password change of that key removes such leftovers.  It holds the
 * key's lock, so no other change of this key is writing one meanwhile. */
static void remove_stale_temps(const char *key_path)
{
	const char *slash = strrchr(key_path, '/');
	const char *base = slash ? slash + 1 : key_path;
	size_t blen = strlen(base);
	char *copy = strdup(key_path);
	DIR *d;
	struct dirent *e;

	if (!copy)
		return;
	d = opendir(dirname(copy));
	free(copy);
	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		if (strlen(e->d_name) != blen + sizeof(EF_ATOMIC_SUFFIX) - 1 ||
		    strncmp(e->d_name, base, blen) != 0 ||
		    strncmp(e->d_name + blen, EF_ATOMIC_SUFFIX, strcspn(EF_ATOMIC_SUFFIX, "X")) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* The names of fd's extended attributes, NUL-separated; a file system
 * without them has none.  *list is malloc'd (NULL when empty). */
static bool list_xattrs(int fd, char **list, size_t *len)
{
	ssize_t n = flistxattr(fd, NULL, 0);
	*list = NULL;
	*len = 0;
	if (n < 0)
		return errno == ENOTSUP;
	if (n == 0)
		return true;
	if (!(*list = malloc((size_t)n)))
		return false;
	/* ERANGE: the list grew meanwhile; not a file to copy blindly. */
	n = flistxattr(fd, *list, (size_t)n);
	if (n < 0) {
		free(*list);
		*list = NULL;
		return false;
	}
	*len = (size_t)n;
	return true;
}

static bool in_list(const char *list, size_t len, const char *name)
{
	for (const char *p = list; p < list + len; p += strlen(p) + 1)
		if (strcmp(p, name) == 0)
			return true;
	return false;
}

/* One attribute's value, malloc'd; *len = -1 when fd lacks it. */
static bool get_xattr(int fd, const char *name, unsigned char **val, ssize_t *len)
{
	*val = NULL;
	*len = fgetxattr(fd, name, NULL, 0);
	if (*len < 0)
		return errno == ENODATA;
	if (!(*val = malloc((size_t)*len + 1)))
		return false;
	*len = fgetxattr(fd, name, *val, (size_t)*len);
	return *len >= 0;
}

/* Gives fd the extended attributes of from, and only those: an ACL the
 * new file inherited from its folder's default ACL and the key did not
 * have would let others read the key.  An attribute is only set where it
 * differs, so that one the system set already (an SELinux label) needs
 * no privilege. */
static bool copy_xattrs(int from, int fd, const char *tmp)
{
	char *want = NULL, *have = NULL;
	size_t want_len, have_len;
	bool ok = false;

	if (!list_xattrs(from, &want, &want_len) || !list_xattrs(fd, &have, &have_len)) {
		ef_log_warn("%s: cannot list extended attributes (%s)", tmp, strerror(errno));
		goto out;
	}
	for (const char *p = have; p && p < have + have_len; p += strlen(p) + 1)
		if (!in_list(want, want_len, p) && fremovexattr(fd, p) != 0) {
			ef_log_warn("%s: cannot remove the attribute %s (%s)", tmp, p,
				    strerror(errno));
			goto out;
		}
	for (const char *p = want; p && p < want + want_len; p += strlen(p) + 1) {
		unsigned char *v = NULL, *cur = NULL;
		ssize_t vlen, clen;
		bool same, got = get_xattr(from, p, &v, &vlen) && get_xattr(fd, p, &cur, &clen);
		same = got && vlen == clen && (vlen <= 0 || memcmp(v, cur, (size_t)vlen) == 0);
		/* vlen < 0: removed from the key since it was listed. */
		bool set = got && (same || vlen < 0 || fsetxattr(fd, p, v, (size_t)vlen, 0) == 0);
		if (!set)
			ef_log_warn("%s: cannot carry the attribute %s over (%s)", tmp, p,
				    strerror(errno));
		free(v);
		free(cur);
		if (!set)
			goto out;
	}
	ok = true;
out:
	free(want);
	free(have);
	return ok;
}

/* The new file gets the key's owner, group, mode and extended attributes
 * (POSIX ACLs among them), or the change is refused: a password change
 * must not quietly widen or narrow who may read the key (a new file is
 * the caller's, in its primary group, mode 0600).  After the data is
 * written, since a write clears set-ID bits.  Owner first (a chown may
 * clear set-ID bits too), the mode last (user.* attributes need write
 * permission to set; the ACL's mask follows the mode's group bits, which
 * carry the key's mask). */
static bool copy_attributes(const struct ef_keyfile *kf, int fd, const char *tmp)
{
	struct stat now;
	if (fstat(fd, &now) != 0) {
		ef_log_warn("%s: %s", tmp, strerror(errno));
		return false;
	}
	if ((now.st_uid != kf->st.st_uid || now.st_gid != kf->st.st_gid) &&
	    fchown(fd, kf->st.st_uid, kf->st.st_gid) != 0) {
		ef_log_warn("%s: cannot give the new key the owner and group of %s (%s)", tmp,
			    kf->path, strerror(errno));
		return false;
	}
	if (!copy_xattrs(kf->fd, fd, tmp))
		return false;
	if (fchmod(fd, kf->st.st_mode & 07777) != 0) {
		ef_log_warn("%s: cannot give the new key the mode of %s (%s)", tmp, kf->path,
			    strerror(errno));
		return false;
	}
	return true;
}

struct read_back {
	CK_RV (*check)(const unsigned char *data, size_t len, void *arg);
	void *arg;
};

static bool reads_back(int fd, void *arg)
{
	const struct read_back *rb = arg;
	unsigned char *back = NULL;
	size_t back_len = 0;
	bool ok = lseek(fd, 0, SEEK_SET) == 0 &&
		  ef_file_read_fd(fd, EF_MAX_FILE, &ef_file_secret, &back, &back_len, NULL) &&
		  rb->check(back, back_len, rb->arg) == CKR_OK;

	ef_secret_free(back);
	return ok;
}

CK_RV ef_keyfile_replace(struct ef_keyfile *kf, const unsigned char *data, size_t len,
			 CK_RV (*check)(const unsigned char *data, size_t len, void *arg),
			 void *arg)
{
	struct read_back rb = { check, arg };
	struct ef_atomic a;
	CK_RV rv = CKR_DEVICE_ERROR;

	/* write, fsync, read back, rename: a crash at any point leaves the
	 * old file or the new one, each complete. */
	remove_stale_temps(kf->path);
	if (!ef_atomic_begin(&a, kf->path)) {
		if (!a.tmp)
			rv = CKR_HOST_MEMORY;
		else
			ef_log_warn("%s: cannot create a file beside it (%s)", kf->path,
				    strerror(errno));
		goto out;
	}
	if (!ef_file_write_all(a.fd, data, len)) {
		ef_log_warn("%s: cannot write the new key (%s)", a.tmp, strerror(errno));
		goto out;
	}
	if (!copy_attributes(kf, a.fd, a.tmp))
		goto out;
	if (!ef_atomic_commit(&a, reads_back, &rb)) {
		if (a.failed == EF_ATOMIC_CHECK)
			ef_log_warn("%s: the new key did not read back; the old one is kept", a.tmp);
		else if (a.failed == EF_ATOMIC_RENAME)
			ef_log_warn("%s: cannot replace the key (%s)", kf->path, strerror(errno));
		else
			ef_log_warn("%s: cannot write the new key (%s)", a.tmp, strerror(errno));
		goto out;
	}
	rv = CKR_OK;
out:
	if (rv != CKR_OK)
		EF_FAIL(rv);   /* the warning above says which step */
	ef_atomic_end(&a);
	return rv;
}
