/*
 * slots.c - discovery: configured bundles, scanned folders, the CA pool.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slots.h"
#include "ca_pool.h"
#include "crypto.h"
#include "file.h"
#include "folder.h"
#include "grow.h"
#include "lock.h"
#include "log.h"
#include "strv.h"
#include "scan.h"

/* The first slot ID: 0 and 1 are avoided, some applications take them for
 * "no slot". */
#define EF_FIRST_SLOT_ID 2
/* Slots kept empty for bundles that appear while programs run: a USB
 * stick with an e.firma and a CSD fills two. */
#define EF_DEFAULT_EMPTY_SLOTS 2
/* Starts the registry key of an empty slot: no path starts with it. */
#define EF_EMPTY_SLOT_MARK '\x01'

static struct ef_token **slots;
static size_t n_slots, cap_slots;

/* A folder scanned for bundles: a [directory] of the configuration, or a
 * folder of a removable volume, found again by every rescan. */
struct scan_dir {
	char *path;
	char *volume;		/* NULL for a [directory] */
	struct ef_keydir *keys; /* its index at its last scan */
	/* A volume's folder: what the rescan being applied found in it, NULL
	 * when it found no such folder. */
	const struct ef_listing *listing;
};
static struct scan_dir *sdirs;
static size_t n_sdirs, cap_sdirs, n_conf_dirs; /* the [directory] ones first */

/* After C_Initialize's own scan, what changes is an event for
 * C_WaitForSlotEvent. */
static bool started;
static size_t n_events;
static size_t n_vacant;
static unsigned long vacate_stamp;

/* Process-wide: a path keeps its slot ID for the life of the process. */
static struct id_entry { char *path; CK_SLOT_ID id; } *ids;
static size_t n_ids, cap_ids;
static CK_SLOT_ID next_id = EF_FIRST_SLOT_ID;

/* ids[] is kept sorted by path: a folder of n bundles costs n binary
 * searches here, not n^2/2 string comparisons (tests/bench).  Where
 * path is, or would go. */
static size_t id_pos_inlock(const char *path, bool *found)
{
	ef_assert_locked();
	size_t lo = 0, hi = n_ids;
	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ids[mid].path, path);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static CK_RV id_insert_inlock(size_t pos, const char *path, CK_SLOT_ID id)
{
	ef_assert_locked();
	/* Grown geometrically: one realloc per new path copied the whole
	 * registry each time (a quarter of a 10,000-bundle scan). */
	struct id_entry *grown = ef_grow(ids, n_ids, &cap_ids, 64, sizeof(*grown));
	if (!grown)
		return EF_FAIL(CKR_HOST_MEMORY);
	ids = grown;
	char *copy = strdup(path);
	if (!copy)
		return EF_FAIL(CKR_HOST_MEMORY);
	memmove(&ids[pos + 1], &ids[pos], (n_ids - pos) * sizeof(*ids));
	ids[pos].path = copy;
	ids[pos].id = id;
	n_ids++;
	return CKR_OK;
}

static CK_RV slot_id_for_inlock(const char *path, CK_SLOT_ID *id)
{
	ef_assert_locked();
	bool found;
	size_t pos = id_pos_inlock(path, &found);
	if (found) {
		*id = ids[pos].id;
		return CKR_OK;
	}
	CK_RV rv = id_insert_inlock(pos, path, next_id);
	if (rv == CKR_OK)
		*id = next_id++;
	return rv;
}

/* The slot id now holds the bundle at to, and no longer what from named:
 * an ID is never the registry's answer for two paths. */
static CK_RV move_id_inlock(const char *from, const char *to, CK_SLOT_ID id)
{
	ef_assert_locked();
	bool found;
	size_t pos = id_pos_inlock(from, &found);
	if (found && ids[pos].id == id) {
		free(ids[pos].path);
		memmove(&ids[pos], &ids[pos + 1], (n_ids - pos - 1) * sizeof(*ids));
		n_ids--;
	}
	pos = id_pos_inlock(to, &found);
	if (found) {
		ids[pos].id = id;
		return CKR_OK;
	}
	return id_insert_inlock(pos, to, id);
}

