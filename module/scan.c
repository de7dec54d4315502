/*
 * scan.c - the half of a rescan that reads the disk (scan.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "crypto.h"
#include "file.h"
#include "grow.h"
#include "log.h"
#include "platform.h"
#include "strv.h"
#include "volumes.h"

/* A certificate's id when the previous scan saw it. */
struct seen {
	char *path;
	struct ef_file_id id;
};

struct ef_sources {
	atomic_int refs;
	struct ef_os_mutex mu;
	char **bundles, **bundle_keys; /* a key may be NULL */
	size_t n_bundles;
	char **dirs;
	size_t n_dirs;
	char **roots;
	size_t n_roots;
	/* Under mu: what the previous scan saw, sorted by path, so that a
	 * certificate is read again only when its file changed. */
	struct seen *seen;
	size_t n_seen;
};

static void free_seen(struct seen *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static void free_sources(struct ef_sources *s)
{
	ef_strv_free(s->bundles, s->n_bundles);
	ef_strv_free(s->bundle_keys, s->n_bundles);
	ef_strv_free(s->dirs, s->n_dirs);
	ef_strv_free(s->roots, s->n_roots);
	free_seen(s->seen, s->n_seen);
	free(s);
}

CK_RV ef_sources_new(const struct ef_config *cfg, struct ef_sources **out)
{
	struct ef_sources *s = calloc(1, sizeof(*s));
	size_t nb = cfg->n_bundles, nd = cfg->n_dirs, nr = cfg->n_removable_roots;
	CK_RV rv = CKR_OK;
	if (!s)
		return EF_FAIL(CKR_HOST_MEMORY);
	atomic_init(&s->refs, 1);
	ef_os_mutex_init(&s->mu);
	s->bundles = calloc(nb ? nb : 1, sizeof(char *));
	s->bundle_keys = calloc(nb ? nb : 1, sizeof(char *));
	s->dirs = calloc(nd ? nd : 1, sizeof(char *));
	if (!s->bundles || !s->bundle_keys || !s->dirs)
		rv = EF_FAIL(CKR_HOST_MEMORY);
	for (; rv == CKR_OK && s->n_bundles < nb; s->n_bundles++) {
		const struct ef_bundle_conf *b = &cfg->bundles[s->n_bundles];
		if (!(s->bundles[s->n_bundles] = strdup(b->cert)) ||
		    (b->key && !(s->bundle_keys[s->n_bundles] = strdup(b->key))))
			rv = EF_FAIL(CKR_HOST_MEMORY);
	}
	for (; rv == CKR_OK && s->n_dirs < nd; s->n_dirs++) {
		/* A trailing slash would make the same file two paths. */
		const char *d = cfg->dirs[s->n_dirs];
		size_t len = strlen(d);
		while (len > 1 && d[len - 1] == '/')
			len--;
		if (!(s->dirs[s->n_dirs] = strndup(d, len)))
			rv = EF_FAIL(CKR_HOST_MEMORY);
	}
	if (rv == CKR_OK && !cfg->removable_off && nr) {
		if (!(s->roots = calloc(nr, sizeof(char *))))
			rv = EF_FAIL(CKR_HOST_MEMORY);
		for (; rv == CKR_OK && s->n_roots < nr; s->n_roots++)
			if (!(s->roots[s->n_roots] = strdup(cfg->removable_roots[s->n_roots])))
				rv = EF_FAIL(CKR_HOST_MEMORY);
	} else if (rv == CKR_OK && !cfg->removable_off) {
		if (!ef_os_removable_roots(&s->roots, &s->n_roots))
			rv = EF_FAIL(CKR_HOST_MEMORY);
	}
	if (rv != CKR_OK) {
		ef_sources_unref(s);
		return rv;
	}
	*out = s;
	return CKR_OK;
}

struct ef_sources *ef_sources_ref(struct ef_sources *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void ef_sources_unref(struct ef_sources *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	ef_os_mutex_destroy(&s->mu);
	free_sources(s);
}

void ef_sources_forget_forked(struct ef_sources *s)
{
	if (s)
		free_sources(s);
}

void ef_sources_lock(struct ef_sources *s)
{
	ef_os_mutex_lock(&s->mu);
}

void ef_sources_unlock(struct ef_sources *s)
{
	ef_os_mutex_unlock(&s->mu);
}

bool ef_sources_dynamic(const struct ef_sources *s)
{
	return s->n_dirs || s->n_roots;
}

size_t ef_sources_n_bundles(const struct ef_sources *s)
{
	return s->n_bundles;
}

/* ---------------------------------------------------------------- read */

static int cmp_seen(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->path, ((const struct seen *)b)->path);
}

/* Whether the previous scan saw path with this id. */
static bool seen_before(const struct ef_sources *s, const char *path, const struct ef_file_id *id)
{
	struct seen key = { (char *)path, { 0 } };
	const struct seen *e =
		s->n_seen ? bsearch(&key, s->seen, s->n_seen, sizeof(key), cmp_seen) : NULL;
	return e && ef_file_id_equal(&e->id, id);
}

static CK_RV note_seen(struct seen **v, size_t *n, size_t *cap, const char *path,
		       const struct ef_file_id *id)
{
	struct seen *grown = ef_grow(*v, *n, cap, 64, sizeof(*grown));
	if (!grown)
		return EF_FAIL(CKR_HOST_MEMORY);
	*v = grown;
	if (!(grown[*n].path = strdup(path)))
		return EF_FAIL(CKR_HOST_MEMORY);
	grown[(*n)++].id = *id;
	return CKR_OK;
}

/* The certificate's bytes when new or changed; a file that cannot be
 * read now is left to the half under the lock, which says why. */
static CK_RV read_if_new(const struct ef_sources *s, const char *path, bool nofollow,
			 const struct ef_file_id *id, struct ef_cert_bytes *out)
{
	out->data = NULL;
	out->len = 0;
	if (seen_before(s, path, id))
		return CKR_OK;
	if (!ef_file_read(path, nofollow, EF_MAX_FILE, &ef_file_heap, &out->data, &out->len)) {
		out->data = NULL;
		if (errno == ENOMEM)
			return EF_FAIL(CKR_HOST_MEMORY);
	}
	return CKR_OK;
}

static CK_RV list_dir(const struct ef_sources *s, const char *path, const char *volume,
		      struct ef_listing *l)
{
	CK_RV rv;
	memset(l, 0, sizeof(*l));
	l->path = strdup(path);
	l->volume = volume ? strdup(volume) : NULL;
	if (!l->path || (volume && !l->volume))
		return EF_FAIL(CKR_HOST_MEMORY);
	/* A symlink in the folder is no bundle file, wherever it points (the
	 * folder is what the user named; a [bundle] may name a symlink).  The
	 * certificates' ids tell which changed since the last scan. */
	rv = ef_folder_list(path, ef_is_cert_name, EF_LIST_FILES_ID, &l->certs, &l->n_certs);
	if (rv == CKR_DEVICE_ERROR) {
		l->err = errno;
		ef_fail_forget(); /* the half under the lock says so */
		return CKR_OK;
	}
	if (rv != CKR_OK)
		return rv;
	l->readable = true;
	rv = ef_folder_list(path, ef_is_key_name, EF_LIST_FILES, &l->keys, &l->n_keys);
	if (rv == CKR_HOST_MEMORY)
		return rv;
	ef_fail_forget(); /* keys unreadable: tolerated, the folder has none now */
	l->bytes = calloc(l->n_certs ? l->n_certs : 1, sizeof(*l->bytes));
	if (!l->bytes)
		return EF_FAIL(CKR_HOST_MEMORY);
	for (size_t i = 0; i < l->n_certs; i++) {
		char *full;
		if (asprintf(&full, "%s/%s", path, l->certs[i].name) < 0)
			return EF_FAIL(CKR_HOST_MEMORY);
		rv = read_if_new(s, full, true, &l->certs[i].id, &l->bytes[i]);
		free(full);
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

/* A [bundle]'s files are followed through their folders. */
static void watch_parent(struct ef_watch *w, const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	if (!file)
		return;
	char *dir = slash ? strndup(file, slash > file ? (size_t)(slash - file) : 1) : strdup(".");
	if (dir)
		ef_watch_dir(w, dir);
	free(dir);
}

static CK_RV read_bundles(const struct ef_sources *s, struct ef_watch *w, struct ef_scan *out)
{
	out->bundles = calloc(s->n_bundles ? s->n_bundles : 1, sizeof(*out->bundles));
	if (!out->bundles)
		return EF_FAIL(CKR_HOST_MEMORY);
	out->n_bundles = s->n_bundles;
	for (size_t i = 0; i < s->n_bundles; i++) {
		struct ef_bundle_seen *b = &out->bundles[i];
		if (w) {
			watch_parent(w, s->bundles[i]);
			watch_parent(w, s->bundle_keys[i]);
		}
		if (!(b->path = strdup(s->bundles[i])))
			return EF_FAIL(CKR_HOST_MEMORY);
		b->exists = ef_file_id_of(s->bundles[i], &b->id);
		if (b->exists) {
			CK_RV rv = read_if_new(s, s->bundles[i], false, &b->id, &b->bytes);
			if (rv != CKR_OK)
				return rv;
		}
	}
	return CKR_OK;
}

static bool configured_dir(const struct ef_sources *s, const char *path)
{
	for (size_t i = 0; i < s->n_dirs; i++)
		if (strcmp(s->dirs[i], path) == 0)
			return true;
	return false;
}

static CK_RV read_dirs(const struct ef_sources *s, struct ef_watch *w, struct ef_scan *out)
{
	struct ef_found_dir *found = NULL;
	size_t n_found = 0;
	CK_RV rv = CKR_OK;
	if (s->n_roots)
		rv = ef_volumes_find(s->roots, s->n_roots, w, &found, &n_found);
	if (rv != CKR_OK)
		return rv;
	out->dirs = calloc(s->n_dirs + n_found + 1, sizeof(*out->dirs));
	if (!out->dirs) {
		ef_volumes_free(found, n_found);
		return EF_FAIL(CKR_HOST_MEMORY);
	}
	out->n_conf_dirs = s->n_dirs;
	for (size_t i = 0; rv == CKR_OK && i < s->n_dirs; i++, out->n_dirs++) {
		if (w)
			ef_watch_dir(w, s->dirs[i]);
		rv = list_dir(s, s->dirs[i], NULL, &out->dirs[i]);
	}
	for (size_t i = 0; rv == CKR_OK && i < n_found; i++) {
		if (configured_dir(s, found[i].path))
			continue; /* a [directory] on a stick: scanned as configured */
		rv = list_dir(s, found[i].path, found[i].volume, &out->dirs[out->n_dirs++]);
	}
	ef_volumes_free(found, n_found);
	return rv;
}

/* What this scan saw becomes the previous scan's. */
static CK_RV remember(struct ef_sources *s, const struct ef_scan *scan)
{
	struct seen *v = NULL;
	size_t n = 0, cap = 0;
	CK_RV rv = CKR_OK;
	for (size_t i = 0; rv == CKR_OK && i < scan->n_bundles; i++)
		if (scan->bundles[i].exists)
			rv = note_seen(&v, &n, &cap, scan->bundles[i].path, &scan->bundles[i].id);
	for (size_t d = 0; rv == CKR_OK && d < scan->n_dirs; d++) {
		const struct ef_listing *l = &scan->dirs[d];
		for (size_t i = 0; rv == CKR_OK && i < l->n_certs; i++) {
			char *full;
			if (asprintf(&full, "%s/%s", l->path, l->certs[i].name) < 0) {
				rv = EF_FAIL(CKR_HOST_MEMORY);
				break;
			}
			rv = note_seen(&v, &n, &cap, full, &l->certs[i].id);
			free(full);
		}
	}
	if (rv != CKR_OK) {
		free_seen(v, n);
		return rv;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_seen);
	free_seen(s->seen, s->n_seen);
	s->seen = v;
	s->n_seen = n;
	return CKR_OK;
}

CK_RV ef_scan_read(struct ef_sources *s, struct ef_watch *w, struct ef_scan *out)
{
	memset(out, 0, sizeof(*out));
	if (w)
		ef_watch_begin(w);
	CK_RV rv = read_bundles(s, w, out);
	if (rv == CKR_OK)
		rv = read_dirs(s, w, out);
	if (w)
		ef_watch_end(w);
	if (rv == CKR_OK)
		rv = remember(s, out);
	if (rv != CKR_OK)
		ef_scan_free(out);
	return rv;
}

void ef_scan_free(struct ef_scan *scan)
{
	for (size_t d = 0; d < scan->n_dirs; d++) {
		struct ef_listing *l = &scan->dirs[d];
		for (size_t i = 0; l->bytes && i < l->n_certs; i++)
			free(l->bytes[i].data);
		free(l->bytes);
		ef_folder_free_list(l->certs, l->n_certs);
		ef_folder_free_list(l->keys, l->n_keys);
		free(l->path);
		free(l->volume);
	}
	free(scan->dirs);
	for (size_t i = 0; i < scan->n_bundles; i++) {
		free(scan->bundles[i].path);
		free(scan->bundles[i].bytes.data);
	}
	free(scan->bundles);
	memset(scan, 0, sizeof(*scan));
}
