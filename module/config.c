/*
 * config.c - where bundles come from (config.h, doc/DESIGN.md §5): which
 * source counts, and what the file and pReserved parsers (config_file.c,
 * config_reserved.c) share: switches, storage, paths.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Environment: the module can be loaded into set-user-ID programs (a PAM
 * module doing smart-card login, for one); there the invoking user must
 * not be able to choose which certificate and key the token offers, nor
 * read a trace of the privileged process.  So in an AT_SECURE process
 * (ef_env_secure, secure_env.c) no environment variable is read (EFIRMA_PKCS11_CONF,
 * XDG_CONFIG_HOME, HOME, EFIRMA_PKCS11_DEBUG), and no path that depends on
 * the invoking user (one starting with "~", or relative to the working
 * directory) is used: only pReserved and the system file count, with
 * absolute paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "platform.h"
#include "secure_env.h"

#define EF_CONF_USER_PATH "efirma-pkcs11/efirma-pkcs11.conf"

/* ------------------------------------------------------------ switches */

bool ef_conf_truthy(struct ef_conf_span v, bool *value)
{
	if (ef_conf_span_eq(v, "1") || ef_conf_span_eq(v, "true") || ef_conf_span_eq(v, "yes") || ef_conf_span_eq(v, "on")) {
		*value = true;
		return true;
	}
	if (ef_conf_span_eq(v, "0") || ef_conf_span_eq(v, "false") || ef_conf_span_eq(v, "no") || ef_conf_span_eq(v, "off")) {
		*value = false;
		return true;
	}
	return false;
}

bool *ef_conf_module_switch(struct ef_config *cfg, struct ef_conf_span key)
{
	if (ef_conf_span_eq(key, "debug"))
		return &cfg->debug;
	if (ef_conf_span_eq(key, "allow-pkcs1-decrypt"))
		return &cfg->allow_pkcs1_decrypt;
	if (ef_conf_span_eq(key, "secure-heap"))
		return &cfg->secure_heap;
	return NULL;
}

/* ------------------------------------------------------------- storage */

CK_RV ef_conf_push_str(char ***arr, size_t *n, char *s)
{
	char **grown;

	if (*n >= SIZE_MAX / sizeof(char *) - 1)
		return EF_FAIL(CKR_HOST_MEMORY);
	grown = realloc(*arr, (*n + 1) * sizeof(char *));
	if (grown == NULL)
		return EF_FAIL(CKR_HOST_MEMORY);
	grown[(*n)++] = s;
	*arr = grown;
	return CKR_OK;
}

void ef_conf_pending_reset(struct ef_conf_pending *b)
{
	free(b->cert);
	free(b->key);
	free(b->label);
	memset(b, 0, sizeof(*b));
}

CK_RV ef_conf_pending_close(struct ef_conf_pending *b, const char *origin, struct ef_config *cfg)
{
	struct ef_bundle_conf *grown;

	if (!b->open)
		return CKR_OK;
	if (b->cert == NULL || b->key == NULL) {
		if (b->line != 0)
			ef_log_warn("%s:%u: [bundle] without %s, skipped", origin, b->line,
				    b->cert == NULL ? "cert" : "key");
		else
			ef_log_warn("%s: bundle without %s, skipped", origin,
				    b->cert == NULL ? "cert=" : "key=");
		ef_conf_pending_reset(b);
		return CKR_OK;
	}
	if (cfg->n_bundles >= SIZE_MAX / sizeof(*grown) - 1)
		return EF_FAIL(CKR_HOST_MEMORY);
	grown = realloc(cfg->bundles, (cfg->n_bundles + 1) * sizeof(*grown));
	if (grown == NULL)
		return EF_FAIL(CKR_HOST_MEMORY);
	cfg->bundles = grown;
	grown[cfg->n_bundles].cert = b->cert;
	grown[cfg->n_bundles].key = b->key;
	grown[cfg->n_bundles].label = b->label;
	cfg->n_bundles++;
	memset(b, 0, sizeof(*b));
	return CKR_OK;
}

/* ---------------------------------------------------------------- paths */

char *ef_conf_join(const char *a, size_t alen, const char *b, size_t blen)
{
	bool slash = alen > 0 && a[alen - 1] != '/';
	char *out;

	if (alen > SIZE_MAX - blen - 2)
		return NULL;
	out = malloc(alen + slash + blen + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, a, alen);
	if (slash)
		out[alen] = '/';
	memcpy(out + alen + slash, b, blen);
	out[alen + slash + blen] = '\0';
	return out;
}

