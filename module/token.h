/*
 * token.h - one bundle as a token: its certificate and objects, and the
 * login that opens its .key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A token lives from C_Initialize (or the rescan that found it) to
 * C_Finalize; a bundle whose files vanish keeps its struct with
 * present == false, so a slot ID never dangles.  Every function here is
 * called with the global lock held unless it says otherwise.
 *
 * A login or a password change works on a snapshot of the token taken
 * under the lock (struct ef_token_snap), and the key derivation and file
 * I/O run without it: no call waits on another token's password work
 * (DESIGN §5).  The caller then takes the lock again and checks, with the
 * generation, that the token it installs the key in is the one it copied.
 */
#ifndef EF_TOKEN_H
#define EF_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "efirma-pkcs11.h"
#include "crypto.h"
#include "object.h"

struct ef_token {
	CK_SLOT_ID slot_id;
	char *cert_path;
	char **key_paths;        /* candidates, most likely first */
	size_t n_key_paths;
	bool keys_guessed;       /* no key is named for it: any may be another's */
	bool keys_narrowed;      /* guessed, and only the keys carrying its RFC */
	char *label_override;    /* from the configuration, or NULL */
	bool from_dir;           /* found by scanning a [directory] */

	/* What the last load saw of the .cer, to notice a change. */
	dev_t cert_dev;
	ino_t cert_ino;
	off_t cert_size;
	struct timespec cert_mtime;

	bool present;            /* the certificate parsed: the token exists */
	struct ef_cert cert;
	bool can_encrypt;        /* keyUsage allows data encipherment */
	CK_SLOT_INFO slot_info;
	CK_TOKEN_INFO info;      /* built once at load: info calls never read the disk */
	struct ef_object *objects;
	size_t n_objects;
	bool chain_added;        /* the CA certificates are among the objects */
	struct ef_pkey *pubkey;

	unsigned long generation; /* changes at every load and unload */
	unsigned long setpin;    /* the snapshot's ticket while a C_SetPIN runs, else 0 */

	/* Login state, shared by every session of the token. */
	struct ef_pkey *key;     /* non-NULL while the user is logged in */
	char *key_path;          /* the .key that opened */
	unsigned long epoch;     /* changes at every logout: private handles carry it */
	CK_ULONG n_sessions, n_rw_sessions;
};

/* What a login or a password change needs of a token, copied so that it
 * can be used without the lock: a rescan may meanwhile replace the
 * candidate list, and a reload or C_Finalize free the certificate. */
struct ef_token_snap {
	CK_SLOT_ID slot_id;
	unsigned long generation;
	unsigned long ticket;    /* this snapshot's own number, never 0 */
	char *cert_path;
	unsigned char *spki;
	size_t spki_len;
	char **key_paths;
	size_t n_key_paths;
	bool keys_guessed;
	bool keys_narrowed;
};

/* Index of the fixed objects in objects[]. */
enum { EF_OBJ_CERT, EF_OBJ_PUBKEY, EF_OBJ_PRIVKEY, EF_OBJ_PROFILE, EF_OBJ_FIRST_CA };

/* Reads and parses the .cer and builds the objects of the key pair.  On
 * failure the token stays absent and one warning is logged. */
CK_RV ef_token_load(struct ef_token *t);
/* Adds, once, the CA certificates of the pool that chain the token's
 * certificate (checking signatures): only when a search may show them,
 * since a client that only signs never needs them. */
CK_RV ef_token_add_chain(struct ef_token *t, const struct ef_cert *pool, size_t n_pool);
/* Drops everything but the identity (slot ID, paths). */
void ef_token_unload(struct ef_token *t);
void ef_token_free(struct ef_token *t);

/* Copies what ef_token_open_key and ef_token_set_pin need. */
CK_RV ef_token_snap_inlock(const struct ef_token *t, struct ef_token_snap *snap);
/* Without the lock. */
void ef_token_snap_clear(struct ef_token_snap *snap);

/* Without the lock.  Decrypts the .key with the PIN (retrying a non-ASCII
 * PIN in Windows-1252) and checks it belongs to the certificate: CKR_OK,
 * CKR_PIN_INCORRECT or the reason the bundle is unusable.  The caller
 * stores *key and *key_path in the token, once it has the lock again.  A
 * key of the work factor allowed costs seconds, and a folder's candidates
 * one derivation each. */
CK_RV ef_token_open_key(const struct ef_token_snap *t, const unsigned char *pin,
			size_t pin_len, struct ef_pkey **key, char **key_path);
void ef_token_logout(struct ef_token *t);
bool ef_token_logged_in(const struct ef_token *t);
/* [PKCS#11 3.0 CK_TOKEN_INFO] CKF_USER_PIN_COUNT_LOW: a wrong PIN was
 * given since the last successful authentication.  rv is the answer of
 * ef_token_open_key or ef_token_set_pin. */
void ef_token_note_pin(struct ef_token *t, CK_RV rv);

/* Without the lock.  Re-encrypts the .key under a new PIN, atomically. */
CK_RV ef_token_set_pin(const struct ef_token_snap *t, const unsigned char *old_pin,
		       size_t old_len, const unsigned char *new_pin, size_t new_len);

/* Object handles: the slot ID in the high bits, the index below; a
 * private object's handle also carries the login epoch, so that it dies
 * at logout for good. */
CK_OBJECT_HANDLE ef_token_handle(const struct ef_token *t, size_t index);
/* The object if the handle is this token's and visible in this login
 * state, else NULL. */
struct ef_object *ef_token_object(const struct ef_token *t, CK_OBJECT_HANDLE h);

#endif
