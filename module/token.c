/*
 * token.c - one bundle: load the certificate, open the key at login,
 * change its password.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "token.h"
#include "log.h"
#include "sat.h"

/* Certificates are a few KiB and SAT keys 1.3 KiB: anything larger than
 * this is not a bundle file, and reading it would only cost memory. */
#define EF_MAX_FILE (1024 * 1024)
#define EF_MAX_CHAIN 8
#define EF_MIN_PIN 8
#define EF_MAX_PIN 256

static void free_file(unsigned char *buf, bool secret)
{
	if (secret)
		ef_secret_free(buf);
	else
		free(buf);
}

/* Reads a whole file; errno tells why it failed.  A secret one (a .key:
 * for an unencrypted key the buffer is the key) goes into an
 * ef_secret_alloc buffer; free it with free_file. */
static bool read_file(const char *path, bool secret, unsigned char **out, size_t *out_len,
		      struct stat *st_out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	bool ok = false;
	/* O_NONBLOCK: a FIFO named like a bundle file must not hang
	 * C_Initialize waiting for a writer (it is refused as not regular
	 * below); reads of a regular file ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size > EF_MAX_FILE) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto out;
	}
	buf = secret ? ef_secret_alloc((size_t)st.st_size + 1) : malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (st_out)
		*st_out = st;
	ok = true;
out:
	close(fd);
	if (!ok) {
		free_file(buf, secret);
		return false;
	}
	*out = buf;
	*out_len = len;
	return true;
}

static void build_infos(struct ef_token *t)
{
	const struct ef_sat_facts *f = &t->cert.sat;
	char label[128];
	const char *name = strrchr(t->cert_path, '/');
	char desc[256];

	memset(&t->slot_info, 0, sizeof(t->slot_info));
	snprintf(desc, sizeof(desc), "efirma-pkcs11 %s", name ? name + 1 : t->cert_path);
	ef_pad_utf8(t->slot_info.slotDescription, sizeof(t->slot_info.slotDescription), desc);
	ef_pad_utf8(t->slot_info.manufacturerID, sizeof(t->slot_info.manufacturerID), "efirma-pkcs11");
	/* Files come and go: every slot is a removable device. */
	t->slot_info.flags = CKF_REMOVABLE_DEVICE | (t->present ? CKF_TOKEN_PRESENT : 0);
	t->slot_info.hardwareVersion.major = 0;
	t->slot_info.hardwareVersion.minor = 1;
	t->slot_info.firmwareVersion = t->slot_info.hardwareVersion;
	if (!t->present)
		return;

	memset(&t->info, 0, sizeof(t->info));
	if (t->label_override)
		snprintf(label, sizeof(label), "%s", t->label_override);
	else if (t->cert.is_sat)
		ef_sat_token_label(f, label, sizeof(label));
	else
		snprintf(label, sizeof(label), "%s", f->holder ? f->holder : "X.509");
	ef_pad_utf8(t->info.label, sizeof(t->info.label), label);
	ef_pad_utf8(t->info.manufacturerID, sizeof(t->info.manufacturerID), "SAT");
	ef_pad_utf8(t->info.model, sizeof(t->info.model),
		  f->kind == EF_SAT_EFIRMA ? "e.firma" : f->kind == EF_SAT_CSD ? "CSD" : "X.509");
	/* The número has 20 digits, the field 16: the last 16 are the ones
	 * that differ between certificates (the first are "300010000"). */
	size_t nlen = strlen(f->numero);
	ef_pad_utf8(t->info.serialNumber, sizeof(t->info.serialNumber),
		  nlen > 16 ? f->numero + nlen - 16 : f->numero);
	t->info.flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
			CKF_TOKEN_INITIALIZED | CKF_RNG;
	t->info.ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	t->info.ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	t->info.ulMaxPinLen = EF_MAX_PIN;
	t->info.ulMinPinLen = EF_MIN_PIN;
	t->info.ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	t->info.ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	t->info.ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	t->info.ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	t->info.hardwareVersion = t->slot_info.hardwareVersion;
	t->info.firmwareVersion = t->slot_info.hardwareVersion;
	memset(t->info.utcTime, ' ', sizeof(t->info.utcTime));
}

