/*
 * slots.c - discovery: configured bundles, scanned folders, the CA pool.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ctype.h>
#include <dirent.h>
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
static size_t n_dirs;

/* Process-wide: a path keeps its slot ID for the life of the process. */
static struct id_entry { char *path; CK_SLOT_ID id; } *ids;
static size_t n_ids;
static CK_SLOT_ID next_id = EF_FIRST_SLOT_ID;

/* ids[] is kept sorted by path: a folder of n bundles costs n binary
 * searches here, not n^2/2 string comparisons (tests/bench). */
static CK_RV slot_id_for(const char *path, CK_SLOT_ID *id)
{
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
	struct id_entry *n = realloc(ids, (n_ids + 1) * sizeof(*n));
	if (!n)
		return CKR_HOST_MEMORY;
	ids = n;
	char *copy = strdup(path);
	if (!copy)
		return CKR_HOST_MEMORY;
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
	n_ids = 0;
}

static bool has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);
	return n > e && strcasecmp(name + n - e, ext) == 0;
}

static bool is_cert_name(const char *name)
{
	return has_ext(name, ".cer") || has_ext(name, ".crt");
}

static bool is_key_name(const char *name)
{
	return has_ext(name, ".key");
}

/* ----------------------------------------------------------- CA pool */

static CK_RV add_ca_file(const char *path)
{
	/* Not fopen: a FIFO in a CA folder must not block C_Initialize
	 * (O_NONBLOCK), and only regular files are read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *f = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ef_cert *certs = NULL;
	size_t n = 0;
	CK_RV rv = CKR_OK;

	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	if (fd >= 0 && !(f = fdopen(fd, "rb")))
		close(fd);
	if (!f) {
		ef_log_warn("%s: cannot read CA certificates (%s)", path, strerror(errno));
		return CKR_OK;
	}
	/* CA files are small; cap what is read from a wrong path. */
	buf = malloc(1024 * 1024);
	if (!buf) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	len = fread(buf, 1, 1024 * 1024, f);
	rv = ef_cert_parse_all(buf, len, &certs, &n);
	if (rv == CKR_HOST_MEMORY)
		goto out;
	if (rv != CKR_OK || n == 0) {
		ef_log_warn("%s: no certificate in this file", path);
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
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		ca_pool = p;
		ca_pool[n_ca++] = certs[i];
	}
out:
	free(certs);
	free(buf);
	fclose(f);
	return rv;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the regular entries of a folder that pass the filter, sorted so
 * that slot IDs come out in the same order on every run. */
static CK_RV list_dir(const char *dir, bool (*want)(const char *), char ***out, size_t *n_out)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	CK_RV rv = CKR_OK;

	*out = NULL;
	*n_out = 0;
	if (!d)
		return CKR_DEVICE_ERROR;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !want(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			names = p;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		n++;
	}
	closedir(d);
	if (rv != CKR_OK) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return rv;
	}
	/* An empty folder still gets an array: qsort and bsearch must not
	 * be given NULL, even for no elements (UBSan). */
	if (!names && !(names = calloc(1, sizeof(*names))))
		return CKR_HOST_MEMORY;
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*n_out = n;
	return CKR_OK;
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

static CK_RV add_ca_path(const char *path)
{
	struct stat st;
	char **names;
	size_t n;
	CK_RV rv;

	if (stat(path, &st) != 0) {
		ef_log_trace("%s: no CA certificates here", path);
		return CKR_OK;
	}
	if (!S_ISDIR(st.st_mode))
		return add_ca_file(path);
	rv = list_dir(path, any_file, &names, &n);
	for (size_t i = 0; rv == CKR_OK && i < n; i++) {
		char *full;
		if (asprintf(&full, "%s/%s", path, names[i]) < 0) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		rv = add_ca_file(full);
		free(full);
	}
	if (rv == CKR_OK || rv == CKR_DEVICE_ERROR)
		rv = CKR_OK;
	free_names(names, n);
	return rv;
}

/* -------------------------------------------------------------- slots */

