/*
 * slots.c - discovery: configured bundles, scanned folders, the CA pool.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slots.h"
#include "crypto.h"
#include "file.h"
#include "folder.h"
#include "grow.h"
#include "lock.h"
#include "log.h"

#ifndef EF_CA_DIR
#define EF_CA_DIR "/usr/share/efirma-pkcs11/ca"
#endif

/* The first slot ID: 0 and 1 are avoided, some applications take them for
 * "no slot". */
#define EF_FIRST_SLOT_ID 2

static struct ef_token **slots;
static size_t n_slots, cap_slots;
static struct ef_cert *ca_pool;
static size_t n_ca;
static char **dirs;
static struct ef_keydir **dir_keys;   /* each folder's index at its last scan */
static size_t n_dirs;

/* Process-wide: a path keeps its slot ID for the life of the process. */
static struct id_entry { char *path; CK_SLOT_ID id; } *ids;
static size_t n_ids, cap_ids;
static CK_SLOT_ID next_id = EF_FIRST_SLOT_ID;

/* ids[] is kept sorted by path: a folder of n bundles costs n binary
 * searches here, not n^2/2 string comparisons (tests/bench). */
static CK_RV slot_id_for_inlock(const char *path, CK_SLOT_ID *id)
{
	ef_assert_locked();
	size_t lo = 0, hi = n_ids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ids[mid].path, path);
		if (c == 0) {
			*id = ids[mid].id;
			return CKR_OK;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Grown geometrically: one realloc per new path copied the whole
	 * registry each time (a quarter of a 10,000-bundle scan). */
	if (n_ids == cap_ids) {
		size_t cap = cap_ids ? cap_ids * 2 : 64;
		struct id_entry *n = realloc(ids, cap * sizeof(*n));
		if (!n)
			return EF_FAIL(CKR_HOST_MEMORY);
		ids = n;
		cap_ids = cap;
	}
	char *copy = strdup(path);
	if (!copy)
		return EF_FAIL(CKR_HOST_MEMORY);
	memmove(&ids[lo + 1], &ids[lo], (n_ids - lo) * sizeof(*ids));
	ids[lo].path = copy;
	ids[lo].id = next_id++;
	n_ids++;
	*id = ids[lo].id;
	return CKR_OK;
}

void ef_slots_forget_ids(void)
{
	for (size_t i = 0; i < n_ids; i++)
		free(ids[i].path);
	free(ids);
	ids = NULL;
	n_ids = cap_ids = 0;
}

/* ----------------------------------------------------------- CA pool */

static CK_RV add_ca_file_inlock(const char *path)
{
	ef_assert_locked();
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ef_cert *certs = NULL;
	size_t n = 0;
	CK_RV rv = CKR_OK;

	/* CA files are small: a larger one is a wrong path. */
	if (!ef_file_read(path, false, EF_MAX_FILE, &ef_file_heap, &buf, &len)) {
		if (errno == ENOMEM)
			return EF_FAIL(CKR_HOST_MEMORY);
		ef_log_warn("%s: cannot read CA certificates (%s)", path, strerror(errno));
		return CKR_OK;
	}
	rv = ef_cert_parse_all(buf, len, &certs, &n);
	if (rv == CKR_HOST_MEMORY)
		goto out;
	if (rv != CKR_OK || n == 0) {
		ef_log_warn("%s: no certificate in this file", path);
		ef_fail_forget();   /* tolerated: no origin of what the call answers */
		rv = CKR_OK;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!certs[i].is_ca) {
			ef_cert_clear(&certs[i]);
			continue;
		}
		struct ef_cert *p = realloc(ca_pool, (n_ca + 1) * sizeof(*p));
		if (!p) {
			for (size_t j = i; j < n; j++)
				ef_cert_clear(&certs[j]);
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		ca_pool = p;
		ca_pool[n_ca++] = certs[i];
	}
out:
	free(certs);
	free(buf);
	return rv;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool any_file(const char *name)
{
	(void)name;
	return true;
}

static CK_RV add_ca_path_inlock(const char *path)
{
	ef_assert_locked();
	struct stat st;
	struct ef_dir_entry *names;
	size_t n;
	CK_RV rv;

	if (stat(path, &st) != 0) {
		ef_log_trace("%s: no CA certificates here", path);
		return CKR_OK;
	}
	if (!S_ISDIR(st.st_mode))
		return add_ca_file_inlock(path);
	/* The CA folders are the configuration's own, and may well be
	 * symlinks (as /etc/ssl/certs is): they are followed. */
	rv = ef_folder_list(path, any_file, EF_LIST_ANY, &names, &n);
	for (size_t i = 0; rv == CKR_OK && i < n; i++) {
		char *full;
		if (asprintf(&full, "%s/%s", path, names[i].name) < 0) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			break;
		}
		rv = add_ca_file_inlock(full);
		free(full);
	}
	if (rv == CKR_OK || rv == CKR_DEVICE_ERROR) {
		ef_fail_forget();   /* an unreadable CA folder is tolerated */
		rv = CKR_OK;
	}
	ef_folder_free_list(names, n);
	return rv;
}