/* The CA certificates that chain the token's certificate, nearest first. */
static size_t find_chain(const struct ef_cert *leaf, const struct ef_cert *pool, size_t n,
			 const struct ef_cert **chain)
{
	size_t depth = 0;
	const struct ef_cert *cur = leaf;
	while (depth < EF_MAX_CHAIN && !cur->self_issued) {
		const struct ef_cert *next = NULL;
		for (size_t i = 0; i < n && !next; i++)
			if (&pool[i] != cur && ef_cert_issued_by(cur, &pool[i]))
				next = &pool[i];
		if (!next)
			break;
		for (size_t i = 0; i < depth; i++)
			if (chain[i] == next)
				return depth;   /* a loop in the pool */
		chain[depth++] = next;
		cur = next;
	}
	return depth;
}

static CK_RV build_objects(struct ef_token *t)
{
	const char *holder = t->cert.sat.holder && *t->cert.sat.holder ?
			     t->cert.sat.holder : "e.firma";
	CK_RV rv;

	t->objects = calloc(EF_OBJ_FIRST_CA, sizeof(*t->objects));
	if (!t->objects)
		return CKR_HOST_MEMORY;
	t->n_objects = EF_OBJ_FIRST_CA;
	if ((rv = ef_object_build_cert(&t->objects[EF_OBJ_CERT], &t->cert, 1, holder)) ||
	    (rv = ef_object_build_pubkey(&t->objects[EF_OBJ_PUBKEY], &t->cert, holder,
					 t->can_encrypt)) ||
	    (rv = ef_object_build_privkey(&t->objects[EF_OBJ_PRIVKEY], &t->cert, holder,
					  t->can_encrypt)) ||
	    /* WORKAROUND(NSS): with this profile Firefox lists the
	     * certificates without asking for the password first. */
	    (rv = ef_object_build_profile(&t->objects[EF_OBJ_PROFILE],
					  CKP_PUBLIC_CERTIFICATES_TOKEN)))
		return rv;
	return CKR_OK;
}

CK_RV ef_token_add_chain(struct ef_token *t, const struct ef_cert *pool, size_t n_pool)
{
	const struct ef_cert *chain[EF_MAX_CHAIN];
	struct ef_object *o;
	size_t depth, built = 0;
	CK_RV rv = CKR_OK;

	if (!t->present || t->chain_added)
		return CKR_OK;
	depth = find_chain(&t->cert, pool, n_pool, chain);
	o = realloc(t->objects, (EF_OBJ_FIRST_CA + depth) * sizeof(*o));
	if (!o)
		return CKR_HOST_MEMORY;
	t->objects = o;
	for (; built < depth; built++) {
		const char *cn = chain[built]->sat.holder && *chain[built]->sat.holder ?
				 chain[built]->sat.holder : "SAT CA";
		struct ef_object *ca = &t->objects[EF_OBJ_FIRST_CA + built];
		memset(ca, 0, sizeof(*ca));
		rv = ef_object_build_cert(ca, chain[built], 2, cn);
		if (rv != CKR_OK) {
			ef_object_clear(ca);
			goto out;
		}
	}
	/* Counted only once all are built: a failure (a search answered
	 * CKR_HOST_MEMORY) leaves the token as it was, and the next search
	 * builds the chain again into the same slots of objects[]. */
	t->n_objects = EF_OBJ_FIRST_CA + depth;
	t->chain_added = true;
out:
	if (rv != CKR_OK)
		while (built--)
			ef_object_clear(&t->objects[EF_OBJ_FIRST_CA + built]);
	return rv;
}

