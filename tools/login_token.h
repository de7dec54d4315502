/*
 * login_token.h - SAT's e.firma login token, both sides: built by
 * efirma-tool (login-token, native-host), checked by efirma-portal-verify.
 * One implementation, so the three cannot drift apart.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_LOGIN_TOKEN_H
#define EF_LOGIN_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* SAT's layout of the signed text ("co"): guid|RFC|número. */
#define EF_LOGIN_FORMAT "%c|%r|%n"

/* The signed text: format with %c (challenge), %r (RFC), %n (número) and
 * %% replaced.  NULL with *bad pointing at an unknown placeholder, or NULL
 * with *bad == NULL when out of memory.  malloc'd. */
char *ef_login_text(const char *format, const char *challenge, const char *rfc,
		    const char *numero, const char **bad);

/* SAT's token: base64( base64(text) "#" base64( base64(sig) ) ); malloc'd,
 * NULL when out of memory. */
char *ef_login_encode(const char *text, const unsigned char *sig, size_t sig_len);

enum ef_login_status {
	EF_LOGIN_OK = 0,
	EF_LOGIN_NOT_BASE64,    /* the token is not base64 */
	EF_LOGIN_NOT_TWO_PARTS, /* not two parts joined by one '#' */
	EF_LOGIN_BAD_TEXT,      /* the text part: not base64, empty, or holds a NUL */
	EF_LOGIN_BAD_SIG,       /* the signature part is not base64(base64(S)) with S
				 * of the key's signature size */
	EF_LOGIN_NOMEM,
};

/* Splits SAT's token into the signed text (*text, NUL-terminated) and the
 * raw signature (*sig, exactly sig_size bytes: an RSA signature is as long
 * as the modulus, so a field encoded once or three times never passes).
 * Both malloc'd, NULL unless EF_LOGIN_OK. */
enum ef_login_status ef_login_decode(const char *token, size_t token_len, size_t sig_size,
				     char **text, size_t *text_len, unsigned char **sig);

/* SAT's "fert": the certificate's notAfter as YYMMDDhhmmssZ (UTC), e.g.
 * 2023-06-13T21:05:15Z -> "230613210515Z".  False outside 1950-2049, the
 * years two digits name without doubt (RFC 5280 UTCTime). */
#define EF_FERT_SIZE 14
bool ef_login_fert(long long not_after, char out[EF_FERT_SIZE]);

#endif