void ef_slots_forget_ids(void)
{
	for (size_t i = 0; i < n_ids; i++)
		free(ids[i].path);
	free(ids);
	ids = NULL;
	n_ids = cap_ids = 0;
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
	return CKR_OK; /* loaded by the first scan (follow_bundle_inlock) */
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

static CK_RV set_own_key_inlock(struct ef_token *t, const char *dir,
				const struct ef_stem *key_stems, const struct ef_dir_entry *keys,
				size_t n_keys, const char *cert_name, struct ef_keydir *kd)
{
	ef_assert_locked();
	const struct ef_stem *own = ef_stem_find(key_stems, n_keys, cert_name);
	return set_keys_inlock(t, dir, own ? &keys[own->index] : NULL, kd);
}

static void mark_event_inlock(struct ef_token *t)
{
	ef_assert_locked();
	if (started && !t->event) {
		t->event = true;
		n_events++;
	}
}

/* (Re)loads the token when its certificate is new or changed since it
 * was last read: a file that failed keeps its slot without a token until
 * it changes, one warning, not one per rescan. */
static CK_RV load_if_changed_inlock(struct ef_token *t, const struct ef_file_id *id,
				    const struct ef_cert_bytes *bytes, bool fresh)
{
	ef_assert_locked();
	if (!fresh && t->cert_seen && ef_file_id_equal(&t->cert_id, id))
		return CKR_OK;
	if (!fresh && t->cert_seen && ef_token_same_cert_inlock(t, bytes->data, bytes->len)) {
		t->cert_id = *id;
		return CKR_OK;
	}
	/* Read by the scan, without the lock; else (a file the scan had seen
	 * unchanged, for a token that was not loaded) read now. */
	CK_RV rv = bytes->data ? ef_token_load_bytes_inlock(t, bytes->data, bytes->len)
			       : ef_token_load_inlock(t);
	if (rv == CKR_HOST_MEMORY)
		return rv;
	ef_fail_forget(); /* a file that failed: a slot without a token */
	t->cert_seen = true;
	t->cert_id = *id;
	mark_event_inlock(t);
	return CKR_OK;
}

/* A slot for a bundle that has none: a vacant one, those kept empty
 * first, then the one vacated longest ago; else a new slot.  The slot
 * stays vacant until occupy_inlock. */
static CK_RV place_inlock(const char *cert_path, struct ef_token **out)
{
	ef_assert_locked();
	struct ef_token *best = NULL;
	for (size_t i = 0; n_vacant && i < n_slots; i++) {
		struct ef_token *t = slots[i];
		if (!t->vacant)
			continue;
		if (t->cert_path[0] == EF_EMPTY_SLOT_MARK) {
			best = t;
			break;
		}
		if (!best || t->vacated < best->vacated)
			best = t;
	}
	if (!best)
		return new_token_inlock(cert_path, out);
	CK_RV rv = move_id_inlock(best->cert_path, cert_path, best->slot_id);
	if (rv != CKR_OK)
		return rv;
	*out = best;
	return CKR_OK;
}

/* The bundle at path (NULL: the slot's own), found in a folder of volume
 * (NULL: a [directory]), is in slot t: loaded if new or changed. */
static CK_RV occupy_inlock(struct ef_token *t, const char *path, const char *volume,
			   const struct ef_file_id *id, const struct ef_cert_bytes *bytes,
			   bool fresh)
{
	ef_assert_locked();
	if (t->vacant) {
		CK_RV rv = ef_token_occupy_inlock(t, path ? path : t->cert_path);
		if (rv != CKR_OK)
			return rv;
		n_vacant--;
	}
	t->from_dir = true;
	if (!volume != !t->volume || (volume && strcmp(volume, t->volume) != 0)) {
		char *copy = volume ? strdup(volume) : NULL;
		if (volume && !copy)
			return EF_FAIL(CKR_HOST_MEMORY);
		free(t->volume);
		t->volume = copy;
	}
	return load_if_changed_inlock(t, id, bytes, fresh);
}

/* The tokens of dir's bundles whose certificate is not among certs (all
 * of them when certs is NULL: the folder is gone) lose their token and
 * leave their slot vacant. */
static void vacate_gone_inlock(const char *dir, const struct ef_dir_entry *certs, size_t n_certs)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_slots; i++) {
		struct ef_token *t = slots[i];
		if (t->vacant || !in_dir_inlock(t, dir))
			continue;
		struct ef_dir_entry name = { (char *)t->cert_path + strlen(dir) + 1, { 0 } };
		if (certs && bsearch(&name, certs, n_certs, sizeof(*certs), ef_dir_entry_cmp))
			continue;
		if (t->present)
			ef_log_trace("slot %lu: %s is gone", t->slot_id, t->cert_path);
		if (t->present)
			mark_event_inlock(t);
		set_keys_inlock(t, dir, NULL, NULL);
		ef_token_vacate_inlock(t, ++vacate_stamp);
		n_vacant++;
	}
}

