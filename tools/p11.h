/*
 * p11.h - efirma-tool's only door to the key: the module, loaded with
 * dlopen() and spoken to through its function list.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_P11_H
#define EF_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "efirma-pkcs11.h"
#include "ckr_names.h"

struct ef_p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	bool initialized;
};

/* One token and the SAT facts of its certificate (vendor attributes). */
struct ef_tok {
	CK_SLOT_ID slot;
	char label[33];            /* token label, blanks trimmed */
	bool has_cert;
	char rfc[64], curp[64], rep_rfc[64], rep_curp[64], numero[64];
	char *holder, *branch;     /* malloc'd, maybe "" */
	CK_ULONG kind;             /* CKV_EFIRMA_KIND_* */
	CK_ULONG persona;          /* CKV_EFIRMA_PERSONA_* */
	unsigned char *cert;       /* CKA_VALUE, DER */
	size_t cert_len;
	unsigned char id[64];      /* CKA_ID shared by certificate and keys */
	size_t id_len;
	/* Where the bundle comes from: CKV_EFIRMA_SOURCE_*, or 0 from a
	 * module that does not say. */
	CK_ULONG source;
	char *volume, *cert_path; /* malloc'd, maybe "" */
};

/* Loads the module and calls C_Initialize (reserved: the pReserved
 * string, or NULL for the module's own configuration search).
 * EF_EXIT_OK, or an EF_EXIT_* code after a message. */
int ef_p11_load(struct ef_p11 *p, const char *path, const char *reserved);
void ef_p11_unload(struct ef_p11 *p);

/* Every present token.  *toks is malloc'd; free with ef_p11_toks_free. */
int ef_p11_tokens(struct ef_p11 *p, struct ef_tok **toks, size_t *n);
void ef_p11_toks_free(struct ef_tok *toks, size_t n);

/* Picks the token named by want (RFC, label or número; NULL: the only
 * one).  prefer_efirma settles an RFC that names both an e.firma and a
 * CSD in favour of the e.firma.  EF_EXIT_OK with *out set, else a code
 * after a message. */
int ef_p11_select(struct ef_tok *toks, size_t n, const char *want, bool prefer_efirma,
		  struct ef_tok **out);

/* Opens a session (rw for C_SetPIN) and logs in with the password.  On a
 * failure the session is closed and a message says why. */
int ef_p11_login(struct ef_p11 *p, const struct ef_tok *t, bool rw,
		 const unsigned char *pin, size_t pin_len, CK_SESSION_HANDLE *s);
void ef_p11_close(struct ef_p11 *p, CK_SESSION_HANDLE s);

/* The private key that goes with the token's certificate. */
int ef_p11_private_key(struct ef_p11 *p, CK_SESSION_HANDLE s, const struct ef_tok *t,
		       CK_OBJECT_HANDLE *key);

/* Signs data (one part) with mech; *sig is malloc'd. */
int ef_p11_sign(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		CK_MECHANISM_TYPE mech, const unsigned char *data, size_t len,
		unsigned char **sig, size_t *sig_len);
/* Signs a whole stream in parts (C_SignUpdate). */
int ef_p11_sign_stream(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		       CK_MECHANISM_TYPE mech, FILE *in, const char *name,
		       unsigned char **sig, size_t *sig_len);

int ef_p11_set_pin(struct ef_p11 *p, CK_SESSION_HANDLE s,
		   const unsigned char *old_pin, size_t old_len,
		   const unsigned char *new_pin, size_t new_len);

#endif
