/*
 * config_walk.c - the configuration file's line grammar (config.h):
 * sections, "key = value" with quotes and comments, nothing about what a
 * key means (config_file.c).  efirma-tool's editor walks the same lines.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every input is untrusted text (this parser is fuzzed): any byte,
 * embedded NULs, endless lines, unterminated quotes.  Only an allocation
 * failure is an error; a line that makes no sense carries its problem.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "log.h"

/* ---------------------------------------------------------------- text */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

size_t ef_conf_quoted_char(const char *p, size_t left, char *c)
{
	if (p[0] == '\\' && left >= 2 && (p[1] == '"' || p[1] == '\\')) {
		*c = p[1];
		return 2;
	}
	*c = p[0];
	return 1;
}

struct ef_conf_span ef_conf_trim(struct ef_conf_span s)
{
	while (s.len > 0 && is_blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

bool ef_conf_span_eq(struct ef_conf_span s, const char *word)
{
	size_t n = strlen(word);

	return s.len == n && strncasecmp(s.p, word, n) == 0;
}

bool ef_conf_printable(struct ef_conf_span s)
{
	if (s.len == 0 || s.len > 40)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < 0x20 || s.p[i] > 0x7E)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- walk */

/* The header line of a section: its name, or why it is no section. */
static void walk_header(struct ef_conf_span line, struct ef_conf_line *l)
{
	const char *close = memchr(line.p, ']', line.len);
	struct ef_conf_span rest;

	l->kind = EF_CONF_SECTION;
	if (close == NULL) {
		l->problem = "section header without ']', section ignored";
		return;
	}
	rest.p = close + 1;
	rest.len = (size_t)(line.p + line.len - rest.p);
	rest = ef_conf_trim(rest);
	if (rest.len > 0 && rest.p[0] != '#') {
		l->problem = "text after the section header, section ignored";
		return;
	}
	l->name.p = line.p + 1;
	l->name.len = (size_t)(close - line.p - 1);
	l->name = ef_conf_trim(l->name);
}

/* Splits "key = value" with an optional quoted value and trailing comment,
 * or says why the line is not usable.  A quoted value with escapes is
 * decoded into *owned (malloc'd; the caller frees it). */
static CK_RV walk_assignment(struct ef_conf_span line, struct ef_conf_line *l, char **owned)
{
	const char *eq = memchr(line.p, '=', line.len);
	struct ef_conf_span v;

	l->kind = EF_CONF_ASSIGN;
	*owned = NULL;
	if (eq == NULL) {
		l->problem = "expected 'key = value', line ignored";
		return CKR_OK;
	}
	l->key.p = line.p;
	l->key.len = (size_t)(eq - line.p);
	l->key = ef_conf_trim(l->key);
	v.p = eq + 1;
	v.len = (size_t)(line.p + line.len - v.p);
	v = ef_conf_trim(v);
	if (l->key.len == 0) {
		l->problem = "missing key before '=', line ignored";
		return CKR_OK;
	}
	if (v.len > 0 && v.p[0] == '"') {
		struct ef_conf_span rest;
		size_t i = 1, n = 0;
		char *buf = malloc(v.len);

		if (buf == NULL)
			return EF_FAIL(CKR_HOST_MEMORY);
		while (i < v.len && v.p[i] != '"')
			i += ef_conf_quoted_char(v.p + i, v.len - i, &buf[n++]);
		if (i >= v.len) {
			l->problem = "unterminated quote, line ignored";
			free(buf);
			return CKR_OK;
		}
		rest.p = v.p + i + 1;
		rest.len = v.len - i - 1;
		rest = ef_conf_trim(rest);
		if (rest.len > 0 && rest.p[0] != '#') {
			l->problem = "text after the closing quote, line ignored";
			free(buf);
			return CKR_OK;
		}
		buf[n] = '\0';
		*owned = buf;
		l->value.p = buf;
		l->value.len = n;
		return CKR_OK;
	}
	/* Unquoted: a '#' after a blank starts a comment; a '#' inside a word
	 * (a path like "a#b") is kept. */
	for (size_t i = 1; i < v.len; i++) {
		if (v.p[i] == '#' && is_blank(v.p[i - 1])) {
			v.len = i;
			break;
		}
	}
	l->value = ef_conf_trim(v);
	return CKR_OK;
}

CK_RV ef_config_walk(const char *text, size_t len,
		     CK_RV (*visit)(const struct ef_conf_line *l, void *arg), void *arg)
{
	unsigned lineno = 0;
	size_t pos = 0;
	CK_RV rv = CKR_OK;

	if (text == NULL)
		len = 0;
	while (pos < len && rv == CKR_OK) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		struct ef_conf_line l;
		struct ef_conf_span line;
		char *owned = NULL;

		memset(&l, 0, sizeof(l));
		line.p = text + pos;
		line.len = nl != NULL ? (size_t)(nl - line.p) : len - pos;
		l.start = pos;
		pos += line.len + (nl != NULL);
		l.end = pos;
		if (lineno < UINT_MAX)
			lineno++;
		l.lineno = lineno;
		line = ef_conf_trim(line);
		if (line.len == 0 || line.p[0] == '#')
			l.kind = EF_CONF_BLANK;
		else if (line.p[0] == '[')
			walk_header(line, &l);
		else
			rv = walk_assignment(line, &l, &owned);
		if (rv == CKR_OK)
			rv = visit(&l, arg);
		free(owned);
	}
	return rv;
}