static CK_RV scan_dir_inlock(struct scan_dir *sd, const struct ef_listing *l)
{
	ef_assert_locked();
	const char *dir = sd->path;
	const struct ef_dir_entry *certs = l->certs, *keys = l->keys;
	size_t n_certs = l->n_certs, n_keys = l->n_keys, n_unclaimed = 0, n_known = n_slots;
	size_t n_fresh = 0;
	struct ef_stem *cert_stems = NULL, *key_stems = NULL;
	size_t *unclaimed = NULL, *fresh = NULL;
	struct ef_keydir *kd = NULL;
	struct ef_token **known = NULL;
	CK_RV rv = CKR_OK;

	if (!l->readable) {
		/* A volume's folder gone with the volume says nothing. */
		if (l->err != ENOENT || !sd->volume)
			ef_log_warn("%s: cannot read this folder (%s)", dir, strerror(l->err));
		vacate_gone_inlock(dir, NULL, 0);
		return CKR_OK;
	}
	/* Indexes for this scan, so that each certificate costs a few
	 * binary searches, whatever the size of the folder. */
	cert_stems = ef_stem_index(certs, n_certs);
	key_stems = ef_stem_index(keys, n_keys);
	unclaimed = calloc(n_keys ? n_keys : 1, sizeof(*unclaimed));
	fresh = calloc(n_certs ? n_certs : 1, sizeof(*fresh));
	known = calloc(n_known ? n_known : 1, sizeof(*known));
	if (!cert_stems || !key_stems || !unclaimed || !fresh || !known) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	for (size_t k = 0; k < n_keys; k++)
		if (!ef_stem_find(cert_stems, n_certs, keys[k].name))
			unclaimed[n_unclaimed++] = k;
	rv = ef_keydir_new(dir, keys, unclaimed, n_unclaimed, sd->keys, &kd);
	if (rv != CKR_OK)
		goto out;
	ef_keydir_unref(sd->keys);
	sd->keys = ef_keydir_ref(kd);

	vacate_gone_inlock(dir, certs, n_certs);
	/* A bundle seen before goes back to its slot if that is still
	 * vacant; the others take a slot below, once this index of the
	 * slots' paths is no longer needed. */
	if (n_known)
		memcpy(known, slots, n_known * sizeof(*known));
	qsort(known, n_known, sizeof(*known), cmp_token_path);
	for (size_t i = 0; i < n_certs; i++) {
		char *path;
		if (asprintf(&path, "%s/%s", dir, certs[i].name) < 0) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		struct ef_token *t = find_sorted(known, n_known, path);
		free(path);
		if (!t) {
			fresh[n_fresh++] = i;
			continue;
		}
		if (!t->from_dir && !t->vacant)
			continue; /* a [bundle] names it: the configuration's entry counts */
		rv = occupy_inlock(t, NULL, sd->volume, &certs[i].id, &l->bytes[i], t->vacant);
		if (rv == CKR_OK)
			rv = set_own_key_inlock(t, dir, key_stems, keys, n_keys, certs[i].name, kd);
		if (rv != CKR_OK)
			goto out;
	}
	for (size_t j = 0; j < n_fresh; j++) {
		const struct ef_dir_entry *c = &certs[fresh[j]];
		struct ef_token *t;
		char *path;
		if (asprintf(&path, "%s/%s", dir, c->name) < 0) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		rv = place_inlock(path, &t);
		if (rv == CKR_OK)
			rv = occupy_inlock(t, path, sd->volume, &c->id, &l->bytes[fresh[j]], true);
		free(path);
		if (rv == CKR_OK)
			rv = set_own_key_inlock(t, dir, key_stems, keys, n_keys, c->name, kd);
		if (rv != CKR_OK)
			goto out;
	}
out:
	ef_keydir_unref(kd);
	free(known);
	free(fresh);
	free(unclaimed);
	free(cert_stems);
	free(key_stems);
	return rv;
}

