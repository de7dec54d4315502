/*
 * folder.c - folder listings, name stems, and the shared index of a
 * folder's unclaimed keys.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "folder.h"
#include "log.h"

bool ef_file_id_equal(const struct ef_file_id *a, const struct ef_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int ef_dir_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ef_dir_entry *)a)->name, ((const struct ef_dir_entry *)b)->name);
}

void ef_folder_free_list(struct ef_dir_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].name);
	free(e);
}

bool ef_file_id_of(const char *path, struct ef_file_id *id)
{
	return ef_os_file_id(path, id);
}

CK_RV ef_folder_list(const char *dir, bool (*want)(const char *), enum ef_list what,
		     struct ef_dir_entry **out, size_t *n_out)
{
	struct ef_os_dir *d;
	struct ef_dir_entry *v = NULL;
	size_t n = 0, cap = 0;
	const char *name;
	CK_RV rv = CKR_OK;

	*out = NULL;
	*n_out = 0;
	if (!ef_os_dir_open(dir, &d))
		return EF_FAIL(errno == ENOMEM ? CKR_HOST_MEMORY : CKR_DEVICE_ERROR);
	while ((name = ef_os_dir_next(d))) {
		struct ef_file_id id = { 0 };
		if (name[0] == '.' || !want(name))
			continue;
		/* Only the entry itself: a symlink in a scanned folder may
		 * point anywhere (another user's key, /dev/zero), and the
		 * folder is what the user named. */
		if (what != EF_LIST_ANY &&
		    ef_os_dir_kind(d, what == EF_LIST_FILES_ID ? &id : NULL) != EF_OS_FILE) {
			ef_log_trace(
				"%s/%s: not a regular file (a symlink is not followed); skipped",
				dir, name);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct ef_dir_entry *p = realloc(v, cap * sizeof(*p));
			if (!p) {
				rv = EF_FAIL(CKR_HOST_MEMORY);
				break;
			}
			v = p;
		}
		memset(&v[n], 0, sizeof(v[n]));
		if (!(v[n].name = strdup(name))) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			break;
		}
		v[n].id = id;
		n++;
	}
	ef_os_dir_close(d);
	if (rv != CKR_OK) {
		ef_folder_free_list(v, n);
		return rv;
	}
	/* An empty folder still gets an array: qsort and bsearch must not
	 * be given NULL, even for no elements (UBSan). */
	if (!v && !(v = calloc(1, sizeof(*v))))
		return EF_FAIL(CKR_HOST_MEMORY);
	qsort(v, n, sizeof(*v), ef_dir_entry_cmp);
	*out = v;
	*n_out = n;
	return CKR_OK;
}

/* ------------------------------------------------------- the name rule */

/* Case does not count anywhere in a name: SAT's own names differ from
 * what reaches the folder (a FAT stick or a Windows copy shows
 * 00001000000500003282.CER, a user types rfc.key for RFC.cer), and an RFC
 * inside a key's name is matched the same way. */
static bool has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);
	return n > e && strcasecmp(name + n - e, ext) == 0;
}

bool ef_is_cert_name(const char *name)
{
	return has_ext(name, ".cer") || has_ext(name, ".crt");
}

bool ef_is_key_name(const char *name)
{
	return has_ext(name, ".key");
}

