/*
 * session.h - the session table and the state of the operations in each
 * session.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Functions ending in _inlock need the global lock (lock.h).  An operation that
 * does real work (a signature, a hash over a large buffer) is taken out of
 * its session under the lock, worked on without it, and put back or freed
 * under the lock again: two threads signing in two sessions never wait for
 * each other (doc/DESIGN.md §5).
 */
#ifndef EF_SESSION_H
#define EF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "crypto.h"
#include "mech.h"
#include "token.h"

struct ef_op {
	enum ef_op_kind kind;
	const struct ef_mech *mech;
	struct ef_rsa_params params;
	unsigned char *label;      /* OAEP label copy (params.label points here) */
	struct ef_pkey *key;       /* a reference, dropped with the operation */
	size_t key_bytes;          /* modulus size: every signature's length */
	struct ef_digest *digest;  /* hash-and-sign and digest operations */
	bool multi;                /* C_xxxUpdate was called: only C_xxxFinal may end it */
};

void ef_op_free(struct ef_op *op);

struct ef_session {
	CK_SESSION_HANDLE handle;
	struct ef_token *token;
	unsigned long generation; /* the token's when the session opened */
	CK_FLAGS flags;
	struct ef_op *ops[EF_OP_KINDS];
	struct ef_op *out[EF_OP_KINDS];  /* taken out by a thread working on it */
	bool finding;
	CK_OBJECT_HANDLE *found;
	size_t n_found, pos;
};

CK_RV ef_session_open_inlock(struct ef_token *t, CK_FLAGS flags, CK_SESSION_HANDLE *h);
/* Closing the token's last session logs it out ([PKCS#11 3.0 §5.6]). */
CK_RV ef_session_close_inlock(CK_SESSION_HANDLE h);
void ef_session_close_all_inlock(struct ef_token *t);
/* Closes the sessions of tokens that have gone away or been replaced
 * (the bundle's files changed, or another bundle took the slot): to the
 * application the token was removed ([PKCS#11 3.0 §5.6]). */
void ef_sessions_close_stale_inlock(void);
void ef_sessions_fini_inlock(void);

/* The session: CKR_SESSION_HANDLE_INVALID when the handle is not open. */
CK_RV ef_session_lookup_inlock(CK_SESSION_HANDLE h, struct ef_session **s);
CK_STATE ef_session_state_inlock(const struct ef_session *s);

/* Forgets the handles a search found. */
void ef_session_clear_found_inlock(struct ef_session *s);

/* True when an operation of this kind is active (attached or taken out). */
bool ef_session_op_active_inlock(const struct ef_session *s, enum ef_op_kind kind);
/* Ends an operation of this kind ([PKCS#11 3.0 C_SessionCancel]). */
void ef_session_cancel_inlock(struct ef_session *s, enum ef_op_kind kind);
/* Ends the operations that use the private key, in every session of the
 * token: at logout the key must really go. */
void ef_sessions_drop_key_ops_inlock(const struct ef_token *t);

/* Takes the active operation of this kind out of the session;
 * EF_R_OP_BUSY when another thread has it out. */
CK_RV ef_session_take_op_inlock(struct ef_session *s, enum ef_op_kind kind,
				struct ef_op **op);
/* Gives it back (keep) or ends it; takes the lock itself.  If the session
 * was closed or the operation cancelled meanwhile, the operation is freed. */
void ef_session_return_op(CK_SESSION_HANDLE h, struct ef_op *op, bool keep);

#endif