/* -------------------------------------------------------------- slots */

static CK_RV new_token_inlock(const char *cert_path, struct ef_token **out)
{
	ef_assert_locked();
	struct ef_token *t, **p;
	CK_RV rv;

	p = ef_grow(slots, n_slots, &cap_slots, 16, sizeof(*p));
	if (!p)
		return EF_FAIL(CKR_HOST_MEMORY);
	slots = p;
	t = calloc(1, sizeof(*t));
	if (!t)
		return EF_FAIL(CKR_HOST_MEMORY);
	t->cert_path = strdup(cert_path);
	if (!t->cert_path) {
		free(t);
		return EF_FAIL(CKR_HOST_MEMORY);
	}
	rv = slot_id_for_inlock(cert_path, &t->slot_id);
	if (rv != CKR_OK) {
		ef_token_free_inlock(t);
		return rv;
	}
	slots[n_slots++] = t;
	*out = t;
	return CKR_OK;
}

static struct ef_token *find_by_path_inlock(const char *cert_path)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_slots; i++)
		if (strcmp(slots[i]->cert_path, cert_path) == 0)
			return slots[i];
	return NULL;
}

static CK_RV add_bundle_inlock(const struct ef_bundle_conf *b)
{
	ef_assert_locked();
	struct ef_token *t;
	CK_RV rv;

	if (find_by_path_inlock(b->cert)) {
		ef_log_warn("%s: configured twice; the first entry is used", b->cert);
		return CKR_OK;
	}
	rv = new_token_inlock(b->cert, &t);
	if (rv != CKR_OK)
		return rv;
	if (b->label && !(t->label_override = strdup(b->label)))
		return EF_FAIL(CKR_HOST_MEMORY);
	if (b->key && !(t->key_named = strdup(b->key)))
		return EF_FAIL(CKR_HOST_MEMORY);
	rv = ef_token_load_inlock(t);
	if (rv == CKR_HOST_MEMORY)
		return rv;
	ef_fail_forget();   /* a bundle that failed is a slot without a token */
	return CKR_OK;
}

static int cmp_token_path(const void *a, const void *b)
{
	return strcmp((*(struct ef_token *const *)a)->cert_path,
		      (*(struct ef_token *const *)b)->cert_path);
}

/* find_by_path_inlock() over tokens sorted by cert_path. */
static struct ef_token *find_sorted(struct ef_token **v, size_t n, const char *path)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid]->cert_path, path);
		if (c == 0)
			return v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool in_dir_inlock(const struct ef_token *t, const char *dir)
{
	ef_assert_locked();
	size_t n = strlen(dir);
	return t->from_dir && strncmp(t->cert_path, dir, n) == 0 && t->cert_path[n] == '/' &&
	       !strchr(t->cert_path + n + 1, '/');
}

/* Points the token at the key of its name (stem), or else at the folder's
 * shared index of unclaimed keys. */
static CK_RV set_keys_inlock(struct ef_token *t, const char *dir,
			     const struct ef_dir_entry *own, struct ef_keydir *kd)
{
	ef_assert_locked();
	char *path = NULL;
	if (own && asprintf(&path, "%s/%s", dir, own->name) < 0)
		return EF_FAIL(CKR_HOST_MEMORY);
	free(t->key_named);
	t->key_named = path;
	ef_keydir_unref(t->keydir);
	t->keydir = own ? NULL : ef_keydir_ref(kd);
	return CKR_OK;
}

