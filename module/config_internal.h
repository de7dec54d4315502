/*
 * config_internal.h - what the configuration's files share (config.c,
 * config_walk.c, config_file.c, config_reserved.c); nothing outside them
 * includes it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_CONFIG_INTERNAL_H
#define EF_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"

/* ------------------------------------------------- text (config_walk.c) */

/* One character inside double quotes: \" is a quote and \\ a backslash;
 * any other backslash is itself (a Windows-style path keeps working).
 * Returns the bytes consumed (left >= 1). */
size_t ef_conf_quoted_char(const char *p, size_t left, char *c);
struct ef_conf_span ef_conf_trim(struct ef_conf_span s);
/* Case-insensitive. */
bool ef_conf_span_eq(struct ef_conf_span s, const char *word);
/* For warnings: echo a key only when it is short printable ASCII, so a
 * garbage file cannot spray control characters over the user's terminal. */
bool ef_conf_printable(struct ef_conf_span s);

/* ---------------------------------------------------------- (config.c) */

/* yes/no, 1/0, true/false, on/off into *value; false for anything else. */
bool ef_conf_truthy(struct ef_conf_span v, bool *value);
/* The [module] switches, in the file and as pReserved words: the flag of
 * cfg that key names, NULL when it names none.  Each turns something on,
 * never off, whichever source says so. */
bool *ef_conf_module_switch(struct ef_config *cfg, struct ef_conf_span key);

/* One setting of removable volumes, what = "search", "root" or
 * "empty-slots", from the file's [removable] section or from pReserved
 * (lineno 0); a bad value is a warning. */
CK_RV ef_conf_removable(struct ef_config *cfg, const char *what, struct ef_conf_span value,
			const char *base_dir, const char *origin, unsigned lineno);

/* Appends s (which it then owns) to *arr. */
CK_RV ef_conf_push_str(char ***arr, size_t *n, char *s);

/* A bundle being read: a [bundle] section or the cert=/key=/label= words
 * of pReserved.  The strings move into the configuration when complete. */
struct ef_conf_pending {
	bool open;
	char *cert, *key, *label;
	unsigned line;            /* the [bundle] line, for the warning */
};

void ef_conf_pending_reset(struct ef_conf_pending *b);
/* Ends the bundle being read: stored when cert and key are known, else
 * one warning and it is dropped. */
CK_RV ef_conf_pending_close(struct ef_conf_pending *b, const char *origin,
			    struct ef_config *cfg);

/* a and b joined with one '/'; malloc'd, NULL when out of memory. */
char *ef_conf_join(const char *a, size_t alen, const char *b, size_t blen);
/* The path a value names: "~/" is the home directory and a relative path
 * is anchored at base_dir.  In an AT_SECURE process, a path that would
 * depend on the invoking user is not used: CKR_OK with *path NULL, for
 * the caller to warn (ef_conf_warn_unsafe_path). */
CK_RV ef_conf_resolve_path(struct ef_conf_span v, const char *base_dir, char **path);
/* The warning for a path ef_conf_resolve_path would not use; lineno 0
 * for a pReserved word. */
void ef_conf_warn_unsafe_path(const char *origin, unsigned lineno);

/* --------------------------------------------- (config_reserved.c) */

/* ef_config_parse_reserved, and *source true when a word names bundles
 * (conf=, cert=, dir=): that makes pReserved the configuration source. */
CK_RV ef_conf_parse_reserved(const char *reserved, struct ef_config *cfg, bool *source);

#endif
