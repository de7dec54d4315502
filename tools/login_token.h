/*
 * login_token.h - the e.firma portal login token, both sides: built by
 * efirma-tool, checked by efirma-portal-verify.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_LOGIN_TOKEN_H
#define EF_LOGIN_TOKEN_H

#include <stddef.h>

/* SAT's layout of the signed text. */
#define EF_LOGIN_FORMAT "%c|%r|%n"

/* The signed text: format with %c (challenge), %r (RFC), %n (número) and
 * %% replaced.  NULL with *bad pointing at an unknown placeholder, or NULL
 * with *bad == NULL when out of memory.  malloc'd. */
char *ef_login_text(const char *format, const char *challenge, const char *rfc,
		    const char *numero, const char **bad);

/* base64(base64(text) "#" base64(sig)); malloc'd. */
char *ef_login_encode(const char *text, const unsigned char *sig, size_t sig_len);

#endif
