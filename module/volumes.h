/*
 * volumes.h - removable volumes: the folders of a USB stick that may hold
 * an e.firma (doc/DESIGN.md §8, hot-plug).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A removable root is a folder whose subfolders are mounted volumes, as
 * udisks2 makes them: /media/$USER/LABEL (Debian, Ubuntu) or
 * /run/media/$USER/LABEL (Fedora, Arch).  Each volume is searched a few
 * folder levels deep, as SAT's own advice puts the files in a folder of
 * the stick; symlinks and hidden folders are never followed.  Needs no
 * lock: the caller gives what it reads to the slot table afterwards.
 */
#ifndef EF_VOLUMES_H
#define EF_VOLUMES_H

#include <stddef.h>
#include "efirma-pkcs11.h"
#include "watch.h"

/* Folder levels searched below a volume's own folder. */
#define EF_VOLUME_DEPTH 3
/* Folders looked at per volume: a stick full of photos costs a bounded
 * walk, and bundles deeper in such a stick are not found. */
#define EF_VOLUME_MAX_DIRS 256

/* A folder with at least one certificate in it. */
struct ef_found_dir {
	char *path;
	char *volume; /* the volume's folder name (its label, for udisks2) */
};

/* The folders with certificates under the roots, sorted by path.  Each
 * folder looked at (the roots included) is given to w, when not NULL. */
CK_RV ef_volumes_find(char *const *roots, size_t n_roots, struct ef_watch *w,
		      struct ef_found_dir **out, size_t *n_out);
void ef_volumes_free(struct ef_found_dir *d, size_t n);

#endif
