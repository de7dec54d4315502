/*
 * login_format.c - the text a portal login signs, and the token's
 * encoding: shared by efirma-tool (which signs) and efirma-portal-verify
 * (which checks).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "login_token.h"
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ef_login_text(const char *format, const char *challenge, const char *rfc,
		    const char *numero, const char **bad)
{
	size_t cap = strlen(format) + 1, n = 0;
	char *out;

	*bad = NULL;
	/* Every placeholder grows the text by at most the longest value. */
	for (const char *f = format; *f; f++)
		if (*f == '%')
			cap += strlen(challenge) + strlen(rfc) + strlen(numero);
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (const char *f = format; *f; f++) {
		const char *v = NULL;
		if (*f != '%') {
			out[n++] = *f;
			continue;
		}
		switch (f[1]) {
		case 'c': v = challenge; break;
		case 'r': v = rfc; break;
		case 'n': v = numero; break;
		case '%': v = "%"; break;
		default:
			*bad = f;
			free(out);
			return NULL;
		}
		memcpy(out + n, v, strlen(v));
		n += strlen(v);
		f++;
	}
	out[n] = '\0';
	return out;
}

char *ef_login_encode(const char *text, const unsigned char *sig, size_t sig_len)
{
	char *a = ef_base64((const unsigned char *)text, strlen(text));
	char *b = ef_base64(sig, sig_len);
	char *inner = NULL, *outer = NULL;
	if (a != NULL && b != NULL && asprintf(&inner, "%s#%s", a, b) >= 0)
		outer = ef_base64((const unsigned char *)inner, strlen(inner));
	free(a);
	free(b);
	free(inner);
	return outer;
}
