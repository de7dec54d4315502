/*
 * token.h - one bundle as a token: its certificate and objects, and the
 * login that opens its .key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A token lives from C_Initialize (or the rescan that found it) to
 * C_Finalize; a bundle whose files vanish keeps its struct with
 * present == false, so a slot ID never dangles.  Functions ending in
 * _inlock need the global lock (lock.h); the others say what they need.
 *
 * A login or a password change works on a plan copied from the token
 * under the lock (struct ef_key_plan), and the key derivation and file
 * I/O run without it: no call waits on another token's password work
 * (doc/DESIGN.md §5).  The caller then takes the lock again and checks, with the
 * generation, that the token it installs the key in is the one it copied.
 */
#ifndef EF_TOKEN_H
#define EF_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "crypto.h"
#include "folder.h"
#include "object.h"

struct ef_token {
	CK_SLOT_ID slot_id;
	char *cert_path;
	/* The key that goes with the certificate: the [bundle]'s key, or the
	 * scanned folder's key with the certificate's name; NULL if none. */
	char *key_named;
	/* No key has the certificate's name: the scanned folder's unclaimed
	 * keys, one index shared by the folder's tokens; NULL otherwise. */
	struct ef_keydir *keydir;
	char *label_override;    /* from the configuration, or NULL */
	bool from_dir;		 /* found by scanning a folder */
	char *volume;		 /* the removable volume of that folder, or NULL */

	/* No bundle in the slot: one kept empty for bundles that appear
	 * (cert_path ""), or one whose bundle went away (cert_path the
	 * bundle's, should it come back).  A new bundle takes a vacant
	 * slot, the empty ones first, then the one vacated longest ago, so
	 * that programs which keep the slot list they saw first (NSS) see it. */
	bool vacant;
	unsigned long vacated;
	/* Changed since C_WaitForSlotEvent last reported it. */
	bool event;

	/* What the scan saw of the .cer when it was last loaded: it is read
	 * again only when that changes, so a broken file is warned about
	 * once, not at every rescan. */
	bool cert_seen;
	struct ef_file_id cert_id;

	bool present;            /* the certificate parsed: the token exists */
	struct ef_cert cert;
	bool can_encrypt;        /* keyUsage allows (key or data) encipherment */
	CK_SLOT_INFO slot_info;
	CK_TOKEN_INFO info;      /* built once at load: info calls never read the disk */
	struct ef_object *objects;
	size_t n_objects;
	bool chain_added;        /* the CA certificates are among the objects */
	struct ef_pkey *pubkey;  /* with the objects */

	unsigned long generation; /* changes at every load and unload */
	unsigned long setpin;    /* the plan's ticket while a C_SetPIN runs, else 0 */

	/* Login state, shared by every session of the token. */
	struct ef_pkey *key;     /* non-NULL while the user is logged in */
	char *key_path;          /* the .key that opened */
	unsigned long epoch;     /* changes at every logout: private handles carry it */
	CK_ULONG n_sessions, n_rw_sessions;
};

/* Index of the fixed objects in objects[]. */
enum { EF_OBJ_CERT, EF_OBJ_PUBKEY, EF_OBJ_PRIVKEY, EF_OBJ_PROFILE, EF_OBJ_FIRST_CA };

/* Reads and parses the .cer.  On failure the token stays absent and one
 * warning is logged. */
CK_RV ef_token_load_inlock(struct ef_token *t);
/* The same from the file's bytes, read by the rescan without the lock
 * (scan.h). */
CK_RV ef_token_load_bytes_inlock(struct ef_token *t, const unsigned char *data, size_t len);
/* True when the .cer, rewritten since it was loaded, holds the same
 * certificate (copied again, replaced by the same file): the token stays,
 * and so do its sessions and login.  bytes: the file's, when the rescan
 * read them (else it is read now). */
bool ef_token_same_cert_inlock(const struct ef_token *t, const unsigned char *bytes,
			       size_t bytes_len);
/* Builds, once, the objects of the key pair and the public key: at the
 * first search of the token, not at load, since a folder of 10,000 bundles
 * that nobody opens would otherwise hold 12 KB of attributes per token
 * (3/4 of its memory, and half the time of a scan).  No object handle
 * exists before a search has returned it. */
