/*
 * json.h - the little JSON efirma-tool needs: strings written safely for
 * "--json" output and the native host's replies.
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

#endif