CK_RV ef_token_load(struct ef_token *t)
{
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;
	CK_RV rv;

	ef_token_unload(t);
	if (!read_file(t->cert_path, false, &data, &len, &st)) {
		if (errno == ENOMEM) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		ef_log_warn("%s: cannot read the certificate (%s); its slot has no token",
			    t->cert_path, strerror(errno));
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	t->cert_dev = st.st_dev;
	t->cert_ino = st.st_ino;
	t->cert_size = st.st_size;
	t->cert_mtime = st.st_mtim;
	rv = ef_cert_parse(data, len, &t->cert);
	if (rv != CKR_OK) {
		if (rv != CKR_HOST_MEMORY)
			ef_log_warn("%s: not an X.509 certificate; its slot has no token", t->cert_path);
		goto out;
	}
	if (!t->cert.is_rsa) {
		ef_log_warn("%s: the certificate's key is not RSA; its slot has no token",
			    t->cert_path);
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	/* e.firma allows data encipherment; a CSD only signs. */
	t->can_encrypt = !t->cert.has_key_usage ||
			 (t->cert.key_usage & (EF_KU_DATA_ENCIPHERMENT | EF_KU_KEY_ENCIPHERMENT));
	rv = ef_pubkey_from_spki(t->cert.spki, t->cert.spki_len, &t->pubkey);
	if (rv != CKR_OK) {
		ef_log_warn("%s: unusable public key; its slot has no token", t->cert_path);
		goto out;
	}
	rv = build_objects(t);
	if (rv != CKR_OK)
		goto out;
	t->present = true;
	ef_log_trace("slot %lu: %s (%s)", t->slot_id, t->cert_path, t->cert.sat.rfc);
out:
	free(data);
	if (rv != CKR_OK)
		ef_token_unload(t);
	build_infos(t);
	return rv;
}

void ef_token_logout(struct ef_token *t)
{
	if (t->key)
		ef_key_unref(t->key);
	t->key = NULL;
	free(t->key_path);
	t->key_path = NULL;
}

bool ef_token_logged_in(const struct ef_token *t)
{
	return t->key != NULL;
}

void ef_token_unload(struct ef_token *t)
{
	ef_token_logout(t);
	for (size_t i = 0; i < t->n_objects; i++)
		ef_object_clear(&t->objects[i]);
	free(t->objects);
	t->objects = NULL;
	t->n_objects = 0;
	t->chain_added = false;
	if (t->pubkey)
		ef_key_unref(t->pubkey);
	t->pubkey = NULL;
	ef_cert_clear(&t->cert);
	memset(&t->cert, 0, sizeof(t->cert));
	t->present = false;
	t->slot_info.flags &= ~CKF_TOKEN_PRESENT;
}

void ef_token_free(struct ef_token *t)
{
	if (!t)
		return;
	ef_token_unload(t);
	free(t->cert_path);
	for (size_t i = 0; i < t->n_key_paths; i++)
		free(t->key_paths[i]);
	free(t->key_paths);
	free(t->label_override);
	free(t);
}

/* Tries one key file with the PIN as given, then, for a non-ASCII PIN, in
 * Windows-1252: SAT's Certifica encrypted keys with those bytes. */
static CK_RV open_one(const char *path, const unsigned char *pin, size_t pin_len,
		      struct ef_pkey **key)
{
	unsigned char *data = NULL, *alt;
	size_t len = 0, alt_len;
	CK_RV rv;

	ef_log_trace("%s: trying this key", path);
	if (!read_file(path, true, &data, &len, NULL)) {
		if (errno == ENOMEM)
			return CKR_HOST_MEMORY;
		ef_log_warn("%s: cannot read the key (%s)", path, strerror(errno));
		return CKR_DEVICE_ERROR;
	}
	rv = ef_key_open(data, len, pin, pin_len, key);
	if (rv == CKR_PIN_INCORRECT) {
		/* The password in another encoding: as secret as the PIN. */
		alt = ef_secret_alloc(EF_MAX_PIN);
		if (!alt) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		alt_len = ef_sat_pin_cp1252(pin, pin_len, alt, EF_MAX_PIN);
		if (alt_len)
			rv = ef_key_open(data, len, alt, alt_len, key);
		ef_secret_free(alt);
	}
	if (rv == CKR_DATA_INVALID || rv == CKR_KEY_TYPE_INCONSISTENT)
		ef_log_warn("%s: not an RSA private key this module can read", path);
out:
	free_file(data, true);
	return rv;
}

/* Opens one candidate and checks it is this certificate's key.  CKR_OK,
 * CKR_PIN_INCORRECT, CKR_KEY_HANDLE_INVALID (opens, but is another
 * certificate's key), or a reading error. */
static CK_RV try_key(const struct ef_token *t, const char *path, const unsigned char *pin,
		     size_t pin_len, struct ef_pkey **key_out, char **path_out)
{
	struct ef_pkey *key = NULL;
	CK_RV rv = open_one(path, pin, pin_len, &key);
	if (rv != CKR_OK)
		return rv;
	if (!ef_key_matches_spki(key, t->cert.spki, t->cert.spki_len)) {
		/* Among a folder's unclaimed keys, others' keys are
		 * expected; a bundle's one named key is a mistake. */
		if (!t->keys_guessed)
			ef_log_warn("%s: this key does not belong to %s", path, t->cert_path);
		else
			ef_log_trace("%s: opens, but belongs to another certificate", path);
		ef_key_unref(key);
		return CKR_KEY_HANDLE_INVALID;
	}
	if (!(*path_out = strdup(path))) {
		ef_key_unref(key);
		return CKR_HOST_MEMORY;
	}
	*key_out = key;
	return CKR_OK;
}

static bool is_candidate(const struct ef_token *t, const char *path)
{
	for (size_t i = 0; i < t->n_key_paths; i++)
		if (strcmp(t->key_paths[i], path) == 0)
			return true;
	return false;
}

/* True when a certificate in the folder has this key's name (X.key with
 * X.cer or X.crt): that key is claimed by it. */
static bool claimed_by_name(int dirfd, const char *key_name)
{
	static const char *const exts[] = { ".cer", ".CER", ".crt", ".CRT" };
	size_t stem = strlen(key_name) - 4;
	char name[NAME_MAX + 1];
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		snprintf(name, sizeof(name), "%.*s%s", (int)stem, key_name, exts[i]);
		if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	}
	return false;
}

/* A folder's certificate whose candidates were narrowed to the keys that
 * carry its RFC, and none of them was its key (a renewed key renamed by
 * hand beside the old one): the folder's other unclaimed keys are tried,
 * so the right password is never answered with CKR_PIN_INCORRECT. */
static CK_RV try_rest_of_folder(const struct ef_token *t, const unsigned char *pin,
				size_t pin_len, struct ef_pkey **key_out, char **path_out,
				CK_RV worst)
{
	char *copy = strdup(t->cert_path);
	const char *dir = copy ? dirname(copy) : NULL;
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	CK_RV rv = worst;

	while (d && rv != CKR_OK && rv != CKR_HOST_MEMORY && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char *path;
		if (e->d_name[0] == '.' || n <= 4 || strcasecmp(e->d_name + n - 4, ".key") != 0 ||
		    claimed_by_name(dirfd(d), e->d_name))
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		if (!is_candidate(t, path)) {
			CK_RV r = try_key(t, path, pin, pin_len, key_out, path_out);
			rv = r == CKR_OK || r == CKR_HOST_MEMORY ? r :
			     r == CKR_KEY_HANDLE_INVALID ? CKR_DEVICE_ERROR : rv;
		}
		free(path);
	}
	if (d)
		closedir(d);
	free(copy);
	return rv;
}

CK_RV ef_token_open_key(const struct ef_token *t, const unsigned char *pin,
			size_t pin_len, struct ef_pkey **key_out, char **path_out)
{
	/* The answer reflects the most telling failure: a key this PIN opens
	 * but that belongs to another certificate is a broken bundle, not a
	 * wrong password. */
	bool opened_other = false, unreadable = false;

	if (!t->n_key_paths)
		ef_log_warn("%s: no .key file goes with this certificate", t->cert_path);
	for (size_t i = 0; i < t->n_key_paths; i++) {
		CK_RV rv = try_key(t, t->key_paths[i], pin, pin_len, key_out, path_out);
		if (rv == CKR_OK || rv == CKR_HOST_MEMORY)
			return rv;
		opened_other |= rv == CKR_KEY_HANDLE_INVALID;
		unreadable |= rv != CKR_PIN_INCORRECT && rv != CKR_KEY_HANDLE_INVALID;
	}
	CK_RV worst = !t->n_key_paths || opened_other || (unreadable && t->n_key_paths == 1) ?
		      CKR_DEVICE_ERROR : CKR_PIN_INCORRECT;
	if (t->keys_narrowed)
		return try_rest_of_folder(t, pin, pin_len, key_out, path_out, worst);
	return worst;
}

/* Writes the whole buffer and forces it to the disk. */
static bool write_all_sync(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		len -= (size_t)w;
	}
	return fsync(fd) == 0;
}