static CK_RV scan_dir_inlock(const char *dir, struct ef_keydir **last)
{
	ef_assert_locked();
	struct ef_dir_entry *certs = NULL, *keys = NULL;
	size_t n_certs = 0, n_keys = 0, n_unclaimed = 0, n_known = n_slots;
	struct ef_stem *cert_stems = NULL, *key_stems = NULL;
	size_t *unclaimed = NULL;
	struct ef_keydir *kd = NULL;
	struct ef_token **known = NULL;
	CK_RV rv;

	/* A symlink in the folder is no bundle file, wherever it points (the
	 * folder is what the user named; a [bundle] may name a symlink).  The
	 * certificates' ids tell which changed since the last scan. */
	rv = ef_folder_list(dir, ef_is_cert_name, EF_LIST_FILES_ID, &certs, &n_certs);
	if (rv == CKR_DEVICE_ERROR) {
		ef_log_warn("%s: cannot read this folder (%s)", dir, strerror(errno));
		ef_fail_forget();   /* tolerated: the folder has no bundles now */
		n_certs = 0;
	} else if (rv != CKR_OK) {
		return rv;
	}
	rv = ef_folder_list(dir, ef_is_key_name, EF_LIST_FILES, &keys, &n_keys);
	if (rv == CKR_HOST_MEMORY)
		goto out;
	ef_fail_forget();   /* keys unreadable: tolerated, as above */
	rv = CKR_OK;

	/* Indexes for this scan, so that each certificate costs a few
	 * binary searches, whatever the size of the folder. */
	cert_stems = ef_stem_index(certs, n_certs);
	key_stems = ef_stem_index(keys, n_keys);
	unclaimed = calloc(n_keys ? n_keys : 1, sizeof(*unclaimed));
	known = calloc(n_known ? n_known : 1, sizeof(*known));
	if (!cert_stems || !key_stems || !unclaimed || !known) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	for (size_t k = 0; k < n_keys; k++)
		if (!ef_stem_find(cert_stems, n_certs, keys[k].name))
			unclaimed[n_unclaimed++] = k;
	rv = ef_keydir_new(dir, keys, unclaimed, n_unclaimed, *last, &kd);
	if (rv != CKR_OK)
		goto out;
	ef_keydir_unref(*last);
	*last = ef_keydir_ref(kd);
	if (n_known)
		memcpy(known, slots, n_known * sizeof(*known));
	qsort(known, n_known, sizeof(*known), cmp_token_path);

	/* Bundles of this folder whose certificate is gone lose their token. */
	for (size_t i = 0; i < n_slots; i++) {
		struct ef_token *t = slots[i];
		if (!in_dir_inlock(t, dir))
			continue;
		struct ef_dir_entry name = { (char *)t->cert_path + strlen(dir) + 1, { 0 } };
		/* certs is NULL when the folder cannot be read any more. */
		if (certs && bsearch(&name, certs, n_certs, sizeof(*certs), ef_dir_entry_cmp))
			continue;
		if (t->present)
			ef_log_trace("slot %lu: %s is gone", t->slot_id, t->cert_path);
		ef_token_unload_inlock(t);
		t->cert_seen = false;
		set_keys_inlock(t, dir, NULL, NULL);
	}
	for (size_t i = 0; i < n_certs; i++) {
		char *path;
		if (asprintf(&path, "%s/%s", dir, certs[i].name) < 0) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		/* Tokens made by this loop are for other names of the
		 * listing: the index of those known before is enough. */
		struct ef_token *t = find_sorted(known, n_known, path);
		bool fresh = !t;
		if (fresh && (rv = new_token_inlock(path, &t)) != CKR_OK) {
			free(path);
			goto out;
		}
		free(path);
		t->from_dir = true;
		/* A file that failed keeps its slot without a token until it
		 * changes: one warning, not one per rescan. */
		if (fresh || !t->cert_seen || !ef_file_id_equal(&t->cert_id, &certs[i].id)) {
			rv = ef_token_load_inlock(t);
			if (rv == CKR_HOST_MEMORY)
				goto out;
			ef_fail_forget();   /* a file that failed: a slot without a token */
			t->cert_seen = true;
			t->cert_id = certs[i].id;
		}
		const struct ef_stem *own = ef_stem_find(key_stems, n_keys, certs[i].name);
		rv = set_keys_inlock(t, dir, own ? &keys[own->index] : NULL, kd);
		if (rv != CKR_OK)
			goto out;
	}
out:
	ef_keydir_unref(kd);
	free(known);
	free(unclaimed);
	free(cert_stems);
	free(key_stems);
	ef_folder_free_list(certs, n_certs);
	ef_folder_free_list(keys, n_keys);
	return rv;
}

