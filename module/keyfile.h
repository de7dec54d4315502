/*
 * keyfile.h - replace a key file's contents atomically, keeping the file
 * the user has.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * C_SetPIN (token.c) rewrites a .key through these functions:
 *   - a symlink is followed: the file it names is rewritten (the new file
 *     is written beside it and renamed over it) and the link stays;
 *   - the new file gets the old one's owner, group, mode, POSIX ACLs and
 *     extended attributes (ACLs are the system.posix_acl_access extended
 *     attribute), or the change is refused;
 *   - a file with more than one name (a hard link) is refused: see
 *     ef_keyfile_lock;
 *   - every change of one file by this module, in any process, holds the
 *     file's flock() from before its contents are read until the new file
 *     has replaced it.
 * Every failure is CKR_DEVICE_ERROR (CKR_HOST_MEMORY aside) with one
 * warning that says why; the file is then as it was.  Nothing here takes
 * the global lock or touches a token.
 */
#ifndef EF_KEYFILE_H
#define EF_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "efirma-pkcs11.h"

#include "file.h"

/* ef_file_read's memory for a key: wiped when freed (ef_secret_alloc). */
extern const struct ef_file_mem ef_file_secret;

/* A locked key file: ef_keyfile_lock fills it, ef_keyfile_unlock empties
 * it (and accepts one that ef_keyfile_lock failed to fill). */
struct ef_keyfile {
	char *path;            /* the file itself: every symlink resolved */
	int fd;                /* open on it, holding its lock */
	struct stat st;        /* what it was when locked */
	unsigned char *data;   /* its contents, read under the lock */
	size_t len;
};

/* Opens path, following symlinks, takes the file's lock (waiting a few
 * seconds at most for another password change to end) and reads it.
 * When the lock comes after another change renamed its new file over
 * this one, the file the path names now is locked instead: the contents
 * are always the current key's. */
CK_RV ef_keyfile_lock(const char *path, struct ef_keyfile *kf);

/* Replaces the locked file with data: a temporary file beside it gets
 * the data and the file's attributes and is forced to the disk; check()
 * must accept what reads back from it; then it is renamed over the file
 * and the folder is forced to the disk.  Killed at any point, the file
 * is the old one or the new one, complete; a temporary KEY.new-XXXXXX
 * may be left, and the next replacement of KEY removes it. */
CK_RV ef_keyfile_replace(struct ef_keyfile *kf, const unsigned char *data, size_t len,
			 CK_RV (*check)(const unsigned char *data, size_t len, void *arg),
			 void *arg);

/* Releases the lock and wipes the contents read. */
void ef_keyfile_unlock(struct ef_keyfile *kf);

#endif
