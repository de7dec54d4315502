/*
 * config_file.c - what a configuration file's lines mean (config.h): the
 * sections [module], [bundle], [directory], [ca], [removable] and their keys, over the
 * line grammar of config_walk.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The syntax is a fixed interface: other programs and the documentation
 * rely on it.  A line that makes no sense is one warning naming file:line
 * and the rest still loads; only an allocation failure is an error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "file.h"
#include "log.h"

/* Configuration files are a few lines; anything bigger is not one (and a
 * path pointing at a device or a huge file must not stall C_Initialize). */
#define EF_CONF_MAX_SIZE (1024 * 1024)

/* --------------------------------------------------------- file syntax */

enum section { SEC_TOP, SEC_MODULE, SEC_BUNDLE, SEC_DIRECTORY, SEC_CA, SEC_REMOVABLE, SEC_UNKNOWN };

struct file_state {
	const char *origin;
	const char *base_dir;
	enum section sec;
	struct ef_conf_pending bundle;
	struct ef_config *cfg;
};

static CK_RV file_section(struct file_state *st, const struct ef_conf_line *l)
{
	struct ef_conf_span name = l->name;
	CK_RV rv;

	/* Whatever section comes next, the bundle being read is complete. */
	rv = ef_conf_pending_close(&st->bundle, st->origin, st->cfg);
	if (rv != CKR_OK)
		return rv;
	st->sec = SEC_UNKNOWN;
	if (l->problem) {
		ef_log_warn("%s:%u: %s", st->origin, l->lineno, l->problem);
		return CKR_OK;
	}
	if (ef_conf_span_eq(name, "bundle")) {
		st->sec = SEC_BUNDLE;
		st->bundle.open = true;
		st->bundle.line = l->lineno;
	} else if (ef_conf_span_eq(name, "directory")) {
		st->sec = SEC_DIRECTORY;
	} else if (ef_conf_span_eq(name, "ca")) {
		st->sec = SEC_CA;
	} else if (ef_conf_span_eq(name, "removable")) {
		st->sec = SEC_REMOVABLE;
	} else if (ef_conf_span_eq(name, "module")) {
		st->sec = SEC_MODULE;
	} else if (ef_conf_printable(name)) {
		ef_log_warn("%s:%u: unknown section [%.*s], ignored", st->origin, l->lineno,
			    (int)name.len, name.p);
	} else {
		ef_log_warn("%s:%u: unknown section, ignored", st->origin, l->lineno);
	}
	return CKR_OK;
}

/* Stores a path or text value in *slot, warning when it replaces one. */
static CK_RV set_slot(char **slot, char *value, const char *origin, unsigned lineno,
		      const char *key)
{
	if (*slot != NULL)
		ef_log_warn("%s:%u: %s given twice in one [bundle], the last one counts",
			    origin, lineno, key);
	free(*slot);
	*slot = value;
	return CKR_OK;
}

/* The path a file's value names; *path NULL (after a warning) when the
 * line is not used. */
static CK_RV file_path(const struct file_state *st, struct ef_conf_span value, unsigned lineno,
		       char **path)
{
	CK_RV rv;

	*path = NULL;
	if (value.len == 0) {
		ef_log_warn("%s:%u: empty path, line ignored", st->origin, lineno);
		return CKR_OK;
	}
	rv = ef_conf_resolve_path(value, st->base_dir, path);
	if (rv == CKR_OK && *path == NULL)
		ef_conf_warn_unsafe_path(st->origin, lineno);
	return rv;
}