/* The CA pool is read at the first search that may show CA certificates:
 * signing alone never needs it. */
static char **ca_paths;
static size_t n_ca_paths;
static bool ca_pool_read;

static void clear_ca_pool_inlock(void)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_ca; i++)
		ef_cert_clear(&ca_pool[i]);
	free(ca_pool);
	ca_pool = NULL;
	n_ca = 0;
	ca_pool_read = false;
}

CK_RV ef_slots_chain_inlock(struct ef_token *t)
{
	ef_assert_locked();
	CK_RV rv = CKR_OK;
	if (!ca_pool_read) {
		rv = add_ca_path_inlock(EF_CA_DIR);
		for (size_t i = 0; rv == CKR_OK && i < n_ca_paths; i++)
			rv = add_ca_path_inlock(ca_paths[i]);
		/* Half a pool would give this token a chain that stops short,
		 * for good: the next search reads it all again. */
		if (rv != CKR_OK) {
			clear_ca_pool_inlock();
			return rv;
		}
		ca_pool_read = true;
	}
	return ef_token_add_chain_inlock(t, ca_pool, n_ca);
}

CK_RV ef_slots_init_inlock(const struct ef_config *cfg)
{
	ef_assert_locked();
	CK_RV rv = CKR_OK;
	ca_paths = calloc(cfg->n_ca_paths ? cfg->n_ca_paths : 1, sizeof(*ca_paths));
	if (!ca_paths)
		return EF_FAIL(CKR_HOST_MEMORY);
	for (size_t i = 0; i < cfg->n_ca_paths; i++, n_ca_paths++)
		if (!(ca_paths[i] = strdup(cfg->ca_paths[i])))
			return EF_FAIL(CKR_HOST_MEMORY);
	for (size_t i = 0; rv == CKR_OK && i < cfg->n_bundles; i++)
		rv = add_bundle_inlock(&cfg->bundles[i]);
	if (rv != CKR_OK)
		return rv;
	dirs = calloc(cfg->n_dirs ? cfg->n_dirs : 1, sizeof(*dirs));
	dir_keys = calloc(cfg->n_dirs ? cfg->n_dirs : 1, sizeof(*dir_keys));
	if (!dirs || !dir_keys)
		return EF_FAIL(CKR_HOST_MEMORY);
	for (size_t i = 0; i < cfg->n_dirs; i++) {
		/* A trailing slash would make the same file two paths. */
		size_t len = strlen(cfg->dirs[i]);
		while (len > 1 && cfg->dirs[i][len - 1] == '/')
			len--;
		if (!(dirs[n_dirs] = strndup(cfg->dirs[i], len)))
			return EF_FAIL(CKR_HOST_MEMORY);
		n_dirs++;
	}
	return ef_slots_rescan_inlock();
}

CK_RV ef_slots_rescan_inlock(void)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_dirs; i++) {
		CK_RV rv = scan_dir_inlock(dirs[i], &dir_keys[i]);
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

void ef_slots_wipe_keys_forked(void)
{
	for (size_t i = 0; i < n_slots; i++)
		ef_token_wipe_key_forked(slots[i]);
}

void ef_slots_fini_inlock(void)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_slots; i++)
		ef_token_free_inlock(slots[i]);
	free(slots);
	slots = NULL;
	n_slots = cap_slots = 0;
	clear_ca_pool_inlock();
	free_names(ca_paths, n_ca_paths);
	ca_paths = NULL;
	n_ca_paths = 0;
	for (size_t i = 0; dir_keys && i < n_dirs; i++)
		ef_keydir_unref(dir_keys[i]);
	free(dir_keys);
	dir_keys = NULL;
	free_names(dirs, n_dirs);
	dirs = NULL;
	n_dirs = 0;
}

size_t ef_slots_count_inlock(void)
{
	ef_assert_locked();
	return n_slots;
}

struct ef_token *ef_slots_at_inlock(size_t index)
{
	ef_assert_locked();
	return index < n_slots ? slots[index] : NULL;
}

struct ef_token *ef_slots_find_inlock(CK_SLOT_ID id)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_slots; i++)
		if (slots[i]->slot_id == id)
			return slots[i];
	return NULL;
}
