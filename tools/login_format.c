/*
 * login_format.c - the text a portal login signs, the token's encoding
 * and SAT's "fert": shared by efirma-tool (login-token and native-host,
 * which sign) and efirma-portal-verify (which checks).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "login_token.h"
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	/* SAT's login page (and phpcfdi's client, which SAT accepts) encode
	 * the signature twice; a token with it encoded once is refused. */
	char *co = ef_base64((const unsigned char *)text, strlen(text));
	char *once = ef_base64(sig, sig_len);
	char *twice = once ? ef_base64((const unsigned char *)once, strlen(once)) : NULL;
	char *inner = NULL, *outer = NULL;

	if (co != NULL && twice != NULL && asprintf(&inner, "%s#%s", co, twice) >= 0)
		outer = ef_base64((const unsigned char *)inner, strlen(inner));
	else
		inner = NULL;
	free(co);
	free(once);
	free(twice);
	free(inner);
	return outer;
}

enum ef_login_status ef_login_decode(const char *token, size_t token_len, size_t sig_size,
				     char **text, size_t *text_len, unsigned char **sig)
{
	unsigned char *inner = NULL, *t = NULL, *once = NULL, *twice = NULL;
	size_t inner_len = 0, t_len = 0, once_len = 0, twice_len = 0, head;
	const char *mark;
	enum ef_login_status st;

	*text = NULL;
	*text_len = 0;
	*sig = NULL;
	if (!ef_unbase64(token, token_len, &inner, &inner_len) || inner_len == 0) {
		st = EF_LOGIN_NOT_BASE64;
		goto out;
	}
	mark = memchr(inner, '#', inner_len);
	if (mark == NULL) {
		st = EF_LOGIN_NOT_TWO_PARTS;
		goto out;
	}
	head = (size_t)(mark - (const char *)inner);
	if (memchr(mark + 1, '#', inner_len - head - 1) != NULL) {
		st = EF_LOGIN_NOT_TWO_PARTS;
		goto out;
	}
	if (!ef_unbase64((const char *)inner, head, &t, &t_len) || t_len == 0 ||
	    memchr(t, '\0', t_len) != NULL) {
		st = EF_LOGIN_BAD_TEXT;
		goto out;
	}
	/* [RFC 8017 8.2.2] "If the length of the signature S is not k octets,
	 * output 'invalid signature'": the length after exactly two decodings
	 * is what tells SAT's encoding from one applied once or three times. */
	if (!ef_unbase64(mark + 1, inner_len - head - 1, &once, &once_len) || once_len == 0 ||
	    !ef_unbase64((const char *)once, once_len, &twice, &twice_len) ||
	    twice_len != sig_size) {
		st = EF_LOGIN_BAD_SIG;
		goto out;
	}
	*text = malloc(t_len + 1);
	if (*text == NULL) {
		st = EF_LOGIN_NOMEM;
		goto out;
	}
	memcpy(*text, t, t_len);
	(*text)[t_len] = '\0';
	*text_len = t_len;
	*sig = twice;
	twice = NULL;
	st = EF_LOGIN_OK;
out:
	free(inner);
	free(t);
	free(once);
	free(twice);
	return st;
}

bool ef_login_fert(long long not_after, char out[EF_FERT_SIZE])
{
	time_t t = (time_t)not_after;
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 50 || tm.tm_year > 149)
		return false;
	return strftime(out, EF_FERT_SIZE, "%y%m%d%H%M%SZ", &tm) == EF_FERT_SIZE - 1;
}
