/*
 * json.h - the little JSON efirma-tool needs: strings written safely for
 * "--json" output and the native host's replies, and a reader for the
 * native host's requests (one object whose members it needs are strings).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_JSON_H
#define EF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* True when the len bytes are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool ef_utf8_valid(const char *s, size_t len);

/* Writes s as a JSON string, quotes included: quotes, backslashes and
 * control characters escaped (DEL and the C1 controls too: JSON allows
 * them raw, terminals obey them); a byte that is not part of valid UTF-8
 * becomes U+FFFD, so the output is always valid JSON. */
void ef_json_str(FILE *f, const char *s);

/* The members of one JSON object whose values are strings (the others
 * are checked and skipped). */
#define EF_JSON_MAX_MEMBERS 16
struct ef_json_obj {
	size_t n;
	char *name[EF_JSON_MAX_MEMBERS];   /* UTF-8, NUL-terminated, malloc'd */
	char *value[EF_JSON_MAX_MEMBERS];  /* NULL when the value is not a string */
};

/* Parses len bytes that must be exactly one JSON object (RFC 8259, UTF-8,
 * whitespace around it allowed), nested at most EF_JSON_MAX_DEPTH deep,
 * with at most EF_JSON_MAX_MEMBERS members, no member twice and no string
 * holding U+0000.  False on anything else (o is then empty).  Clear o in
 * every case. */
#define EF_JSON_MAX_DEPTH 16
bool ef_json_parse_object(const char *in, size_t len, struct ef_json_obj *o);
void ef_json_obj_clear(struct ef_json_obj *o);
/* The member's value when it is a string; NULL when it is absent or not
 * a string.  *present (may be NULL) says whether the member exists. */
const char *ef_json_get(const struct ef_json_obj *o, const char *name, bool *present);

#endif