CK_RV ef_token_objects_inlock(struct ef_token *t);
/* Adds, once, the CA certificates of the pool that chain the token's
 * certificate (checking signatures): only when a search may show them,
 * since a client that only signs never needs them. */
CK_RV ef_token_add_chain_inlock(struct ef_token *t, const struct ef_cert *pool,
				 size_t n_pool);
/* Drops everything but the identity (slot ID, paths). */
void ef_token_unload_inlock(struct ef_token *t);
void ef_token_free_inlock(struct ef_token *t);
/* The bundle left the slot (stamp: when, to reuse the oldest first). */
void ef_token_vacate_inlock(struct ef_token *t, unsigned long stamp);
/* A vacant slot takes the bundle at cert_path, not loaded yet. */
CK_RV ef_token_occupy_inlock(struct ef_token *t, const char *cert_path);

/* What a login or a password change tries, copied out of the token under
 * the lock so that the key files can be read and decrypted without it (a
 * rescan may meanwhile replace the candidates, a reload or C_Finalize free
 * the certificate): a few candidate keys, most likely first, what tells
 * the certificate's key, and what identifies the token copied. */
struct ef_key_plan {
	CK_SLOT_ID slot_id;
	unsigned long generation;
	unsigned long ticket;    /* this plan's own number, never 0 */
	char *cert_path;
	unsigned char *spki;
	size_t spki_len;
	struct ef_key_candidate *c;
	size_t n;
};
/* Reads no file and no folder: a folder's keys come from its scan. */
CK_RV ef_token_key_plan_inlock(const struct ef_token *t, struct ef_key_plan *p);
/* Without the lock.  Tries the plan's keys in order with the PIN
 * (retrying a non-ASCII PIN in Windows-1252) until one opens and belongs
 * to the certificate: CKR_OK, CKR_PIN_INCORRECT or the reason the bundle
 * is unusable.  The caller stores *key and *key_path in the token, once
 * it has the lock again.  A fallback whose key derivation costs far more
 * than SAT's is skipped before any derivation, and a scanned key that is
 * not encrypted is never used. */
CK_RV ef_key_plan_open(const struct ef_key_plan *p, const unsigned char *pin, size_t pin_len,
		       struct ef_pkey **key, char **key_path);
/* Without the lock. */
void ef_key_plan_clear(struct ef_key_plan *p);

void ef_token_logout_inlock(struct ef_token *t);
/* The same in a forked child's only thread, which walks the tables
 * without the lock (global.c): the key it inherited is wiped. */
void ef_token_wipe_key_forked(struct ef_token *t);
bool ef_token_logged_in_inlock(const struct ef_token *t);
/* [PKCS#11 3.0 CK_TOKEN_INFO] CKF_USER_PIN_COUNT_LOW: a wrong PIN was
 * given since the last successful authentication.  rv is the answer of
 * ef_key_plan_open or ef_token_set_pin. */
void ef_token_note_pin_inlock(struct ef_token *t, CK_RV rv);

/* Without the lock.  Re-encrypts the .key under a new PIN, atomically,
 * keeping the file the user has (keyfile.h): a symlink's target is
 * rewritten, owner, group, mode, ACLs and extended attributes are kept, a
 * hard-linked key is refused.  Two changes of one key in different
 * processes are serialized by a lock on the file: the one that comes
 * second gets CKR_PIN_INCORRECT, its old PIN no longer being the key's. */
CK_RV ef_token_set_pin(const struct ef_key_plan *p, const unsigned char *old_pin,
		       size_t old_len, const unsigned char *new_pin, size_t new_len);

/* Object handles: the slot ID in the high bits, the index below; a
 * private object's handle also carries the login epoch, so that it dies
 * at logout for good. */
CK_OBJECT_HANDLE ef_token_handle_inlock(const struct ef_token *t, size_t index);
/* The object if the handle is this token's and visible in this login
 * state, else NULL. */
struct ef_object *ef_token_object_inlock(const struct ef_token *t, CK_OBJECT_HANDLE h);

#endif
