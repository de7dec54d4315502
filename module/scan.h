/*
 * scan.h - what a rescan reads from the disk, read without the global
 * lock (doc/DESIGN.md §8, hot-plug).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A rescan has two halves.  This one lists the folders (the [directory]
 * ones and those of the removable volumes), looks at the [bundle] files
 * and reads the certificates that are new or changed since the previous
 * scan, and tells the watch what to follow: everything that may wait on a
 * slow or vanishing disk (a stick pulled out in the middle of a read).
 * The other half (slots.c) applies the result to the slot table under the
 * lock, from memory.
 *
 * struct ef_sources holds what the configuration says to scan, fixed from
 * C_Initialize on, and the scans' own memory; its mutex makes one rescan
 * at a time, both halves: a thread takes it before the global lock, never
 * while holding that.
 */
#ifndef EF_SCAN_H
#define EF_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "config.h"
#include "folder.h"
#include "watch.h"

struct ef_sources;

/* A certificate file's bytes, when the scan read them (new or changed
 * since the previous scan); data NULL otherwise. */
struct ef_cert_bytes {
	unsigned char *data;
	size_t len;
};

/* One folder as the scan found it. */
struct ef_listing {
	char *path;
	char *volume; /* the removable volume's name, NULL for a [directory] */
	bool readable;
	int err;		     /* why not, when !readable */
	struct ef_dir_entry *certs;  /* sorted, with ids */
	struct ef_cert_bytes *bytes; /* per certificate */
	size_t n_certs;
	struct ef_dir_entry *keys; /* sorted */
	size_t n_keys;
};

/* A [bundle]'s certificate as the scan found it. */
struct ef_bundle_seen {
	char *path;
	bool exists;
	struct ef_file_id id;
	struct ef_cert_bytes bytes;
};

struct ef_scan {
	struct ef_listing *dirs; /* the [directory] ones first, then the volumes' by path */
	size_t n_dirs, n_conf_dirs;
	struct ef_bundle_seen *bundles; /* one per configured bundle, in order */
	size_t n_bundles;
};

/* The configuration's sources: [bundle] files, [directory] folders and
 * removable roots (the usual ones unless configured, none when removable
 * volumes are not searched). */
CK_RV ef_sources_new(const struct ef_config *cfg, struct ef_sources **out);
struct ef_sources *ef_sources_ref(struct ef_sources *s);
void ef_sources_unref(struct ef_sources *s);
/* In a forked child's only thread: freed without its mutex, which a
 * parent thread may have held at the fork. */
void ef_sources_forget_forked(struct ef_sources *s);
/* One rescan at a time (both halves). */
void ef_sources_lock(struct ef_sources *s);
void ef_sources_unlock(struct ef_sources *s);
/* Whether new bundles can appear (a folder or a removable root). */
bool ef_sources_dynamic(const struct ef_sources *s);
size_t ef_sources_n_bundles(const struct ef_sources *s);

/* With the sources locked (or before any other thread has them): reads
 * the disk; w (may be NULL) is given the
 * folders to follow.  CKR_OK or CKR_HOST_MEMORY: an unreadable folder is
 * a listing with readable false. */
CK_RV ef_scan_read(struct ef_sources *s, struct ef_watch *w, struct ef_scan *out);
void ef_scan_free(struct ef_scan *scan);

#endif