/* The path a value names: "~/" is the home directory (doc/DESIGN.md §5)
 * and a relative path is anchored at base_dir (the configuration file's
 * folder), so a file and the bundles beside it can move together.
 * In an AT_SECURE process, a path that would depend on the invoking user
 * (its home, its working directory) is not used: CKR_OK with *path NULL,
 * for the caller to warn. */
CK_RV ef_conf_resolve_path(struct ef_conf_span v, const char *base_dir, char **path)
{
	*path = NULL;
	if (ef_env_secure() &&
	    ((v.len > 0 && v.p[0] == '~') ||
	     (!(v.len > 0 && v.p[0] == '/') && (base_dir == NULL || base_dir[0] != '/'))))
		return CKR_OK;
	if (v.len >= 1 && v.p[0] == '~' && (v.len == 1 || v.p[1] == '/')) {
		/* Not in an AT_SECURE process: returned above. */
		const char *home = ef_os_home();

		if (home != NULL) {
			if (v.len <= 2)     /* "~" or "~/" */
				*path = strdup(home);
			else
				*path = ef_conf_join(home, strlen(home), v.p + 2, v.len - 2);
			return *path ? CKR_OK : EF_FAIL(CKR_HOST_MEMORY);
		}
		/* No usable home: the path stays as written (and will simply
		 * not be found), rather than guessing another folder. */
	}
	if ((v.len > 0 && v.p[0] == '/') || base_dir == NULL || base_dir[0] == '\0')
		*path = strndup(v.p, v.len);
	else
		*path = ef_conf_join(base_dir, strlen(base_dir), v.p, v.len);
	return *path ? CKR_OK : EF_FAIL(CKR_HOST_MEMORY);
}

void ef_conf_warn_unsafe_path(const char *origin, unsigned lineno)
{
	if (lineno != 0)
		ef_log_warn("%s:%u: a set-user-ID program takes only absolute paths, "
			    "line ignored", origin, lineno);
	else
		ef_log_warn("%s: a set-user-ID program takes only absolute paths, "
			    "word ignored", origin);
}

/* ----------------------------------------------------------- removable */

/* More would make a list that programs show in full for nothing. */
#define EF_MAX_EMPTY_SLOTS 16

static void warn_value(const char *origin, unsigned lineno, const char *what, const char *takes)
{
	if (lineno != 0)
		ef_log_warn("%s:%u: %s takes %s, line ignored", origin, lineno, what, takes);
	else
		ef_log_warn("%s: %s takes %s, word ignored", origin, what, takes);
}

CK_RV ef_conf_removable(struct ef_config *cfg, const char *what, struct ef_conf_span value,
			const char *base_dir, const char *origin, unsigned lineno)
{
	bool on;
	char *path = NULL;
	CK_RV rv;

	if (strcmp(what, "search") == 0) {
		if (!ef_conf_truthy(value, &on))
			warn_value(origin, lineno, what, "yes or no");
		else if (!on)
			cfg->removable_off = true;
		else
			cfg->removable_on = true;
		return CKR_OK;
	}
	if (strcmp(what, "empty-slots") == 0) {
		char digits[4] = { 0 };
		char *end;
		long n = -1;
		if (value.len > 0 && value.len < sizeof(digits)) {
			memcpy(digits, value.p, value.len);
			n = strtol(digits, &end, 10);
			if (*end || digits[0] == '-' || digits[0] == '+')
				n = -1;
		}
		if (n < 0 || n > EF_MAX_EMPTY_SLOTS) {
			warn_value(origin, lineno, what, "a number from 0 to 16");
		} else {
			cfg->empty_slots = (unsigned)n;
			cfg->empty_slots_given = true;
		}
		return CKR_OK;
	}
	if (value.len == 0) {
		warn_value(origin, lineno, what, "a folder");
		return CKR_OK;
	}
	rv = ef_conf_resolve_path(value, base_dir, &path);
	if (rv != CKR_OK)
		return rv;
	if (!path) {
		ef_conf_warn_unsafe_path(origin, lineno);
		return CKR_OK;
	}
	rv = ef_conf_push_str(&cfg->removable_roots, &cfg->n_removable_roots, path);
	if (rv != CKR_OK)
		free(path);
	return rv;
}

/* ---------------------------------------------------------------- load */

void ef_config_free(struct ef_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_bundles; i++) {
		free(cfg->bundles[i].cert);
		free(cfg->bundles[i].key);
		free(cfg->bundles[i].label);
	}
	free(cfg->bundles);
	for (size_t i = 0; i < cfg->n_dirs; i++)
		free(cfg->dirs[i]);
	free(cfg->dirs);
	for (size_t i = 0; i < cfg->n_ca_paths; i++)
		free(cfg->ca_paths[i]);
	free(cfg->ca_paths);
	for (size_t i = 0; i < cfg->n_removable_roots; i++)
		free(cfg->removable_roots[i]);
	free(cfg->removable_roots);
	free(cfg->origin);
	memset(cfg, 0, sizeof(*cfg));
}

