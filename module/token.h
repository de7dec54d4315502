/*
 * token.h - one bundle as a token: its certificate and objects, and the
 * login that opens its .key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A token lives from C_Initialize (or the rescan that found it) to
 * C_Finalize; a bundle whose files vanish keeps its struct with
 * present == false, so a slot ID never dangles.  Every function here is
 * called with the global lock held unless it says otherwise.
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
	bool can_encrypt;        /* keyUsage allows (key or data) encipherment */
	CK_SLOT_INFO slot_info;
	CK_TOKEN_INFO info;      /* built once at load: info calls never read the disk */
	struct ef_object *objects;
	size_t n_objects;
	bool chain_added;        /* the CA certificates are among the objects */
	struct ef_pkey *pubkey;

	/* Login state, shared by every session of the token. */
	struct ef_pkey *key;     /* non-NULL while the user is logged in */
	char *key_path;          /* the .key that opened */
	CK_ULONG n_sessions, n_rw_sessions;
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

/* Decrypts the .key with the PIN (retrying a non-ASCII PIN in
 * Windows-1252) and checks it belongs to the certificate.  It does not
 * change the token: the caller stores *key and *key_path.  (A login costs
 * one PBKDF2 of 2048 iterations, about a millisecond: short enough to run
 * under the lock, which keeps a rescan from unloading the token meanwhile.) */
CK_RV ef_token_open_key(const struct ef_token *t, const unsigned char *pin,
			size_t pin_len, struct ef_pkey **key, char **key_path);
void ef_token_logout(struct ef_token *t);
bool ef_token_logged_in(const struct ef_token *t);

/* Re-encrypts the .key under a new PIN, atomically, keeping the file the
 * user has (keyfile.h): a symlink's target is rewritten, owner, group,
 * mode, ACLs and extended attributes are kept, a hard-linked key is
 * refused.  Two changes of one key in different processes are
 * serialized by a lock on the file: the one that comes second gets
 * CKR_PIN_INCORRECT, its old PIN no longer being the key's. */
CK_RV ef_token_set_pin(const struct ef_token *t, const unsigned char *old_pin,
		       size_t old_len, const unsigned char *new_pin, size_t new_len);

/* Object handles: the slot ID in the high bits, the index below. */
CK_OBJECT_HANDLE ef_token_handle(const struct ef_token *t, size_t index);
/* The object if the handle is this token's and visible in this login
 * state, else NULL. */
struct ef_object *ef_token_object(const struct ef_token *t, CK_OBJECT_HANDLE h);

#endif
