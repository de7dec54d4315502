/*
 * open_token.h - the steps every key-using command shares: load the
 * module, pick the token, ask the password, log in, find the key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_OPEN_TOKEN_H
#define EF_OPEN_TOKEN_H

#include <stdbool.h>

#include "p11.h"
#include "tool.h"

struct ef_use {
	struct ef_p11 p;
	struct ef_tok *toks;
	size_t n;
	struct ef_tok *tok;          /* the chosen token */
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
};

enum {
	EF_USE_LOGIN = 1u << 0,          /* log in and find the private key */
	EF_USE_RW = 1u << 1,             /* a read/write session (C_SetPIN) */
	EF_USE_PREFER_EFIRMA = 1u << 2,  /* an RFC with e.firma and CSD: e.firma */
};

/* reserved: pReserved for C_Initialize (NULL: the user's configuration).
 * With EF_USE_LOGIN the password comes from --pin-file/--pin-env or the
 * terminal and is wiped before returning.  Close with ef_use_close even on
 * failure. */
int ef_use_open(struct ef_use *u, const struct ef_opts *o, const char *reserved,
		unsigned flags);
void ef_use_close(struct ef_use *u);

/* "Password for e.firma CACX7605101P8: " (translated); malloc'd. */
char *ef_pin_prompt(const struct ef_tok *t);

/* Signs a random message through the token and verifies it against the
 * certificate with OpenSSL.  EF_EXIT_REFUSED when it does not verify. */
int ef_prove_key(struct ef_use *u);

/* A warning on stderr when the token's certificate has expired or is not
 * valid yet. */
void ef_warn_validity(const struct ef_tok *t);

#endif