static bool file_exists(const char *path)
{
	return ef_os_path_kind(path) != EF_OS_NONE;
}

/* Parses one file as the configuration source and records it. */
static CK_RV load_file(const char *path, struct ef_config *cfg)
{
	CK_RV rv;

	cfg->origin = strdup(path);
	if (cfg->origin == NULL)
		return EF_FAIL(CKR_HOST_MEMORY);
	rv = ef_config_parse_file(path, cfg);
	return rv;
}

/* EF_CONF_USER_PATH in the user's configuration folder (platform.h). */
static CK_RV user_conf_path(char **path)
{
	char *base = NULL;

	*path = NULL;
	if (ef_env_secure())
		return CKR_OK;
	if (!ef_os_user_config_dir(&base))
		return EF_FAIL(CKR_HOST_MEMORY);
	if (base == NULL)
		return CKR_OK;
	*path = ef_conf_join(base, strlen(base), EF_CONF_USER_PATH, strlen(EF_CONF_USER_PATH));
	free(base);
	return *path ? CKR_OK : EF_FAIL(CKR_HOST_MEMORY);
}

CK_RV ef_config_user_file(char **path)
{
	const char *named = ef_env_get("EFIRMA_PKCS11_CONF");

	if (named != NULL && named[0] != '\0') {
		*path = strdup(named);
		return *path ? CKR_OK : EF_FAIL(CKR_HOST_MEMORY);
	}
	return user_conf_path(path);
}

CK_RV ef_config_load(const char *reserved, const char *sysconf_path, struct ef_config *cfg)
{
	struct ef_config from_reserved;
	const char *named;
	char *user = NULL;
	bool source = false;
	CK_RV rv;

	if (cfg == NULL)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	memset(cfg, 0, sizeof(*cfg));
	memset(&from_reserved, 0, sizeof(from_reserved));

	/* 1. pReserved, when it names any bundle source.  Its ca= words and
	 * switches (debug=, allow-pkcs1-decrypt=, secure-heap=) count even
	 * when the bundles come from a file. */
	if (reserved != NULL) {
		rv = ef_conf_parse_reserved(reserved, &from_reserved, &source);
		if (rv != CKR_OK)
			goto out;
		if (source) {
			/* A program that names its bundles gets those: removable
			 * volumes only when it also asks for them. */
			if (!from_reserved.removable_on && !from_reserved.n_removable_roots)
				from_reserved.removable_off = true;
			*cfg = from_reserved;
			memset(&from_reserved, 0, sizeof(from_reserved));
			cfg->origin = strdup("pReserved");
			rv = cfg->origin ? CKR_OK : EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		cfg->debug = from_reserved.debug;
		cfg->allow_pkcs1_decrypt = from_reserved.allow_pkcs1_decrypt;
		cfg->secure_heap = from_reserved.secure_heap;
		cfg->ca_paths = from_reserved.ca_paths;
		cfg->n_ca_paths = from_reserved.n_ca_paths;
		from_reserved.ca_paths = NULL;
		from_reserved.n_ca_paths = 0;
		cfg->removable_off = from_reserved.removable_off;
		cfg->removable_roots = from_reserved.removable_roots;
		cfg->n_removable_roots = from_reserved.n_removable_roots;
		from_reserved.removable_roots = NULL;
		from_reserved.n_removable_roots = 0;
		cfg->empty_slots = from_reserved.empty_slots;
		cfg->empty_slots_given = from_reserved.empty_slots_given;
	}

	/* 2. EFIRMA_PKCS11_CONF: the user named a file, so a missing one is
	 * reported (by the parser) and does not fall through to files the
	 * user did not ask for. */
	named = ef_env_get("EFIRMA_PKCS11_CONF");
	if (named != NULL && named[0] != '\0') {
		rv = load_file(named, cfg);
		goto out;
	}

	/* 3. The user's file, 4. the system's. */
	rv = user_conf_path(&user);
	if (rv != CKR_OK)
		goto out;
	if (user != NULL && file_exists(user)) {
		rv = load_file(user, cfg);
		goto out;
	}
	if (sysconf_path != NULL && sysconf_path[0] != '\0' && file_exists(sysconf_path)) {
		rv = load_file(sysconf_path, cfg);
		goto out;
	}
	/* Nothing configured: no bundles, origin NULL. */
	rv = CKR_OK;
out:
	free(user);
	ef_config_free(&from_reserved);
	if (rv != CKR_OK)
		ef_config_free(cfg);
	return rv;
}
