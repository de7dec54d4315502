/*
 * config.h - where bundles come from (doc/DESIGN.md §5).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Sources, first found wins: the pReserved string of C_Initialize, the file
 * named by EFIRMA_PKCS11_CONF, $XDG_CONFIG_HOME/efirma-pkcs11/efirma-pkcs11.conf
 * (default ~/.config/...), then $(sysconfdir)/efirma-pkcs11.conf.
 *
 * File syntax: '#' comments, repeatable sections
 *   [bundle]     cert = PATH, key = PATH, label = TEXT (optional)
 *   [directory]  path = PATH
 *   [ca]         path = FILE_OR_DIR
 *   [removable]  search = no, root = PATH (repeatable), empty-slots = N
 * and before any section, or in a [module] section, debug = 1 and
 * allow-pkcs1-decrypt = yes (CKM_RSA_PKCS decryption, off by default).
 * secure-heap = yes.
 * '~/' expands to $HOME; a relative path is relative to the file's folder.
 *
 * pReserved syntax: space-separated key=value words:
 *   conf=PATH | cert=PATH key=PATH [label=TEXT] | dir=PATH | ca=PATH | debug=1
 *   | allow-pkcs1-decrypt=1
 *   | secure-heap=1 | removable=0 | removable-root=PATH | empty-slots=N
 * Double quotes may wrap a value containing spaces.
 *
 * In both, inside double quotes \" is a double quote and \\ a backslash;
 * any other backslash stands for itself.
 *
 * In an AT_SECURE process (set-user-ID and the like) no environment
 * variable counts, "~" and relative paths are ignored with a warning, and
 * the trace stays off (log.c asks ef_env_secure too, secure_env.h).
 *
 * A malformed line is a warning naming the file and line; the valid entries
 * still load.  Only an allocation failure is an error.
 */
#ifndef EF_CONFIG_H
#define EF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"

struct ef_bundle_conf {
	char *cert;   /* path of the .cer (DER or PEM) */
	char *key;    /* path of the .key; NULL: not given (error, skipped) */
	char *label;  /* token label override, UTF-8, or NULL */
};

struct ef_config {
	struct ef_bundle_conf *bundles;
	size_t n_bundles;
	char **dirs;          /* [directory] path = ... */
	size_t n_dirs;
	char **ca_paths;      /* [ca] path = ..., files or folders */
	size_t n_ca_paths;
	bool debug;
	bool allow_pkcs1_decrypt;   /* on when any source read says so, like debug */
	bool secure_heap;     /* set up OpenSSL's secure heap if the host has not */
	/* Removable volumes are searched unless a source says no (or
	 * pReserved names the bundles and does not say yes); roots given
	 * replace the usual ones (/media/$USER, /run/media/$USER). */
	bool removable_off, removable_on;
	char **removable_roots;
	size_t n_removable_roots;
	bool empty_slots_given;
	unsigned empty_slots; /* slots kept for bundles that appear later */
	char *origin;         /* "pReserved", or the file path used; for the trace */
};

/* Fills *cfg from the first source that exists, per the order above.
 * reserved: the C_Initialize pReserved string, or NULL.
 * sysconf_path: the system-wide file (tests pass their own). */
CK_RV ef_config_load(const char *reserved, const char *sysconf_path,
		     struct ef_config *cfg);

/* The pieces, exposed for unit tests and fuzzing.  Both append to *cfg. */
CK_RV ef_config_parse_reserved(const char *reserved, struct ef_config *cfg);
/* text need not be NUL-terminated; origin names the file in warnings and
 * base_dir anchors relative paths (NULL: the current directory). */
CK_RV ef_config_parse_text(const char *text, size_t len, const char *origin,
			   const char *base_dir, struct ef_config *cfg);
CK_RV ef_config_parse_file(const char *path, struct ef_config *cfg);

/* ------------------------------------------------------------- editing
 * efirma-tool edits the user's file (add, remove a [bundle]) through the
 * parser the module reads it with, so the two cannot disagree on what the
 * file says: ef_config_walk is the file syntax, ef_config_parse_text its
 * meaning. */

struct ef_conf_span {
	const char *p;
	size_t len;
};

enum ef_conf_kind {
	EF_CONF_BLANK,     /* blank or a comment */
	EF_CONF_SECTION,   /* [name] */
	EF_CONF_ASSIGN,    /* key = value */
};

/* One line of the file, as the parser reads it. */
struct ef_conf_line {
	enum ef_conf_kind kind;
	size_t start, end;       /* offsets of the line in the text, its '\n' included */
	unsigned lineno;
	/* Why the parser ignores this line (a section: it and its lines), as
	 * the module's warning says it; NULL when it does not. */
	const char *problem;
	struct ef_conf_span name;    /* EF_CONF_SECTION: between the brackets, trimmed */
	struct ef_conf_span key;     /* EF_CONF_ASSIGN, trimmed */
	/* EF_CONF_ASSIGN: quotes and escapes undone, the comment cut; may
	 * hold NUL bytes; valid during the visit only. */
	struct ef_conf_span value;
};

/* Calls visit for each line of text (need not be NUL-terminated) in
 * order, until it returns other than CKR_OK; logs nothing.  CKR_OK,
 * CKR_HOST_MEMORY, or what visit returned. */
CK_RV ef_config_walk(const char *text, size_t len,
		     CK_RV (*visit)(const struct ef_conf_line *l, void *arg), void *arg);

/* The file a user edits: the one EFIRMA_PKCS11_CONF names, else the
 * user's file of the search above (whether it exists or not).  *path
 * malloc'd, NULL when there is none (no usable HOME; AT_SECURE). */
CK_RV ef_config_user_file(char **path);

/* The path a value (value, len) of the file conf names, as the module
 * reads it: "~/" is $HOME, a relative path is relative to conf's folder.
 * *path malloc'd, NULL when an AT_SECURE process would not use it. */
CK_RV ef_config_value_path(const char *conf, const char *value, size_t len, char **path);

void ef_config_free(struct ef_config *cfg);

#endif