static CK_RV file_assignment(struct file_state *st, const struct ef_conf_line *l)
{
	struct ef_conf_span key = l->key, value = l->value;
	unsigned lineno = l->lineno;
	char *s = NULL;
	bool flag, *sw;
	CK_RV rv = CKR_OK;

	if (l->problem) {
		ef_log_warn("%s:%u: %s", st->origin, lineno, l->problem);
		return CKR_OK;
	}
	if (st->sec == SEC_UNKNOWN)
		goto out;           /* already warned at the section header */
	if (memchr(value.p, '\0', value.len) != NULL) {
		ef_log_warn("%s:%u: NUL byte in the value, line ignored", st->origin, lineno);
		goto out;
	}

	switch (st->sec) {
	case SEC_TOP:
	case SEC_MODULE:
		if ((sw = ef_conf_module_switch(st->cfg, key)) != NULL) {
			if (!ef_conf_truthy(value, &flag))
				ef_log_warn("%s:%u: %.*s takes yes or no", st->origin, lineno,
					    (int)key.len, key.p);
			else if (flag)
				*sw = true;
			goto out;
		}
		break;
	case SEC_BUNDLE:
		if (ef_conf_span_eq(key, "cert") || ef_conf_span_eq(key, "key")) {
			rv = file_path(st, value, lineno, &s);
			if (rv != CKR_OK || s == NULL)
				goto out;
			rv = set_slot(ef_conf_span_eq(key, "cert") ? &st->bundle.cert : &st->bundle.key,
				      s, st->origin, lineno, ef_conf_span_eq(key, "cert") ? "cert" : "key");
			goto out;
		}
		if (ef_conf_span_eq(key, "label")) {
			s = strndup(value.p, value.len);
			if (s == NULL) {
				rv = EF_FAIL(CKR_HOST_MEMORY);
				goto out;
			}
			rv = set_slot(&st->bundle.label, s, st->origin, lineno, "label");
			goto out;
		}
		break;
	case SEC_DIRECTORY:
	case SEC_CA:
		if (ef_conf_span_eq(key, "path")) {
			rv = file_path(st, value, lineno, &s);
			if (rv != CKR_OK || s == NULL)
				goto out;
			if (st->sec == SEC_DIRECTORY)
				rv = ef_conf_push_str(&st->cfg->dirs, &st->cfg->n_dirs, s);
			else
				rv = ef_conf_push_str(&st->cfg->ca_paths, &st->cfg->n_ca_paths, s);
			if (rv != CKR_OK)
				free(s);
			goto out;
		}
		break;
	case SEC_REMOVABLE:
		for (const char *const *w =
			     (const char *const[]){ "search", "root", "empty-slots", NULL };
		     *w; w++)
			if (ef_conf_span_eq(key, *w)) {
				rv = ef_conf_removable(st->cfg, *w, value, st->base_dir, st->origin,
						       lineno);
				goto out;
			}
		break;
	case SEC_UNKNOWN:
		break;
	}
	if (ef_conf_printable(key))
		ef_log_warn("%s:%u: unknown key '%.*s', line ignored", st->origin, lineno,
			    (int)key.len, key.p);
	else
		ef_log_warn("%s:%u: unknown key, line ignored", st->origin, lineno);
out:
	return rv;
}

static CK_RV file_line(const struct ef_conf_line *l, void *arg)
{
	struct file_state *st = arg;

	if (l->kind == EF_CONF_SECTION)
		return file_section(st, l);
	if (l->kind == EF_CONF_ASSIGN)
		return file_assignment(st, l);
	return CKR_OK;
}

CK_RV ef_config_parse_text(const char *text, size_t len, const char *origin,
			   const char *base_dir, struct ef_config *cfg)
{
	struct file_state st;
	CK_RV rv;

	if (cfg == NULL)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	memset(&st, 0, sizeof(st));
	st.origin = origin != NULL ? origin : "(config)";
	st.base_dir = base_dir;
	st.sec = SEC_TOP;
	st.cfg = cfg;
	rv = ef_config_walk(text, len, file_line, &st);
	if (rv == CKR_OK)
		rv = ef_conf_pending_close(&st.bundle, st.origin, cfg);
	ef_conf_pending_reset(&st.bundle);
	return rv;
}

/* Reads the whole file; CKR_OK with *text NULL when it cannot be read (the
 * reason is logged). */
static CK_RV read_file(const char *path, char **text, size_t *len)
{
	unsigned char *buf = NULL;

	*text = NULL;
	*len = 0;
	if (ef_file_read(path, false, EF_CONF_MAX_SIZE, &ef_file_heap, &buf, len)) {
		*text = (char *)buf;
		return CKR_OK;
	}
	if (errno == ENOMEM)
		return EF_FAIL(CKR_HOST_MEMORY);
	if (errno == EINVAL)
		ef_log_warn("%s: not a regular file, ignored", path);
	else if (errno == EFBIG)
		ef_log_warn("%s: larger than %d bytes, ignored", path, EF_CONF_MAX_SIZE);
	else
		ef_log_warn("%s: cannot open: %s", path, strerror(errno));
	return CKR_OK;
}

/* Relative paths inside a file are relative to its folder: *base is it
 * (malloc'd), NULL for a file named without a folder. */
static CK_RV folder_of(const char *path, char **base)
{
	const char *slash = strrchr(path, '/');

	*base = NULL;
	if (slash == NULL)
		return CKR_OK;
	*base = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	return *base ? CKR_OK : EF_FAIL(CKR_HOST_MEMORY);
}

CK_RV ef_config_value_path(const char *conf, const char *value, size_t len, char **path)
{
	struct ef_conf_span v = { value, len };
	char *base = NULL;
	CK_RV rv = folder_of(conf, &base);

	*path = NULL;
	if (rv == CKR_OK)
		rv = ef_conf_resolve_path(v, base, path);
	free(base);
	return rv;
}

CK_RV ef_config_parse_file(const char *path, struct ef_config *cfg)
{
	char *text = NULL, *base = NULL;
	size_t len = 0;
	CK_RV rv;

	if (path == NULL || cfg == NULL)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	rv = read_file(path, &text, &len);
	if (rv != CKR_OK || text == NULL)
		return rv;
	rv = folder_of(path, &base);
	if (rv != CKR_OK)
		goto out;
	rv = ef_config_parse_text(text, len, path, base, cfg);
out:
	free(base);
	free(text);
	return rv;
}