static void sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* A process killed between creating its temporary file and the rename
 * (SIGKILL, a power cut) leaves KEY.new-XXXXXX beside the key: no rename
 * replaces a file without a second name.  The name is ours alone, so the
 * next password change of that key removes such leftovers.  (Two programs
 * changing the same key's password at the same moment could remove each
 * other's file: the loser's rename or read-back then fails, and its key
 * stays as it was.) */
static void remove_stale_temps(const char *key_path)
{
	const char *slash = strrchr(key_path, '/');
	const char *base = slash ? slash + 1 : key_path;
	size_t blen = strlen(base);
	char *copy = strdup(key_path);
	DIR *d;
	struct dirent *e;

	if (!copy)
		return;
	d = opendir(dirname(copy));
	free(copy);
	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		if (strlen(e->d_name) != blen + sizeof(".new-XXXXXX") - 1 ||
		    strncmp(e->d_name, base, blen) != 0 ||
		    strncmp(e->d_name + blen, ".new-", 5) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Re-reads what was written and proves the new PIN opens it and it is the
 * same key, before it may replace the original. */
static CK_RV verify_written(const char *tmp, const struct ef_token *t,
			    const unsigned char *pin, size_t pin_len)
{
	unsigned char *data = NULL;
	size_t len = 0;
	struct ef_pkey *k = NULL;
	CK_RV rv;
	if (!read_file(tmp, true, &data, &len, NULL))
		return errno == ENOMEM ? CKR_HOST_MEMORY : CKR_DEVICE_ERROR;
	rv = ef_key_open(data, len, pin, pin_len, &k);
	free_file(data, true);
	if (rv != CKR_OK)
		return CKR_DEVICE_ERROR;
	if (!ef_key_matches_spki(k, t->cert.spki, t->cert.spki_len))
		rv = CKR_DEVICE_ERROR;
	ef_key_unref(k);
	return rv;
}

CK_RV ef_token_set_pin(const struct ef_token *t, const unsigned char *old_pin,
		       size_t old_len, const unsigned char *new_pin, size_t new_len)
{
	struct ef_pkey *key = NULL;
	char *key_path = NULL, *tmp = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct stat st;
	int fd = -1;
	CK_RV rv;

	if (new_len < EF_MIN_PIN || new_len > EF_MAX_PIN)
		return CKR_PIN_LEN_RANGE;
	rv = ef_token_open_key(t, old_pin, old_len, &key, &key_path);
	if (rv != CKR_OK)
		goto out;
	rv = ef_key_export_sat(key, new_pin, new_len, &der, &der_len);
	if (rv != CKR_OK)
		goto out;
	if (stat(key_path, &st) != 0) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	/* write, fsync, verify, rename: a crash at any point leaves the old
	 * file or the new one, each complete. */
	remove_stale_temps(key_path);
	if (asprintf(&tmp, "%s.new-XXXXXX", key_path) < 0) {
		tmp = NULL;
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ef_log_warn("%s: cannot create a file beside it (%s)", key_path, strerror(errno));
		free(tmp);
		tmp = NULL;
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	if (fchmod(fd, st.st_mode & 07777) != 0 || !write_all_sync(fd, der, der_len) ||
	    close(fd) != 0) {
		fd = -1;
		ef_log_warn("%s: cannot write the new key (%s)", tmp, strerror(errno));
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	fd = -1;
	rv = verify_written(tmp, t, new_pin, new_len);
	if (rv != CKR_OK) {
		ef_log_warn("%s: the new key did not read back; the old one is kept", tmp);
		goto out;
	}
	if (rename(tmp, key_path) != 0) {
		ef_log_warn("%s: cannot replace the key (%s)", key_path, strerror(errno));
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	sync_dir_of(key_path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (key)
		ef_key_unref(key);
	free(key_path);
	ef_free_secret(der, der_len);
	return rv;
}

CK_OBJECT_HANDLE ef_token_handle(const struct ef_token *t, size_t index)
{
	return ((CK_OBJECT_HANDLE)t->slot_id << 16) | (CK_OBJECT_HANDLE)(index + 1);
}

struct ef_object *ef_token_object(const struct ef_token *t, CK_OBJECT_HANDLE h)
{
	if (!t->present || (h >> 16) != t->slot_id)
		return NULL;
	size_t index = (size_t)(h & 0xffff);
	if (index == 0 || index > t->n_objects)
		return NULL;
	struct ef_object *o = &t->objects[index - 1];
	/* [PKCS#11 3.0 §4.4] private objects are invisible until login. */
	if (o->is_private && !ef_token_logged_in(t))
		return NULL;
	return o;
}