/* A [bundle]'s certificate that appeared, changed or vanished since it
 * was last read; its slot stays, with or without a token. */
static CK_RV follow_bundle_inlock(struct ef_token *t, const struct ef_bundle_seen *seen)
{
	ef_assert_locked();
	if (seen->exists)
		return load_if_changed_inlock(t, &seen->id, &seen->bytes, !t->cert_seen);
	if (!started) {
		/* Missing from the start: one warning saying so. */
		CK_RV rv = ef_token_load_inlock(t);
		if (rv == CKR_HOST_MEMORY)
			return rv;
		ef_fail_forget(); /* a bundle that failed is a slot without a token */
		return CKR_OK;
	}
	if (t->present) {
		ef_log_trace("slot %lu: %s is gone", t->slot_id, t->cert_path);
		mark_event_inlock(t);
	}
	if (t->present || t->cert_seen)
		ef_token_unload_inlock(t);
	t->cert_seen = false;
	return CKR_OK;
}

static CK_RV add_empty_slots_inlock(unsigned n)
{
	ef_assert_locked();
	for (unsigned i = 0; i < n; i++) {
		/* Not a path: never a bundle's, so a registry key of its own
		 * that keeps the slot's ID across C_Finalize/C_Initialize. */
		char key[32];
		struct ef_token *t;
		snprintf(key, sizeof(key), "%cempty slot %u", EF_EMPTY_SLOT_MARK, i + 1);
		CK_RV rv = new_token_inlock(key, &t);
		if (rv != CKR_OK)
			return rv;
		ef_token_vacate_inlock(t, 0);
		n_vacant++;
	}
	return CKR_OK;
}

static CK_RV add_scan_dir_inlock(const char *path, size_t len, const char *volume, size_t at)
{
	ef_assert_locked();
	struct scan_dir *grown = ef_grow(sdirs, n_sdirs, &cap_sdirs, 8, sizeof(*grown));
	if (!grown)
		return EF_FAIL(CKR_HOST_MEMORY);
	sdirs = grown;
	struct scan_dir d = { strndup(path, len), volume ? strdup(volume) : NULL, NULL, NULL };
	if (!d.path || (volume && !d.volume)) {
		free(d.path);
		free(d.volume);
		return EF_FAIL(CKR_HOST_MEMORY);
	}
	memmove(&sdirs[at + 1], &sdirs[at], (n_sdirs - at) * sizeof(*sdirs));
	sdirs[at] = d;
	n_sdirs++;
	return CKR_OK;
}

static void drop_scan_dir_inlock(size_t at)
{
	ef_assert_locked();
	ef_keydir_unref(sdirs[at].keys);
	free(sdirs[at].path);
	free(sdirs[at].volume);
	memmove(&sdirs[at], &sdirs[at + 1], (n_sdirs - at - 1) * sizeof(*sdirs));
	n_sdirs--;
}

/* The volumes' folders become those the scan found: new ones are added
 * (in path order, after the [directory] ones), and each is given its
 * listing, NULL for those the scan did not find. */
