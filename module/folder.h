/*
 * folder.h - what a folder scan knows: the listing, names by stem, and the
 * index of the keys that no certificate claims by name, shared by every
 * token of the folder.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A folder of n bundles whose names do not pair (c1.cer + k1.key) used to
 * give each certificate its own copy of the folder's unclaimed keys: n^2
 * paths, 5.6 GB for 10,000 bundles.  Now one index per scan is shared,
 * reference counted, and a login picks a few keys from it.  Every
 * function is called with the global lock held.
 */
#ifndef EF_FOLDER_H
#define EF_FOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "platform.h" /* struct ef_file_id */

bool ef_file_id_equal(const struct ef_file_id *a, const struct ef_file_id *b);
/* The id of the regular file at path (a symlink followed: a [bundle] may
 * name one); false when there is none. */
bool ef_file_id_of(const char *path, struct ef_file_id *id);

struct ef_dir_entry {
	char *name;
	struct ef_file_id id;     /* EF_LIST_FILES_ID listings */
};

enum ef_list {
	EF_LIST_ANY,         /* every entry (a CA folder: symlinks followed) */
	/* Regular files only, as the entry itself says (d_type, or fstatat
	 * with AT_SYMLINK_NOFOLLOW): a symlink in a scanned folder is never
	 * followed, wherever it points. */
	EF_LIST_FILES,
	EF_LIST_FILES_ID,    /* the same, with each file's id (one fstatat each) */
};

/* Orders entries by name (qsort, bsearch). */
int ef_dir_entry_cmp(const void *a, const void *b);
/* The entries of dir whose names pass want (names starting with '.' never
 * do), sorted by name so that slot IDs come out in the same order on every
 * run.  CKR_DEVICE_ERROR (errno set) when the folder cannot be read. */
CK_RV ef_folder_list(const char *dir, bool (*want)(const char *), enum ef_list what,
		     struct ef_dir_entry **out, size_t *n_out);
void ef_folder_free_list(struct ef_dir_entry *e, size_t n);

/* What a scan takes for a certificate (.cer, .crt) and a key (.key), in
 * any case. */
bool ef_is_cert_name(const char *name);
bool ef_is_key_name(const char *name);

/* The one rule that pairs a key file with a certificate file by name: the
 * same stem (the name up to its last dot), in any ASCII case.  So
 * "00001000000500003282.cer" pairs with "00001000000500003282.KEY" and
 * "a.b.cer" with "A.B.key", but "a.cer" not with "a.b.key".  The stem
 * index below and the search for an RFC among the words of key names
 * (ef_keydir_pick) compare by the same order. */
bool ef_names_pair(const char *cert_name, const char *key_name);

/* Names indexed by stem, under ef_names_pair's rule. */
struct ef_stem {
	const char *name;
	size_t len;      /* of the stem */
	size_t index;    /* in the listing */
};
struct ef_stem *ef_stem_index(const struct ef_dir_entry *e, size_t n);
/* The first entry (in listing order) with the stem of name, or NULL. */
const struct ef_stem *ef_stem_find(const struct ef_stem *r, size_t n, const char *name);

/* One key file a login will try. */
struct ef_key_candidate {
	char *path;
	/* Found by a folder scan: opened without following a symlink, and
	 * never used when it is not encrypted (only a [bundle] may name an
	 * unencrypted key). */
	bool scanned;
	/* Not paired with the certificate by configuration or by name: one
	 * of the folder's keys, tried in case it is the one.  A fallback
	 * whose key derivation costs far more than SAT's is not tried. */
	bool fallback;
};

/* At most this many keys carrying the certificate's RFC are tried, then at
 * most EF_KEYDIR_MAX_OTHERS of the folder's other unclaimed keys: a folder
 * full of hostile .key files costs a login a few key derivations, not one
 * per file. */
#define EF_KEYDIR_MAX_NARROWED 4
#define EF_KEYDIR_MAX_OTHERS 3

struct ef_keydir;

/* An index of the keys[pick[j]] (j < n) of the folder dir; copies their
 * names.  Their ids come from prev (the folder's index of the scan before,
 * may be NULL) when it has the name, else from one fstatat each: a rescan
 * of an unchanged folder reads no key's metadata. */
CK_RV ef_keydir_new(const char *dir, const struct ef_dir_entry *keys, const size_t *pick,
		    size_t n, const struct ef_keydir *prev, struct ef_keydir **out);
struct ef_keydir *ef_keydir_ref(struct ef_keydir *kd);
void ef_keydir_unref(struct ef_keydir *kd);

/* The keys to try for the certificate cert_name (of the same folder, with
 * this RFC, may be NULL, and this id) that no key pairs with by name,
 * most likely first: up to EF_KEYDIR_MAX_NARROWED keys that carry the RFC
 * as a word of their name (SAT names a key
 * Claveprivada_FIEL_RFC_date.key), then up to EF_KEYDIR_MAX_OTHERS of the
 * others.  Each group is ranked by a cheap guess: the file written within
 * the same second as the certificate first, then the name sharing the
 * longest ending with the certificate's (c0042.cer, k0042.key), then
 * the nearest time, then the name.  Appends malloc'd fallback candidates
 * to out (room for both maxima). */
CK_RV ef_keydir_pick(const struct ef_keydir *kd, const char *cert_name, const char *rfc,
		     const struct ef_file_id *cert_id, struct ef_key_candidate *out, size_t *n);

#endif
