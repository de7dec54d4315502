/*
 * volumes.c - the folders of removable volumes that hold certificates
 * (volumes.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "volumes.h"
#include "folder.h"
#include "grow.h"
#include "log.h"
#include "platform.h"
#include "strv.h"

void ef_volumes_free(struct ef_found_dir *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].path);
		free(d[i].volume);
	}
	free(d);
}

struct walk {
	struct ef_watch *w;
	struct ef_found_dir *found;
	size_t n, cap;
	size_t budget; /* folders left to look at in this volume */
	const char *volume;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The subfolders of dir (sorted) and whether it holds a certificate;
 * CKR_DEVICE_ERROR when it cannot be read (a volume being unmounted). */
static CK_RV list(const char *dir, char ***subs, size_t *n_subs, bool *has_cert)
{
	struct ef_os_dir *d;
	const char *entry;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*subs = NULL;
	*n_subs = 0;
	*has_cert = false;
	if (!ef_os_dir_open(dir, &d))
		return EF_FAIL(errno == ENOMEM ? CKR_HOST_MEMORY : CKR_DEVICE_ERROR);
	while ((entry = ef_os_dir_next(d))) {
		if (entry[0] == '.')
			continue;
		/* What the entry itself is: a symlink is neither. */
		if (!*has_cert && ef_is_cert_name(entry) && ef_os_dir_kind(d, NULL) == EF_OS_FILE)
			*has_cert = true;
		if (ef_os_dir_kind(d, NULL) != EF_OS_DIR)
			continue;
		char **p = ef_grow(v, n, &cap, 8, sizeof(*p));
		char *name = p ? strdup(entry) : NULL;
		if (p)
			v = p;
		if (!name) {
			ef_os_dir_close(d);
			ef_strv_free(v, n);
			return EF_FAIL(CKR_HOST_MEMORY);
		}
		v[n++] = name;
	}
	ef_os_dir_close(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*subs = v;
	*n_subs = n;
	return CKR_OK;
}

static CK_RV add_found(struct walk *wk, const char *path)
{
	struct ef_found_dir *p = ef_grow(wk->found, wk->n, &wk->cap, 8, sizeof(*p));
	if (!p)
		return EF_FAIL(CKR_HOST_MEMORY);
	wk->found = p;
	p = &wk->found[wk->n];
	p->path = strdup(path);
	p->volume = strdup(wk->volume);
	if (!p->path || !p->volume) {
		free(p->path);
		free(p->volume);
		return EF_FAIL(CKR_HOST_MEMORY);
	}
	wk->n++;
	return CKR_OK;
}

/* Depth first in name order, so that what a bounded walk finds does not
 * depend on the order of the folder's entries on disk. */
static CK_RV walk_dir(struct walk *wk, const char *dir, unsigned depth)
{
	char **subs;
	size_t n_subs;
	bool has_cert;
	CK_RV rv;

	if (wk->budget == 0)
		return CKR_OK;
	wk->budget--;
	if (wk->w)
		ef_watch_dir(wk->w, dir);
	rv = list(dir, &subs, &n_subs, &has_cert);
	if (rv == CKR_DEVICE_ERROR) {
		ef_fail_forget(); /* a volume going away: nothing in it */
		return CKR_OK;
	}
	if (rv != CKR_OK)
		return rv;
	if (has_cert)
		rv = add_found(wk, dir);
	for (size_t i = 0; rv == CKR_OK && depth < EF_VOLUME_DEPTH && i < n_subs; i++) {
		char *sub;
		if (asprintf(&sub, "%s/%s", dir, subs[i]) < 0) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			break;
		}
		rv = walk_dir(wk, sub, depth + 1);
		free(sub);
	}
	ef_strv_free(subs, n_subs);
	return rv;
}

static int cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct ef_found_dir *)a)->path,
		      ((const struct ef_found_dir *)b)->path);
}

CK_RV ef_volumes_find(char *const *roots, size_t n_roots, struct ef_watch *w,
		      struct ef_found_dir **out, size_t *n_out)
{
	struct walk wk = { .w = w };
	CK_RV rv = CKR_OK;

	for (size_t r = 0; rv == CKR_OK && r < n_roots; r++) {
		char **vols;
		size_t n_vols;
		bool has_cert;
		if (w)
			ef_watch_dir(w, roots[r]);
		rv = list(roots[r], &vols, &n_vols, &has_cert);
		if (rv == CKR_DEVICE_ERROR) {
			ef_fail_forget(); /* no such root on this system */
			rv = CKR_OK;
			continue;
		}
		for (size_t i = 0; rv == CKR_OK && i < n_vols; i++) {
			char *path;
			if (asprintf(&path, "%s/%s", roots[r], vols[i]) < 0) {
				rv = EF_FAIL(CKR_HOST_MEMORY);
				break;
			}
			wk.volume = vols[i];
			wk.budget = EF_VOLUME_MAX_DIRS;
			rv = walk_dir(&wk, path, 0);
			free(path);
		}
		ef_strv_free(vols, n_vols);
	}
	if (rv != CKR_OK) {
		ef_volumes_free(wk.found, wk.n);
		return rv;
	}
	if (wk.n)
		qsort(wk.found, wk.n, sizeof(*wk.found), cmp_found);
	*out = wk.found;
	*n_out = wk.n;
	return CKR_OK;
}