static CK_RV merge_volume_dirs_inlock(const struct ef_scan *scan)
{
	ef_assert_locked();
	size_t i = n_conf_dirs;
	for (size_t k = i; k < n_sdirs; k++)
		sdirs[k].listing = NULL;
	for (size_t f = scan->n_conf_dirs; f < scan->n_dirs; f++) {
		const struct ef_listing *l = &scan->dirs[f];
		while (i < n_sdirs && strcmp(sdirs[i].path, l->path) < 0)
			i++;
		if (i == n_sdirs || strcmp(sdirs[i].path, l->path) != 0) {
			CK_RV rv = add_scan_dir_inlock(l->path, strlen(l->path), l->volume, i);
			if (rv != CKR_OK)
				return rv;
		}
		sdirs[i++].listing = l;
	}
	return CKR_OK;
}

CK_RV ef_slots_init_inlock(const struct ef_config *cfg, const struct ef_scan *scan, bool dynamic)
{
	ef_assert_locked();
	started = false;
	CK_RV rv = ef_ca_pool_init_inlock(cfg->ca_paths, cfg->n_ca_paths);
	for (size_t i = 0; rv == CKR_OK && i < cfg->n_bundles; i++)
		rv = add_bundle_inlock(&cfg->bundles[i]);
	for (size_t i = 0; rv == CKR_OK && i < scan->n_conf_dirs; i++) {
		const char *d = scan->dirs[i].path;
		rv = add_scan_dir_inlock(d, strlen(d), NULL, n_sdirs);
		n_conf_dirs = n_sdirs;
	}
	if (rv == CKR_OK)
		rv = ef_slots_apply_inlock(scan);
	/* Slots for bundles that appear later, where some can. */
	if (rv == CKR_OK && dynamic)
		rv = add_empty_slots_inlock(cfg->empty_slots_given ? cfg->empty_slots
								   : EF_DEFAULT_EMPTY_SLOTS);
	started = true;
	return rv;
}

CK_RV ef_slots_apply_inlock(const struct ef_scan *scan)
{
	ef_assert_locked();
	CK_RV rv = CKR_OK;

	for (size_t i = 0; rv == CKR_OK && i < scan->n_bundles; i++) {
		struct ef_token *t = find_by_path_inlock(scan->bundles[i].path);
		if (t && !t->from_dir && !t->vacant)
			rv = follow_bundle_inlock(t, &scan->bundles[i]);
	}
	for (size_t i = 0; rv == CKR_OK && i < n_conf_dirs && i < scan->n_conf_dirs; i++)
		rv = scan_dir_inlock(&sdirs[i], &scan->dirs[i]);
	if (rv == CKR_OK)
		rv = merge_volume_dirs_inlock(scan);
	for (size_t i = n_conf_dirs; rv == CKR_OK && i < n_sdirs;) {
		if (sdirs[i].listing) {
			rv = scan_dir_inlock(&sdirs[i], sdirs[i].listing);
			sdirs[i++].listing = NULL; /* the scan is freed after this */
			continue;
		}
		/* Unmounted, or no certificate left: its bundles are gone. */
		vacate_gone_inlock(sdirs[i].path, NULL, 0);
		drop_scan_dir_inlock(i);
	}
	return rv;
}

size_t ef_slots_events_inlock(void)
{
	ef_assert_locked();
	return n_events;
}

bool ef_slots_take_event_inlock(CK_SLOT_ID *slot)
{
	ef_assert_locked();
	for (size_t i = 0; n_events && i < n_slots; i++) {
		if (slots[i]->event) {
			slots[i]->event = false;
			n_events--;
			*slot = slots[i]->slot_id;
			return true;
		}
	}
	return false;
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
	ef_ca_pool_fini_inlock();
	while (n_sdirs)
		drop_scan_dir_inlock(n_sdirs - 1);
	free(sdirs);
	sdirs = NULL;
	cap_sdirs = n_conf_dirs = 0;
	started = false;
	n_events = n_vacant = 0;
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
