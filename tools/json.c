/*
 * json.c - JSON strings for efirma-tool's "--json" output and the native
 * host (RFC 8259).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "json.h"
#include "sat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (at most len bytes), 0 when it is not
 * one.  [RFC 3629 4] the well-formed sequences: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

bool ef_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void ef_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;

	while (p[len])
		len++;
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0) {
			fputs("\\ufffd", f);
			i++;
		} else if (p[i] == '"' || p[i] == '\\') {
			fprintf(f, "\\%c", p[i++]);
		} else if (p[i] < 0x20 || p[i] == 0x7F) {
			fprintf(f, "\\u%04x", p[i++]);
		} else if (n == 2 && p[i] == 0xC2 && p[i + 1] <= 0x9F) {
			fprintf(f, "\\u%04x", p[i + 1]);
			i += 2;
		} else {
			fwrite(p + i, 1, n, f);
			i += n;
		}
	}
	fputc('"', f);
}

/* ---------------------------------------------------------------- reader */

struct jr {
	const unsigned char *p, *end;
};

static void skip_ws(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const unsigned char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A string at r->p (its opening quote); *out (malloc'd) gets it decoded
 * when out is not NULL.  [RFC 8259 7] */
static bool read_string(struct jr *r, char **out)
{
	const unsigned char *start = ++r->p;
	unsigned char *buf = NULL;
	size_t n = 0;

	/* Decoded, a string is never longer than its source. */
	if (out != NULL) {
		*out = NULL;
		buf = malloc((size_t)(r->end - start) + 1);
		if (buf == NULL)
			return false;
	}
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = *r->p;
		uint32_t cp;
		size_t k;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			k = utf8_seq(r->p, (size_t)(r->end - r->p));
			if (k == 0)
				goto bad;
			if (buf)
				memcpy(buf + n, r->p, k);
			n += k;
			r->p += k;
			continue;
		}
		if (r->end - r->p < 2)
			goto bad;
		switch (r->p[1]) {
		case '"': case '\\': case '/':
			cp = r->p[1]; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u': {
			int hi, lo;
			if (r->end - r->p < 6 || (hi = hex4(r->p + 2)) < 0)
				goto bad;
			cp = (uint32_t)hi;
			if (hi >= 0xDC00 && hi <= 0xDFFF)
				goto bad;
			if (hi >= 0xD800 && hi <= 0xDBFF) {
				/* a surrogate pair, or nothing */
				if (r->end - r->p < 12 || r->p[6] != '\\' || r->p[7] != 'u' ||
				    (lo = hex4(r->p + 8)) < 0xDC00 || lo > 0xDFFF)
					goto bad;
				cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
				r->p += 6;
			}
			if (cp == 0)
				goto bad;   /* the C strings it becomes would end there */
			r->p += 4;
			break;
		}
		default:
			goto bad;
		}
		r->p += 2;
		if (buf)
			n += ef_utf8_put(buf + n, cp);
	}
	if (r->p >= r->end)
		goto bad;
	r->p++;
	if (buf) {
		buf[n] = '\0';
		*out = (char *)buf;
	}
	return true;
bad:
	free(buf);
	return false;
}

static bool read_number(struct jr *r)
{
	const unsigned char *s = r->p;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0') {
		r->p++;
	} else if (r->p < r->end && *r->p >= '1' && *r->p <= '9') {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	} else {
		return false;
	}
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return false;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return false;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	return r->p > s;
}

static bool literal(struct jr *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

static bool read_value(struct jr *r, int depth, struct ef_json_obj *top);

/* An object or an array at r->p; the members of the outermost object go
 * to top (NULL below it). */
static bool read_container(struct jr *r, int depth, struct ef_json_obj *top)
{
	bool object = *r->p == '{';
	unsigned char close = object ? '}' : ']';

	if (depth >= EF_JSON_MAX_DEPTH)
		return false;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return true;
	}
	for (;;) {
		char *name = NULL;

		skip_ws(r);
		if (object) {
			if (r->p >= r->end || *r->p != '"' || !read_string(r, top ? &name : NULL))
				return false;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':') {
				free(name);
				return false;
			}
			r->p++;
			skip_ws(r);
			if (top != NULL) {
				bool dup;
				ef_json_get(top, name, &dup);
				if (top->n == EF_JSON_MAX_MEMBERS || dup) {
					free(name);
					return false;
				}
				top->name[top->n] = name;
				top->value[top->n] = NULL;
				top->n++;
				if (r->p < r->end && *r->p == '"') {
					if (!read_string(r, &top->value[top->n - 1]))
						return false;
				} else if (!read_value(r, depth + 1, NULL)) {
					return false;
				}
			} else if (!read_value(r, depth + 1, NULL)) {
				return false;
			}
		} else if (!read_value(r, depth + 1, NULL)) {
			return false;
		}
		skip_ws(r);
		if (r->p >= r->end)
			return false;
		if (*r->p == close) {
			r->p++;
			return true;
		}
		if (*r->p != ',')
			return false;
		r->p++;
	}
}

static bool read_value(struct jr *r, int depth, struct ef_json_obj *top)
{
	skip_ws(r);
	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '{':
	case '[':
		return read_container(r, depth, top);
	case '"':
		return read_string(r, NULL);
	case 't':
		return literal(r, "true");
	case 'f':
		return literal(r, "false");
	case 'n':
		return literal(r, "null");
	default:
		return read_number(r);
	}
}

bool ef_json_parse_object(const char *in, size_t len, struct ef_json_obj *o)
{
	struct jr r = { (const unsigned char *)in, (const unsigned char *)in + len };

	memset(o, 0, sizeof(*o));
	skip_ws(&r);
	if (r.p >= r.end || *r.p != '{' || !read_container(&r, 0, o))
		goto bad;
	skip_ws(&r);
	if (r.p != r.end)
		goto bad;
	return true;
bad:
	ef_json_obj_clear(o);
	return false;
}

void ef_json_obj_clear(struct ef_json_obj *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->name[i]);
		free(o->value[i]);
	}
	memset(o, 0, sizeof(*o));
}

const char *ef_json_get(const struct ef_json_obj *o, const char *name, bool *present)
{
	if (present != NULL)
		*present = false;
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->name[i], name) == 0) {
			if (present != NULL)
				*present = true;
			return o->value[i];
		}
	}
	return NULL;
}
