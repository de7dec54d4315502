/*
 * config_reserved.c - the configuration C_Initialize's pReserved string
 * carries (config.h): space-separated key=value words, quotes allowed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Untrusted text like a file (fuzzed too): a word that makes no sense is
 * one warning and the others still count; only an allocation failure is
 * an error.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "log.h"

/* ------------------------------------------------------ pReserved syntax */

/* Next space-separated word of s, with double quotes removed: quoting may
 * cover the whole value (cert="/a b/c.cer") or any part of the word, and
 * inside quotes \" and \\ stand for a quote and a backslash.
 * Returns false at the end of the string.  *word is malloc'd (NULL on
 * allocation failure, *rv set); *unterminated reports a missing closing
 * quote (the word then runs to the end of the string). */
static bool next_word(const char **s, char **word, bool *unterminated, CK_RV *rv)
{
	const char *p = *s;
	size_t n = 0;
	bool quoted = false;
	char *out;

	*word = NULL;
	*unterminated = false;
	*rv = CKR_OK;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '\0') {
		*s = p;
		return false;
	}
	out = malloc(strlen(p) + 1);
	if (out == NULL) {
		*rv = EF_FAIL(CKR_HOST_MEMORY);
		return false;
	}
	while (*p != '\0') {
		if (*p == '"') {
			quoted = !quoted;
			p++;
			continue;
		}
		if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			break;
		if (quoted)
			p += ef_conf_quoted_char(p, p[1] != '\0' ? 2 : 1, &out[n++]);
		else
			out[n++] = *p++;
	}
	out[n] = '\0';
	*unterminated = quoted;
	*word = out;
	*s = p;
	return true;
}

/* One pReserved word.  *source becomes true for the words that name
 * bundles (conf, cert, dir): they make pReserved the configuration source. */
static CK_RV reserved_word(const char *word, struct ef_conf_pending *b, bool *source,
			   struct ef_config *cfg)
{
	static const char origin[] = "pReserved";
	const char *eq = strchr(word, '=');
	struct ef_conf_span key, value;
	char *s = NULL, **slot = NULL;
	bool flag, *sw;
	CK_RV rv;

	if (eq == NULL) {
		key.p = word;
		key.len = strlen(word);
		goto unknown;
	}
	key.p = word;
	key.len = (size_t)(eq - word);
	value.p = eq + 1;
	value.len = strlen(value.p);

	if ((sw = ef_conf_module_switch(cfg, key)) != NULL) {
		if (!ef_conf_truthy(value, &flag))
			ef_log_warn("%s: %.*s takes 1 or 0", origin, (int)key.len, key.p);
		else if (flag)
			*sw = true;
		return CKR_OK;
	}
	/* pReserved names of the [removable] settings. */
	static const char *const removable[][2] = {
		{ "removable", "search" },
		{ "removable-root", "root" },
		{ "empty-slots", "empty-slots" },
	};
	for (size_t i = 0; i < sizeof(removable) / sizeof(removable[0]); i++)
		if (ef_conf_span_eq(key, removable[i][0]))
			return ef_conf_removable(cfg, removable[i][1], value, NULL, origin, 0);
	if (ef_conf_span_eq(key, "cert") || ef_conf_span_eq(key, "key") || ef_conf_span_eq(key, "label") ||
	    ef_conf_span_eq(key, "conf") || ef_conf_span_eq(key, "dir") || ef_conf_span_eq(key, "ca")) {
		if (value.len == 0) {
			ef_log_warn("%s: '%.*s=' without a value, ignored", origin,
				    (int)key.len, key.p);
			return CKR_OK;
		}
	}
	if (ef_conf_span_eq(key, "label")) {
		slot = &b->label;
		s = strdup(value.p);
		if (s == NULL)
			return EF_FAIL(CKR_HOST_MEMORY);
	} else if (ef_conf_span_eq(key, "cert") || ef_conf_span_eq(key, "key") || ef_conf_span_eq(key, "conf") ||
		   ef_conf_span_eq(key, "dir") || ef_conf_span_eq(key, "ca")) {
		/* pReserved has no file of its own: relative paths are
		 * relative to the application's working directory. */
		rv = ef_conf_resolve_path(value, NULL, &s);
		if (rv != CKR_OK)
			return rv;
		if (s == NULL) {
			ef_conf_warn_unsafe_path(origin, 0);
			return CKR_OK;
		}
	} else {
		goto unknown;
	}

	if (ef_conf_span_eq(key, "cert"))
		slot = &b->cert;
	else if (ef_conf_span_eq(key, "key"))
		slot = &b->key;
	if (slot != NULL) {
		/* Each cert= starts a bundle and the key=/label= that follow
		 * belong to it; in general a word whose place is already
		 * taken starts the next bundle, so "key=.. cert=.." works
		 * as well as "cert=.. key=..". */
		if (*slot != NULL) {
			rv = ef_conf_pending_close(b, origin, cfg);
			if (rv != CKR_OK) {
				free(s);
				return rv;
			}
		}
		b->open = true;
		*slot = s;
		if (slot == &b->cert)
			*source = true;
		return CKR_OK;
	}
	if (ef_conf_span_eq(key, "conf")) {
		*source = true;
		rv = ef_config_parse_file(s, cfg);
		free(s);
		return rv;
	}
	if (ef_conf_span_eq(key, "dir")) {
		*source = true;
		rv = ef_conf_push_str(&cfg->dirs, &cfg->n_dirs, s);
	} else {
		rv = ef_conf_push_str(&cfg->ca_paths, &cfg->n_ca_paths, s);
	}
	if (rv != CKR_OK)
		free(s);
	return rv;

unknown:
	if (ef_conf_printable(key))
		ef_log_warn("%s: unknown word '%.*s', ignored", origin, (int)key.len, key.p);
	else
		ef_log_warn("%s: unknown word, ignored", origin);
	return CKR_OK;
}

CK_RV ef_conf_parse_reserved(const char *reserved, struct ef_config *cfg, bool *source)
{
	struct ef_conf_pending b;
	const char *p = reserved;
	char *word;
	bool unterminated;
	CK_RV rv = CKR_OK;

	*source = false;
	if (cfg == NULL)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	if (reserved == NULL)
		return CKR_OK;
	memset(&b, 0, sizeof(b));
	while (next_word(&p, &word, &unterminated, &rv)) {
		if (unterminated) {
			ef_log_warn("pReserved: unterminated quote, rest ignored");
			free(word);
			break;
		}
		rv = reserved_word(word, &b, source, cfg);
		free(word);
		if (rv != CKR_OK)
			goto out;
	}
	if (rv != CKR_OK)
		goto out;
	rv = ef_conf_pending_close(&b, "pReserved", cfg);
out:
	ef_conf_pending_reset(&b);
	return rv;
}

CK_RV ef_config_parse_reserved(const char *reserved, struct ef_config *cfg)
{
	bool source;

	return ef_conf_parse_reserved(reserved, cfg, &source);
}
