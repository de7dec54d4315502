/*
 * token.c - one bundle: load the certificate, open the key at login,
 * change its password.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "keyfile.h"
#include "lock.h"
#include "log.h"
#include "mech.h"
#include "sat.h"

#define EF_MAX_CHAIN 8
#define EF_MIN_PIN 8
#define EF_MAX_PIN 256

/* Generations and epochs come from one counter, so a value is never
 * reused in the process, not even by the token a C_Finalize and a
 * C_Initialize make anew for the same slot.  Under the global lock. */
static unsigned long stamps;

static void build_infos_inlock(struct ef_token *t)
{
	const struct ef_sat_facts *f = &t->cert.sat;
	char label[128];
	const char *name = strrchr(t->cert_path, '/');
	char desc[256];
	ef_assert_locked();

	memset(&t->slot_info, 0, sizeof(t->slot_info));
	/* Where the bundle is, as a reader's name would say. */
	if (t->vacant)
		snprintf(desc, sizeof(desc), "efirma-pkcs11 (empty)");
	else if (t->volume)
		snprintf(desc, sizeof(desc), "efirma-pkcs11 %s: %s", t->volume,
			 name ? name + 1 : t->cert_path);
	else
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

static CK_RV build_objects_inlock(struct ef_token *t)
{
	const char *holder = t->cert.sat.holder && *t->cert.sat.holder ?
			     t->cert.sat.holder : "e.firma";
	/* Fixed while the token is loaded: a slot's next bundle is another
	 * load, which drops these objects. */
	struct ef_cert_source src = { CKV_EFIRMA_SOURCE_BUNDLE, t->volume, t->cert_path };
	if (t->volume)
		src.kind = CKV_EFIRMA_SOURCE_VOLUME;
	else if (t->from_dir)
		src.kind = CKV_EFIRMA_SOURCE_FOLDER;
	CK_RV rv;
	ef_assert_locked();

	t->objects = calloc(EF_OBJ_FIRST_CA, sizeof(*t->objects));
	if (!t->objects)
		return EF_FAIL(CKR_HOST_MEMORY);
	t->n_objects = EF_OBJ_FIRST_CA;
	if ((rv = ef_object_build_cert(&t->objects[EF_OBJ_CERT], &t->cert, 1, holder, &src)) ||
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

CK_RV ef_token_objects_inlock(struct ef_token *t)
{
	ef_assert_locked();
	if (!t->present || t->objects)
		return CKR_OK;
	/* The public key object's operations (verify, encrypt) need it, and
	 * its handle comes from a search: made here, with the objects. */
	CK_RV rv = ef_pubkey_from_spki(t->cert.spki, t->cert.spki_len, &t->pubkey);
	if (rv != CKR_OK && rv != CKR_HOST_MEMORY) {
		ef_log_warn("%s: unusable public key", t->cert_path);
		rv = EF_FAIL(CKR_DEVICE_ERROR);
	}
	if (rv == CKR_OK)
		rv = build_objects_inlock(t);
	if (rv != CKR_OK) {
		for (size_t i = 0; i < t->n_objects; i++)
			ef_object_clear(&t->objects[i]);
		free(t->objects);
		t->objects = NULL;
		t->n_objects = 0;
		if (t->pubkey)
			ef_key_unref(t->pubkey);
		t->pubkey = NULL;
	}
	return rv;
}

CK_RV ef_token_add_chain_inlock(struct ef_token *t, const struct ef_cert *pool, size_t n_pool)
{
	const struct ef_cert *chain[EF_MAX_CHAIN];
	struct ef_object *o;
	size_t depth, built = 0;
	CK_RV rv = CKR_OK;
	ef_assert_locked();

	if (!t->present || t->chain_added)
		return CKR_OK;
	rv = ef_token_objects_inlock(t);
	if (rv != CKR_OK)
		return rv;
	depth = find_chain(&t->cert, pool, n_pool, chain);
	o = realloc(t->objects, (EF_OBJ_FIRST_CA + depth) * sizeof(*o));
	if (!o)
		return EF_FAIL(CKR_HOST_MEMORY);
	t->objects = o;
	for (; built < depth; built++) {
		const char *cn = chain[built]->sat.holder && *chain[built]->sat.holder ?
				 chain[built]->sat.holder : "SAT CA";
		struct ef_object *ca = &t->objects[EF_OBJ_FIRST_CA + built];
		memset(ca, 0, sizeof(*ca));
		rv = ef_object_build_cert(ca, chain[built], 2, cn, NULL);
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

CK_RV ef_token_load_inlock(struct ef_token *t)
{
	unsigned char *data = NULL;
	size_t len = 0;

	ef_assert_locked();
	if (!ef_file_read(t->cert_path, t->from_dir, EF_MAX_FILE, &ef_file_heap, &data, &len)) {
		CK_RV rv;
		ef_token_unload_inlock(t);
		if (errno == ENOMEM) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
		} else {
			ef_log_warn("%s: cannot read the certificate (%s); its slot has no token",
				    t->cert_path, strerror(errno));
			rv = EF_FAIL(CKR_DEVICE_ERROR);
		}
		build_infos_inlock(t);
		return rv;
	}
	CK_RV rv = ef_token_load_bytes_inlock(t, data, len);
	free(data);
	return rv;
}

CK_RV ef_token_load_bytes_inlock(struct ef_token *t, const unsigned char *data, size_t len)
{
	CK_RV rv;

	ef_assert_locked();
	ef_token_unload_inlock(t);
	/* A file being copied in: its token comes when it is written. */
	if (len == 0) {
		ef_log_trace("%s: empty, no token yet", t->cert_path);
		rv = EF_FAIL(CKR_DEVICE_ERROR);
		goto out;
	}
	rv = ef_cert_parse(data, len, &t->cert);
	if (rv != CKR_OK) {
		if (rv != CKR_HOST_MEMORY)
			ef_log_warn("%s: not an X.509 certificate; its slot has no token", t->cert_path);
		goto out;
	}
	if (!t->cert.is_rsa) {
		ef_log_warn("%s: the certificate's key is not RSA; its slot has no token",
			    t->cert_path);
		rv = EF_FAIL(CKR_KEY_TYPE_INCONSISTENT);
		goto out;
	}
	/* C_GetMechanismInfo promises keys of EF_RSA_MIN_BITS and up; a
	 * smaller key can be factored, and a signature made with it proves
	 * nothing.  No token: an unusable key must not look usable. */
	if (t->cert.modulus_bits < EF_RSA_MIN_BITS) {
		ef_log_warn("%s: the certificate's RSA key has %lu bits, fewer than %lu; "
			    "its slot has no token", t->cert_path, t->cert.modulus_bits,
			    EF_RSA_MIN_BITS);
		rv = EF_FAIL(CKR_KEY_SIZE_RANGE);
		goto out;
	}
	/* e.firma allows data encipherment; a CSD only signs.  Decryption
	 * is offered only where keyUsage says so (doc/DESIGN.md §8): a
	 * certificate without the extension, which RFC 5280 leaves
	 * unrestricted, is treated as a signature key. */
	t->can_encrypt = t->cert.has_key_usage &&
			 (t->cert.key_usage & (EF_KU_DATA_ENCIPHERMENT | EF_KU_KEY_ENCIPHERMENT));
	t->present = true;
	ef_log_trace("slot %lu: %s (%s)", t->slot_id, t->cert_path, t->cert.sat.rfc);
out:
	if (rv != CKR_OK)
		ef_token_unload_inlock(t);
	build_infos_inlock(t);
	return rv;
}

bool ef_token_same_cert_inlock(const struct ef_token *t, const unsigned char *bytes,
			       size_t bytes_len)
{
	ef_assert_locked();
	unsigned char *data = NULL;
	size_t len = 0;
	struct ef_cert now = { 0 };
	bool same = false;
	if (!t->present)
		return false;
	if (bytes) {
		len = bytes_len;
	} else if (!ef_file_read(t->cert_path, t->from_dir, EF_MAX_FILE, &ef_file_heap, &data,
				 &len)) {
		return false;
	}
	if (ef_cert_parse(bytes ? bytes : data, len, &now) == CKR_OK)
		same = now.der_len == t->cert.der_len &&
		       memcmp(now.der, t->cert.der, now.der_len) == 0;
	else
		ef_fail_forget(); /* not the same: the reload will say why */
	ef_cert_clear(&now);
	free(data);
	return same;
}

/* Needs the token to itself: the global lock, or a forked child's only
 * thread. */
static void drop_key(struct ef_token *t)
{
	/* Detached before freed: a child forked meanwhile walks the tables
	 * without the lock (global.c) and must find the key whole or gone,
	 * never half freed. */
	struct ef_pkey *key = t->key;
	char *key_path = t->key_path;
	t->key = NULL;
	t->key_path = NULL;
	/* [PKCS#11 2.40 C_Logout] handles to private objects obtained
	 * before stay invalid, even after a new login. */
	if (key)
		t->epoch = ++stamps;
	ef_key_unref(key);
	free(key_path);
}

void ef_token_logout_inlock(struct ef_token *t)
{
	ef_assert_locked();
	drop_key(t);
}

void ef_token_wipe_key_forked(struct ef_token *t)
{
	drop_key(t);
}

bool ef_token_logged_in_inlock(const struct ef_token *t)
{
	ef_assert_locked();
	return t->key != NULL;
}

void ef_token_note_pin_inlock(struct ef_token *t, CK_RV rv)
{
	ef_assert_locked();
	if (rv == CKR_OK)
		t->info.flags &= ~(CK_FLAGS)CKF_USER_PIN_COUNT_LOW;
	else if (rv == CKR_PIN_INCORRECT)
		t->info.flags |= CKF_USER_PIN_COUNT_LOW;
}

void ef_token_unload_inlock(struct ef_token *t)
{
	ef_assert_locked();
	ef_token_logout_inlock(t);
	/* A login that copied the token before must not install its key in
	 * what the token becomes; private handles die with the old objects. */
	t->generation = t->epoch = ++stamps;
	/* Detached before freed, as in drop_key. */
	struct ef_object *objects = t->objects;
	size_t n_objects = t->n_objects;
	struct ef_pkey *pubkey = t->pubkey;
	t->objects = NULL;
	t->n_objects = 0;
	t->pubkey = NULL;
	t->chain_added = false;
	for (size_t i = 0; i < n_objects; i++)
		ef_object_clear(&objects[i]);
	free(objects);
	ef_key_unref(pubkey);
	ef_cert_clear(&t->cert);
	memset(&t->cert, 0, sizeof(t->cert));
	t->present = false;
	t->slot_info.flags &= ~CKF_TOKEN_PRESENT;
}

void ef_token_vacate_inlock(struct ef_token *t, unsigned long stamp)
{
	ef_assert_locked();
	ef_token_unload_inlock(t);
	t->cert_seen = false;
	t->vacant = true;
	t->vacated = stamp;
	free(t->volume);
	t->volume = NULL;
	build_infos_inlock(t);
}

CK_RV ef_token_occupy_inlock(struct ef_token *t, const char *cert_path)
{
	ef_assert_locked();
	if (strcmp(t->cert_path, cert_path) != 0) {
		char *copy = strdup(cert_path);
		if (!copy)
			return EF_FAIL(CKR_HOST_MEMORY);
		free(t->cert_path);
		t->cert_path = copy;
	}
	t->vacant = false;
	t->cert_seen = false;
	return CKR_OK;
}

void ef_token_free_inlock(struct ef_token *t)
{
	ef_assert_locked();
	if (!t)
		return;
	ef_token_unload_inlock(t);
	free(t->cert_path);
	free(t->key_named);
	ef_keydir_unref(t->keydir);
	free(t->label_override);
	free(t->volume);
	free(t);
}

/* Opens a key file's contents with the PIN as given, then, for a
 * non-ASCII PIN, in Windows-1252: SAT's Certifica encrypted keys with
 * those bytes. */
static CK_RV open_data(const char *path, const unsigned char *data, size_t len,
		       const unsigned char *pin, size_t pin_len, struct ef_pkey **key)
{
	unsigned char *alt;
	size_t alt_len;
	CK_RV rv = ef_key_open(data, len, pin, pin_len, key);
	if (rv == CKR_PIN_INCORRECT) {
		/* The password in another encoding: as secret as the PIN. */
		alt = ef_secret_alloc(EF_MAX_PIN);
		if (!alt) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
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
	return rv;
}

/* The most key derivation a fallback may cost, in PBKDF2 iterations: 16
 * times SAT's 2048.  A hostile .key dropped in a scanned folder may ask for
 * 10 million (seconds per try); other schemes (PKCS#12 PBEs, scrypt) count
 * as above it.  A key named by the configuration or by its name is tried
 * whatever it costs, up to crypto.c's caps. */
#define EF_MAX_FALLBACK_ITER (16UL * 2048)

/* Opens one candidate.  CKR_OK, CKR_PIN_INCORRECT, or CKR_DEVICE_ERROR
 * for a key that is not tried or cannot be read (the log says why). */
static CK_RV open_one(const struct ef_key_candidate *c, const unsigned char *pin,
		      size_t pin_len, struct ef_pkey **key)
{
	unsigned char *data = NULL;
	size_t len = 0;
	unsigned long iter;
	CK_RV rv;

	if (!ef_file_read(c->path, c->scanned, EF_MAX_FILE, &ef_file_secret, &data, &len)) {
		if (errno == ENOMEM)
			return EF_FAIL(CKR_HOST_MEMORY);
		ef_log_warn("%s: cannot read the key (%s)", c->path, strerror(errno));
		return EF_FAIL(CKR_DEVICE_ERROR);
	}
	iter = ef_key_kdf_iterations(data, len);
	if (iter == 0 && c->scanned) {
		/* Any PIN opens an unencrypted key: one that a folder scan
		 * found would make any readable key file in the folder a
		 * token that takes any password. */
		rv = ef_key_open(data, len, NULL, 0, key);
		if (rv == CKR_OK) {
			ef_key_unref(*key);
			*key = NULL;
			ef_log_warn("%s: not encrypted; a key found in a folder is used only when "
				    "a [bundle] names it", c->path);
		} else {
			ef_log_warn("%s: not an RSA private key this module can read", c->path);
		}
		rv = EF_FAIL(CKR_DEVICE_ERROR);
		goto out;
	}
	if (c->fallback && iter > EF_MAX_FALLBACK_ITER) {
		ef_log_trace("%s: not tried: its password costs more than %lu PBKDF2 iterations",
			     c->path, EF_MAX_FALLBACK_ITER);
		rv = EF_FAIL(CKR_DEVICE_ERROR);
		goto out;
	}
	ef_log_trace("%s: trying this key", c->path);
	rv = open_data(c->path, data, len, pin, pin_len, key);
	if (rv == CKR_DATA_INVALID || rv == CKR_KEY_TYPE_INCONSISTENT)
		rv = EF_FAIL(CKR_DEVICE_ERROR);
out:
	ef_secret_free(data);
	return rv;
}

/* Opens one candidate and checks it is the certificate's key.  CKR_OK,
 * CKR_PIN_INCORRECT, EF_R_KEY_OF_OTHER_CERT, or another error. */
static CK_RV try_key(const struct ef_key_plan *p, const struct ef_key_candidate *c,
		     const unsigned char *pin, size_t pin_len, struct ef_pkey **key_out,
		     char **path_out)
{
	struct ef_pkey *key = NULL;
	CK_RV rv = open_one(c, pin, pin_len, &key);
	if (rv != CKR_OK)
		return rv;
	if (!ef_key_matches_spki(key, p->spki, p->spki_len)) {
		/* Among a folder's unclaimed keys, others' keys are
		 * expected; a bundle's one named key is a mistake. */
		if (!c->fallback)
			ef_log_warn("%s: this key does not belong to %s", c->path, p->cert_path);
		else
			ef_log_trace("%s: opens, but belongs to another certificate", c->path);
		ef_key_unref(key);
		return EF_FAIL(EF_R_KEY_OF_OTHER_CERT);
	}
	if (!(*path_out = strdup(c->path))) {
		ef_key_unref(key);
		return EF_FAIL(CKR_HOST_MEMORY);
	}
	*key_out = key;
	return CKR_OK;
}

void ef_key_plan_clear(struct ef_key_plan *p)
{
	for (size_t i = 0; p->c && i < p->n; i++)
		free(p->c[i].path);
	free(p->c);
	free(p->spki);
	free(p->cert_path);
	memset(p, 0, sizeof(*p));
}

CK_RV ef_token_key_plan_inlock(const struct ef_token *t, struct ef_key_plan *p)
{
	CK_RV rv = CKR_OK;
	ef_assert_locked();

	memset(p, 0, sizeof(*p));
	p->slot_id = t->slot_id;
	p->generation = t->generation;
	p->ticket = ++stamps;
	p->c = calloc(EF_KEYDIR_MAX_NARROWED + EF_KEYDIR_MAX_OTHERS, sizeof(*p->c));
	p->spki = malloc(t->cert.spki_len ? t->cert.spki_len : 1);
	if (!p->c || !p->spki || !(p->cert_path = strdup(t->cert_path))) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	if (t->cert.spki_len)
		memcpy(p->spki, t->cert.spki, t->cert.spki_len);
	p->spki_len = t->cert.spki_len;
	if (t->key_named) {
		if (!(p->c[0].path = strdup(t->key_named))) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		p->c[0].scanned = t->from_dir;
		p->n = 1;
	} else if (t->keydir) {
		const char *slash = strrchr(t->cert_path, '/');
		rv = ef_keydir_pick(t->keydir, slash ? slash + 1 : t->cert_path,
				    t->present ? t->cert.sat.rfc : NULL, &t->cert_id, p->c, &p->n);
		if (rv != CKR_OK)
			goto out;
	}
out:
	if (rv != CKR_OK)
		ef_key_plan_clear(p);
	return rv;
}

CK_RV ef_key_plan_open(const struct ef_key_plan *p, const unsigned char *pin, size_t pin_len,
		       struct ef_pkey **key_out, char **path_out)
{
	/* The answer reflects the most telling failure: the key named for
	 * the certificate opening but belonging to another is a broken
	 * bundle, and keys that could not even be tried say nothing of the
	 * password.  A fallback that opens is another token's key: for this
	 * token the PIN is a wrong one, and answering anything but
	 * CKR_PIN_INCORRECT would tell whoever tries passwords here that it
	 * opens another token. */
	bool opened_other = false, pin_refused = false;

	if (!p->n)
		ef_log_warn("%s: no .key file goes with this certificate", p->cert_path);
	for (size_t i = 0; i < p->n; i++) {
		CK_RV rv = try_key(p, &p->c[i], pin, pin_len, key_out, path_out);
		if (rv == CKR_OK || rv == CKR_HOST_MEMORY)
			return rv;
		opened_other |= rv == EF_R_KEY_OF_OTHER_CERT && !p->c[i].fallback;
		pin_refused |= rv == CKR_PIN_INCORRECT ||
			       (rv == EF_R_KEY_OF_OTHER_CERT && p->c[i].fallback);
	}
	return EF_FAIL(opened_other || !pin_refused ? CKR_DEVICE_ERROR : CKR_PIN_INCORRECT);
}

/* What the new file must hold: a key the new PIN opens, the same key. */
struct ef_written {
	const struct ef_key_plan *p;
	const unsigned char *pin;
	size_t pin_len;
};

static CK_RV check_written(const unsigned char *data, size_t len, void *arg)
{
	const struct ef_written *w = arg;
	struct ef_pkey *k = NULL;
	if (ef_key_open(data, len, w->pin, w->pin_len, &k) != CKR_OK)
		return EF_FAIL(CKR_DEVICE_ERROR);
	CK_RV rv = ef_key_matches_spki(k, w->p->spki, w->p->spki_len) ?
		   CKR_OK : EF_FAIL(CKR_DEVICE_ERROR);
	ef_key_unref(k);
	return rv;
}

CK_RV ef_token_set_pin(const struct ef_key_plan *p, const unsigned char *old_pin,
		       size_t old_len, const unsigned char *new_pin, size_t new_len)
{
	struct ef_pkey *key = NULL;
	char *key_path = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct ef_keyfile kf = { .fd = -1 };
	struct ef_written w = { p, new_pin, new_len };
	CK_RV rv;

	if (new_len < EF_MIN_PIN || new_len > EF_MAX_PIN)
		return EF_FAIL(CKR_PIN_LEN_RANGE);
	/* Which candidate is this token's key, as at login. */
	rv = ef_key_plan_open(p, old_pin, old_len, &key, &key_path);
	if (rv != CKR_OK)
		goto out;
	ef_key_unref(key);
	key = NULL;
	/* Another process may be changing the same password: the old PIN is
	 * proven again against what the file holds under its lock.  Of two
	 * changes, the second to get the lock finds the first one's key,
	 * which its old PIN does not open: CKR_PIN_INCORRECT, exactly what
	 * it gets had it started after the first one ended. */
	rv = ef_keyfile_lock(key_path, &kf);
	if (rv != CKR_OK)
		goto out;
	rv = open_data(kf.path, kf.data, kf.len, old_pin, old_len, &key);
	if (rv == CKR_OK && !ef_key_matches_spki(key, p->spki, p->spki_len)) {
		ef_log_warn("%s: the key was replaced by another certificate's key", kf.path);
		rv = EF_FAIL(CKR_DEVICE_ERROR);
	}
	if (rv != CKR_OK) {
		if (rv != CKR_PIN_INCORRECT && rv != CKR_HOST_MEMORY)
			rv = EF_FAIL(CKR_DEVICE_ERROR);
		goto out;
	}
	rv = ef_key_export_sat(key, new_pin, new_len, &der, &der_len);
	if (rv != CKR_OK)
		goto out;
	rv = ef_keyfile_replace(&kf, der, der_len, check_written, &w);
out:
	ef_keyfile_unlock(&kf);
	if (key)
		ef_key_unref(key);
	free(key_path);
	ef_free_secret(der, der_len);
	return rv;
}

/* The low 16 bits of a handle: the object's index + 1 in the lowest 4,
 * and for a private object 12 bits of the token's epoch above them.  (A
 * handle kept while the process counts 4096 more logouts and token loads
 * could come back to life.) */
#define EF_HANDLE_INDEX_BITS 4
_Static_assert(EF_OBJ_FIRST_CA + EF_MAX_CHAIN < (1 << EF_HANDLE_INDEX_BITS),
	       "every object index fits the handle's index bits");

CK_OBJECT_HANDLE ef_token_handle_inlock(const struct ef_token *t, size_t index)
{
	ef_assert_locked();
	CK_OBJECT_HANDLE h = ((CK_OBJECT_HANDLE)t->slot_id << 16) | (CK_OBJECT_HANDLE)(index + 1);
	if (index < t->n_objects && t->objects[index].is_private)
		h |= (CK_OBJECT_HANDLE)(t->epoch & 0xfff) << EF_HANDLE_INDEX_BITS;
	return h;
}

struct ef_object *ef_token_object_inlock(const struct ef_token *t, CK_OBJECT_HANDLE h)
{
	ef_assert_locked();
	if (!t->present || (h >> 16) != t->slot_id)
		return NULL;
	size_t index = (size_t)(h & ((1 << EF_HANDLE_INDEX_BITS) - 1));
	if (index == 0 || index > t->n_objects || h != ef_token_handle_inlock(t, index - 1))
		return NULL;
	struct ef_object *o = &t->objects[index - 1];
	/* [PKCS#11 3.0 §4.4] private objects are invisible until login. */
	if (o->is_private && !ef_token_logged_in_inlock(t))
		return NULL;
	return o;
}