static CK_RV new_token(const char *cert_path, struct ef_token **out)
{
	struct ef_token *t;
	CK_RV rv;

	if (n_slots == cap_slots) {
		size_t cap = cap_slots ? cap_slots * 2 : 16;
		struct ef_token **p = realloc(slots, cap * sizeof(*p));
		if (!p)
			return CKR_HOST_MEMORY;
		slots = p;
		cap_slots = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return CKR_HOST_MEMORY;
	t->cert_path = strdup(cert_path);
	if (!t->cert_path) {
		free(t);
		return CKR_HOST_MEMORY;
	}
	rv = slot_id_for(cert_path, &t->slot_id);
	if (rv != CKR_OK) {
		ef_token_free(t);
		return rv;
	}
	slots[n_slots++] = t;
	*out = t;
	return CKR_OK;
}

static struct ef_token *find_by_path(const char *cert_path)
{
	for (size_t i = 0; i < n_slots; i++)
		if (strcmp(slots[i]->cert_path, cert_path) == 0)
			return slots[i];
	return NULL;
}

static void set_keys(struct ef_token *t, char **paths, size_t n)
{
	for (size_t i = 0; i < t->n_key_paths; i++)
		free(t->key_paths[i]);
	free(t->key_paths);
	t->key_paths = paths;
	t->n_key_paths = n;
}

static CK_RV add_bundle(const struct ef_bundle_conf *b)
{
	struct ef_token *t;
	char **keys;
	CK_RV rv;

	if (find_by_path(b->cert)) {
		ef_log_warn("%s: configured twice; the first entry is used", b->cert);
		return CKR_OK;
	}
	rv = new_token(b->cert, &t);
	if (rv != CKR_OK)
		return rv;
	if (b->label && !(t->label_override = strdup(b->label)))
		return CKR_HOST_MEMORY;
	if (b->key) {
		keys = calloc(1, sizeof(*keys));
		if (!keys || !(keys[0] = strdup(b->key))) {
			free(keys);
			return CKR_HOST_MEMORY;
		}
		set_keys(t, keys, 1);
	}
	rv = ef_token_load(t);
	return rv == CKR_HOST_MEMORY ? rv : CKR_OK;
}

static size_t stem_len(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

/* A folder's names indexed by stem (case-insensitive), once per scan:
 * comparing every certificate with every key, and every key with every
 * certificate, made a scan of n bundles cost up to n^3 comparisons. */
struct stem_ref {
	const char *name;
	size_t len;     /* of the stem */
	size_t index;   /* in the sorted folder listing */
};

static int cmp_stem(const void *a, const void *b)
{
	const struct stem_ref *x = a, *y = b;
	int c = strncasecmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Equal stems stay in listing order, so the first such key wins. */
static int cmp_stem_index(const void *a, const void *b)
{
	const struct stem_ref *x = a, *y = b;
	int c = cmp_stem(a, b);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static struct stem_ref *stem_index(char **names, size_t n)
{
	struct stem_ref *r = calloc(n ? n : 1, sizeof(*r));
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		r[i].name = names[i];
		r[i].len = stem_len(names[i]);
		r[i].index = i;
	}
	qsort(r, n, sizeof(*r), cmp_stem_index);
	return r;
}

/* The first name of the index (in listing order) with this stem, or NULL. */
static const struct stem_ref *find_stem(const struct stem_ref *r, size_t n, const char *name)
{
	struct stem_ref want = { name, stem_len(name), 0 };
	const struct stem_ref *hit = bsearch(&want, r, n, sizeof(*r), cmp_stem);
	while (hit && hit > r && cmp_stem(hit - 1, &want) == 0)
		hit--;
	return hit;
}

/* Every word of the unclaimed keys' names (split at '_', '-', '.' and
 * blanks), sorted: SAT names a key Claveprivada_FIEL_RFC_date.key, so a
 * certificate finds the keys that carry its RFC with one binary search. */
static struct stem_ref *word_index(char **keys, const size_t *unclaimed, size_t n,
				   size_t *n_words)
{
	static const char seps[] = "_-. ";
	struct stem_ref *r = NULL;
	size_t count = 0;
	/* Count, then fill: the same walk twice. */
	for (int fill = 0; fill < 2; fill++) {
		if (fill && !(r = calloc(count ? count : 1, sizeof(*r))))
			return NULL;
		count = 0;
		for (size_t j = 0; j < n; j++) {
			const char *name = keys[unclaimed[j]];
			for (const char *p = name + strspn(name, seps); *p; p += strspn(p, seps)) {
				size_t len = strcspn(p, seps);
				if (fill)
					r[count] = (struct stem_ref){ p, len, unclaimed[j] };
				count++;
				p += len;
			}
		}
	}
	qsort(r, count, sizeof(*r), cmp_stem_index);
	*n_words = count;
	return r;
}

/* The keys that may open a certificate of the folder: the one with the
 * same name, or else every key that no certificate claims by name (SAT's
 * downloads name the .cer after the número and the .key after the RFC). */
static CK_RV key_candidates(const char *dir, const char *cert, const char *rfc, char **keys,
			    const struct stem_ref *key_stems, size_t n_keys,
			    const size_t *unclaimed, size_t n_unclaimed,
			    const struct stem_ref *words, size_t n_words,
			    char ***out, size_t *n_out, bool *guessed, bool *narrowed)
{
	const struct stem_ref *own = find_stem(key_stems, n_keys, cert);
	const struct stem_ref *first = NULL, *end = NULL;
	size_t n_named = 0;
	/* When unclaimed keys carry the certificate's RFC as a word of their
	 * name, only they are candidates: without this every certificate of
	 * a folder of SAT downloads held the whole list, n^2 paths.  Within a
	 * word the entries are in key order, so a repeat is adjacent. */
	if (!own && rfc && *rfc) {
		struct stem_ref want = { rfc, strlen(rfc), 0 };
		first = find_stem(words, n_words, rfc);
		for (end = first; end && end < words + n_words && cmp_stem(end, &want) == 0; end++)
			n_named += end == first || end[-1].index != end->index;
	}
	size_t n = own ? 1 : n_named ? n_named : n_unclaimed;
	char **c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return CKR_HOST_MEMORY;
	*guessed = !own;
	*narrowed = !own && n_named;
	for (size_t k = 0; k < n; k++) {
		size_t index;
		if (own) {
			index = own->index;
		} else if (n_named) {
			if (k)
				for (first++; first[-1].index == first->index; first++)
					;
			index = first->index;
		} else {
			index = unclaimed[k];
		}
		if (asprintf(&c[k], "%s/%s", dir, keys[index]) < 0) {
			free_names(c, k);
			return CKR_HOST_MEMORY;
		}
	}
	*out = c;
	*n_out = n;
	return CKR_OK;
}

static int cmp_token_path(const void *a, const void *b)
{
	return strcmp((*(struct ef_token *const *)a)->cert_path,
		      (*(struct ef_token *const *)b)->cert_path);
}

/* find_by_path() over tokens sorted by cert_path. */
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

static bool in_dir(const struct ef_token *t, const char *dir)
{
	size_t n = strlen(dir);
	return t->from_dir && strncmp(t->cert_path, dir, n) == 0 && t->cert_path[n] == '/' &&
	       !strchr(t->cert_path + n + 1, '/');
}

static bool changed_on_disk(const struct ef_token *t, const struct stat *st)
{
	return st->st_dev != t->cert_dev || st->st_ino != t->cert_ino ||
	       st->st_size != t->cert_size || st->st_mtim.tv_sec != t->cert_mtime.tv_sec ||
	       st->st_mtim.tv_nsec != t->cert_mtime.tv_nsec;
}

static CK_RV scan_dir(const char *dir)
{
	char **certs = NULL, **keys = NULL;
	size_t n_certs = 0, n_keys = 0, n_unclaimed = 0, n_known = n_slots;
	struct stem_ref *cert_stems = NULL, *key_stems = NULL;
	size_t *unclaimed = NULL, n_words = 0;
	struct stem_ref *words = NULL;
	struct ef_token **known = NULL;
	CK_RV rv;

	rv = list_dir(dir, is_cert_name, &certs, &n_certs);
	if (rv == CKR_DEVICE_ERROR) {
		ef_log_warn("%s: cannot read this folder (%s)", dir, strerror(errno));
		n_certs = 0;
	} else if (rv != CKR_OK) {
		return rv;
	}
	rv = list_dir(dir, is_key_name, &keys, &n_keys);
	if (rv == CKR_HOST_MEMORY)
		goto out;
	rv = CKR_OK;

	/* Indexes for this scan, so that each certificate costs a few
	 * binary searches, whatever the size of the folder. */
	cert_stems = stem_index(certs, n_certs);
	key_stems = stem_index(keys, n_keys);
	unclaimed = calloc(n_keys ? n_keys : 1, sizeof(*unclaimed));
	known = calloc(n_known ? n_known : 1, sizeof(*known));
	if (!cert_stems || !key_stems || !unclaimed || !known) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (size_t k = 0; k < n_keys; k++)
		if (!find_stem(cert_stems, n_certs, keys[k]))
			unclaimed[n_unclaimed++] = k;
	words = word_index(keys, unclaimed, n_unclaimed, &n_words);
	if (!words) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (n_known)
		memcpy(known, slots, n_known * sizeof(*known));
	qsort(known, n_known, sizeof(*known), cmp_token_path);

	/* Bundles of this folder whose certificate is gone lose their token. */
	for (size_t i = 0; i < n_slots; i++) {
		struct ef_token *t = slots[i];
		if (!in_dir(t, dir))
			continue;
		const char *name = t->cert_path + strlen(dir) + 1;
		/* certs is NULL when the folder cannot be read any more. */
		if ((!certs || !bsearch(&name, certs, n_certs, sizeof(*certs), cmp_str)) &&
		    t->present) {
			ef_log_trace("slot %lu: %s is gone", t->slot_id, t->cert_path);
			ef_token_unload(t);
		}
	}
	for (size_t i = 0; i < n_certs; i++) {
		char *path, **cand = NULL;
		size_t n_cand = 0;
		struct stat st;
		if (asprintf(&path, "%s/%s", dir, certs[i]) < 0) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		/* Tokens made by this loop are for other names of the
		 * listing: the index of those known before is enough. */
		struct ef_token *t = find_sorted(known, n_known, path);
		bool fresh = !t;
		if (fresh && (rv = new_token(path, &t)) != CKR_OK) {
			free(path);
			goto out;
		}
		free(path);
		t->from_dir = true;
		/* The certificate first: its RFC picks the candidate keys. */
		if (fresh || stat(t->cert_path, &st) != 0 || !t->present || changed_on_disk(t, &st)) {
			rv = ef_token_load(t);
			if (rv == CKR_HOST_MEMORY)
				goto out;
		}
		rv = key_candidates(dir, certs[i], t->present ? t->cert.sat.rfc : NULL, keys,
				    key_stems, n_keys, unclaimed, n_unclaimed, words, n_words,
				    &cand, &n_cand, &t->keys_guessed, &t->keys_narrowed);
		if (rv != CKR_OK)
			goto out;
		set_keys(t, cand, n_cand);
	}
out:
	free(words);
	free(known);
	free(unclaimed);
	free(cert_stems);
	free(key_stems);
	free_names(certs, n_certs);
	free_names(keys, n_keys);
	return rv;
}

/* The CA pool is read at the first search that may show CA certificates:
 * signing alone never needs it. */
static char **ca_paths;
static size_t n_ca_paths;
static bool ca_pool_read;

static void clear_ca_pool(void)
{
	for (size_t i = 0; i < n_ca; i++)
		ef_cert_clear(&ca_pool[i]);
	free(ca_pool);
	ca_pool = NULL;
	n_ca = 0;
	ca_pool_read = false;
}

CK_RV ef_slots_chain_inlock(struct ef_token *t)
{
	CK_RV rv = CKR_OK;
	if (!ca_pool_read) {
		rv = add_ca_path(EF_CA_DIR);
		for (size_t i = 0; rv == CKR_OK && i < n_ca_paths; i++)
			rv = add_ca_path(ca_paths[i]);
		/* Half a pool would give this token a chain that stops short,
		 * for good: the next search reads it all again. */
		if (rv != CKR_OK) {
			clear_ca_pool();
			return rv;
		}
		ca_pool_read = true;
	}
	return ef_token_add_chain(t, ca_pool, n_ca);
}

CK_RV ef_slots_init_inlock(const struct ef_config *cfg)
{
	CK_RV rv = CKR_OK;
	ca_paths = calloc(cfg->n_ca_paths ? cfg->n_ca_paths : 1, sizeof(*ca_paths));
	if (!ca_paths)
		return CKR_HOST_MEMORY;
	for (size_t i = 0; i < cfg->n_ca_paths; i++, n_ca_paths++)
		if (!(ca_paths[i] = strdup(cfg->ca_paths[i])))
			return CKR_HOST_MEMORY;
	for (size_t i = 0; rv == CKR_OK && i < cfg->n_bundles; i++)
		rv = add_bundle(&cfg->bundles[i]);
	if (rv != CKR_OK)
		return rv;
	dirs = calloc(cfg->n_dirs ? cfg->n_dirs : 1, sizeof(*dirs));
	if (!dirs)
		return CKR_HOST_MEMORY;
	for (size_t i = 0; i < cfg->n_dirs; i++) {
		/* A trailing slash would make the same file two paths. */
		size_t len = strlen(cfg->dirs[i]);
		while (len > 1 && cfg->dirs[i][len - 1] == '/')
			len--;
		if (!(dirs[n_dirs] = strndup(cfg->dirs[i], len)))
			return CKR_HOST_MEMORY;
		n_dirs++;
	}
	return ef_slots_rescan_inlock();
}

CK_RV ef_slots_rescan_inlock(void)
{
	for (size_t i = 0; i < n_dirs; i++) {
		CK_RV rv = scan_dir(dirs[i]);
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

void ef_slots_wipe_keys_inlock(void)
{
	for (size_t i = 0; i < n_slots; i++)
		ef_token_logout(slots[i]);
}

void ef_slots_fini_inlock(void)
{
	for (size_t i = 0; i < n_slots; i++)
		ef_token_free(slots[i]);
	free(slots);
	slots = NULL;
	n_slots = cap_slots = 0;
	clear_ca_pool();
	free_names(ca_paths, n_ca_paths);
	ca_paths = NULL;
	n_ca_paths = 0;
	free_names(dirs, n_dirs);
	dirs = NULL;
	n_dirs = 0;
}

size_t ef_slots_count_inlock(void)
{
	return n_slots;
}

struct ef_token *ef_slots_at_inlock(size_t index)
{
	return index < n_slots ? slots[index] : NULL;
}

struct ef_token *ef_slots_find_inlock(CK_SLOT_ID id)
{
	for (size_t i = 0; i < n_slots; i++)
		if (slots[i]->slot_id == id)
			return slots[i];
	return NULL;
}