static size_t stem_len(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

/* Comparing every certificate with every key, and every key with every
 * certificate, made a scan of n bundles cost up to n^3 comparisons: the
 * names are sorted by stem once per scan and searched.  This order is the
 * rule: two names pair when it finds them equal. */
static int cmp_stem(const void *a, const void *b)
{
	const struct ef_stem *x = a, *y = b;
	int c = strncasecmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

bool ef_names_pair(const char *cert_name, const char *key_name)
{
	struct ef_stem c = { cert_name, stem_len(cert_name), 0 };
	struct ef_stem k = { key_name, stem_len(key_name), 0 };
	return cmp_stem(&c, &k) == 0;
}

/* Equal stems stay in listing order, so the first such name wins. */
static int cmp_stem_index(const void *a, const void *b)
{
	const struct ef_stem *x = a, *y = b;
	int c = cmp_stem(a, b);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

struct ef_stem *ef_stem_index(const struct ef_dir_entry *e, size_t n)
{
	struct ef_stem *r = calloc(n ? n : 1, sizeof(*r));
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++)
		r[i] = (struct ef_stem){ e[i].name, stem_len(e[i].name), i };
	qsort(r, n, sizeof(*r), cmp_stem_index);
	return r;
}

/* The first entry of r equal to want under cmp_stem, or NULL. */
static const struct ef_stem *find_first(const struct ef_stem *r, size_t n,
					const struct ef_stem *want)
{
	const struct ef_stem *hit = bsearch(want, r, n, sizeof(*r), cmp_stem);
	while (hit && hit > r && cmp_stem(hit - 1, want) == 0)
		hit--;
	return hit;
}

const struct ef_stem *ef_stem_find(const struct ef_stem *r, size_t n, const char *name)
{
	struct ef_stem want = { name, stem_len(name), 0 };
	return find_first(r, n, &want);
}

/* ------------------------------------------------------ the key index */

struct ef_keydir {
	unsigned long refs;
	char *dir;
	struct ef_dir_entry *keys;   /* sorted by name */
	size_t n_keys;
	/* Every word of the names (split at '_', '-', '.' and blanks),
	 * sorted: a certificate finds the keys that carry its RFC with one
	 * binary search. */
	struct ef_stem *words;
	size_t n_words;
};

static const char word_seps[] = "_-. ";

static struct ef_stem *word_index(const struct ef_dir_entry *keys, size_t n, size_t *n_words)
{
	struct ef_stem *r = NULL;
	size_t count = 0;
	/* Count, then fill: the same walk twice. */
	for (int fill = 0; fill < 2; fill++) {
		if (fill && !(r = calloc(count ? count : 1, sizeof(*r))))
			return NULL;
		count = 0;
		for (size_t j = 0; j < n; j++) {
			const char *name = keys[j].name;
			for (const char *p = name + strspn(name, word_seps); *p;
			     p += strspn(p, word_seps)) {
				size_t len = strcspn(p, word_seps);
				if (fill)
					r[count] = (struct ef_stem){ p, len, j };
				count++;
				p += len;
			}
		}
	}
	qsort(r, count, sizeof(*r), cmp_stem_index);
	*n_words = count;
	return r;
}

CK_RV ef_keydir_new(const char *dir, const struct ef_dir_entry *keys, const size_t *pick,
		    size_t n, const struct ef_keydir *prev, struct ef_keydir **out)
{
	struct ef_keydir *kd = calloc(1, sizeof(*kd));
	struct ef_os_dir *d = NULL;
	CK_RV rv = CKR_HOST_MEMORY;

	if (!kd)
		return EF_FAIL(CKR_HOST_MEMORY);
	kd->refs = 1;
	kd->keys = calloc(n ? n : 1, sizeof(*kd->keys));
	if (!kd->keys || !(kd->dir = strdup(dir)))
		goto out;
	for (; kd->n_keys < n; kd->n_keys++) {
		const struct ef_dir_entry *k = &keys[pick[kd->n_keys]];
		struct ef_dir_entry *to = &kd->keys[kd->n_keys];
		const struct ef_dir_entry *seen = prev ?
			bsearch(k, prev->keys, prev->n_keys, sizeof(*k), ef_dir_entry_cmp) : NULL;
		if (!(to->name = strdup(k->name)))
			goto out;
		/* Only the ranking of fallbacks reads the id: a file changed
		 * in place keeps its old time here, which is harmless. */
		if (seen) {
			to->id = seen->id;
			continue;
		}
		/* An unreadable folder leaves the ids unknown (zero), but
		 * running out of memory is said. */
		if (!d && !ef_os_dir_open(dir, &d) && errno == ENOMEM)
			goto out;
		if (d)
			ef_os_dir_file_id(d, k->name, &to->id);
	}
	if (!(kd->words = word_index(kd->keys, kd->n_keys, &kd->n_words)))
		goto out;
	*out = kd;
	kd = NULL;
	rv = CKR_OK;
out:
	ef_os_dir_close(d);
	ef_keydir_unref(kd);
	/* Every way here but the one above is an allocation failing. */
	return rv == CKR_OK ? CKR_OK : EF_FAIL(rv);
}

struct ef_keydir *ef_keydir_ref(struct ef_keydir *kd)
{
	if (kd)
		kd->refs++;
	return kd;
}

void ef_keydir_unref(struct ef_keydir *kd)
{
	if (!kd || --kd->refs)
		return;
	ef_folder_free_list(kd->keys, kd->n_keys);
	free(kd->words);
	free(kd->dir);
	free(kd);
}

/* How likely a key is the certificate's, as ef_keydir_pick ranks it. */
struct rank {
	size_t index;
	bool same_second;
	size_t ending;     /* characters the stems share at their end */
	double distance;   /* seconds between the two mtimes */
};

/* Negative when x is the likelier key. */
static int cmp_rank(const struct rank *x, const struct rank *y)
{
	if (x->same_second != y->same_second)
		return x->same_second ? -1 : 1;
	if (x->ending != y->ending)
		return x->ending > y->ending ? -1 : 1;
	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static size_t common_ending(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = 0;
	while (n < alen && n < blen &&
	       tolower((unsigned char)a[alen - n - 1]) == tolower((unsigned char)b[blen - n - 1]))
		n++;
	return n;
}

static struct rank rank_of(const struct ef_keydir *kd, size_t index, const char *cert_name,
			   const struct ef_file_id *cert_id)
{
	const struct ef_dir_entry *k = &kd->keys[index];
	/* In double: a hostile mtime far in the past or future must not
	 * overflow a subtraction of time_t. */
	double d = fabs(((double)k->id.mtime.tv_sec - (double)cert_id->mtime.tv_sec) +
			((double)k->id.mtime.tv_nsec - (double)cert_id->mtime.tv_nsec) / 1e9);
	return (struct rank){ index, d < 1.0,
			      common_ending(k->name, stem_len(k->name), cert_name,
					    stem_len(cert_name)),
			      d };
}

/* Keeps top[] (*n of max) sorted, best first, with r if it ranks high enough. */
static void keep_best(struct rank *top, size_t *n, size_t max, struct rank r)
{
	size_t i = *n;
	if (i == max) {
		if (cmp_rank(&r, &top[max - 1]) >= 0)
			return;
		i--;
	} else {
		(*n)++;
	}
	for (; i > 0 && cmp_rank(&r, &top[i - 1]) < 0; i--)
		top[i] = top[i - 1];
	top[i] = r;
}

static bool among(const struct rank *top, size_t n, size_t index)
{
	for (size_t i = 0; i < n; i++)
		if (top[i].index == index)
			return true;
	return false;
}

CK_RV ef_keydir_pick(const struct ef_keydir *kd, const char *cert_name, const char *rfc,
		     const struct ef_file_id *cert_id, struct ef_key_candidate *out, size_t *n)
{
	struct rank named[EF_KEYDIR_MAX_NARROWED], others[EF_KEYDIR_MAX_OTHERS];
	size_t n_named = 0, n_others = 0;

	if (rfc && *rfc) {
		struct ef_stem want = { rfc, strlen(rfc), 0 };
		/* Within a word the entries are in key order, so a key that
		 * carries the RFC twice is adjacent to itself. */
		for (const struct ef_stem *w = find_first(kd->words, kd->n_words, &want);
		     w && w < kd->words + kd->n_words && cmp_stem(w, &want) == 0; w++)
			if (w == kd->words || w[-1].index != w->index)
				keep_best(named, &n_named, EF_KEYDIR_MAX_NARROWED,
					  rank_of(kd, w->index, cert_name, cert_id));
	}
	for (size_t j = 0; j < kd->n_keys; j++)
		if (!among(named, n_named, j))
			keep_best(others, &n_others, EF_KEYDIR_MAX_OTHERS,
				  rank_of(kd, j, cert_name, cert_id));
	for (size_t i = 0; i < n_named + n_others; i++) {
		size_t index = i < n_named ? named[i].index : others[i - n_named].index;
		struct ef_key_candidate *c = &out[*n];
		if (asprintf(&c->path, "%s/%s", kd->dir, kd->keys[index].name) < 0)
			return EF_FAIL(CKR_HOST_MEMORY);
		c->scanned = true;
		c->fallback = true;
		(*n)++;
	}
	return CKR_OK;
}
