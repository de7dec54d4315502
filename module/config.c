/*
 * config.c - where bundles come from (config.h, DESIGN.md section 5).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The syntax is a fixed interface: other programs and the documentation
 * rely on it.  Every input is untrusted text (this parser is fuzzed): any
 * byte, embedded NULs, endless lines, unterminated quotes.  A line that
 * makes no sense is one warning naming file:line and the rest still loads;
 * only an allocation failure is an error.
 *
 * Environment: the module can be loaded into set-user-ID programs (a PAM
 * module doing smart-card login, for one); there the invoking user must
 * not be able to choose which certificate and key the token offers, nor
 * read a trace of the privileged process.  So in an AT_SECURE process
 * (ef_config_secure) no environment variable is read (EFIRMA_PKCS11_CONF,
 * XDG_CONFIG_HOME, HOME, EFIRMA_PKCS11_DEBUG), and no path that depends on
 * the invoking user (one starting with "~", or relative to the working
 * directory) is used: only pReserved and the system file count, with
 * absolute paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "log.h"

/* Configuration files are a few lines; anything bigger is not one (and a
 * path pointing at a device or a huge file must not stall C_Initialize). */
#define EF_CONF_MAX_SIZE (1024 * 1024)

#define EF_CONF_USER_PATH "efirma-pkcs11/efirma-pkcs11.conf"

/* -1: ask the kernel; 0 or 1: what a unit test decided. */
static int secure_forced = -1;

void ef_config_force_secure(int on)
{
	secure_forced = on;
}

bool ef_config_secure(void)
{
	if (secure_forced >= 0)
		return secure_forced != 0;
	/* The kernel sets AT_SECURE when the program gained privileges at
	 * exec (set-user-ID, set-group-ID, file capabilities, an LSM
	 * transition): exactly when the environment belongs to someone
	 * less trusted than the process. */
	return getauxval(AT_SECURE) != 0;
}

static const char *env(const char *name)
{
	return ef_config_secure() ? NULL : getenv(name);
}

/* ---------------------------------------------------------------- text */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One character inside double quotes: \" is a quote and \\ a backslash;
 * any other backslash is itself (a Windows-style path keeps working).
 * Returns the bytes consumed (left >= 1). */
static size_t quoted_char(const char *p, size_t left, char *c)
{
	if (p[0] == '\\' && left >= 2 && (p[1] == '"' || p[1] == '\\')) {
		*c = p[1];
		return 2;
	}
	*c = p[0];
	return 1;
}

static struct ef_conf_span trim(struct ef_conf_span s)
{
	while (s.len > 0 && is_blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

static bool span_eq(struct ef_conf_span s, const char *word)
{
	size_t n = strlen(word);

	return s.len == n && strncasecmp(s.p, word, n) == 0;
}

/* For warnings: echo a key only when it is short printable ASCII, so a
 * garbage file cannot spray control characters over the user's terminal. */
static bool printable(struct ef_conf_span s)
{
	if (s.len == 0 || s.len > 40)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < 0x20 || s.p[i] > 0x7E)
			return false;
	}
	return true;
}

static bool truthy(struct ef_conf_span v, bool *value)
{
	if (span_eq(v, "1") || span_eq(v, "true") || span_eq(v, "yes") || span_eq(v, "on")) {
		*value = true;
		return true;
	}
	if (span_eq(v, "0") || span_eq(v, "false") || span_eq(v, "no") || span_eq(v, "off")) {
		*value = false;
		return true;
	}
	return false;
}

/* The [module] switches, in the file and as pReserved words.  Each turns
 * something on, never off, whichever source says so. */
static bool *module_switch(struct ef_config *cfg, struct ef_conf_span key)
{
	if (span_eq(key, "debug"))
		return &cfg->debug;
	if (span_eq(key, "allow-pkcs1-decrypt"))
		return &cfg->allow_pkcs1_decrypt;
	if (span_eq(key, "secure-heap"))
		return &cfg->secure_heap;
	return NULL;
}

/* ------------------------------------------------------------- storage */

static CK_RV push_str(char ***arr, size_t *n, char *s)
{
	char **grown;

	if (*n >= SIZE_MAX / sizeof(char *) - 1)
		return CKR_HOST_MEMORY;
	grown = realloc(*arr, (*n + 1) * sizeof(char *));
	if (grown == NULL)
		return CKR_HOST_MEMORY;
	grown[(*n)++] = s;
	*arr = grown;
	return CKR_OK;
}

/* A bundle being read: a [bundle] section or the cert=/key=/label= words
 * of pReserved.  The strings move into the configuration when complete. */
struct pending {
	bool open;
	char *cert, *key, *label;
	unsigned line;            /* the [bundle] line, for the warning */
};

static void pending_reset(struct pending *b)
{
	free(b->cert);
	free(b->key);
	free(b->label);
	memset(b, 0, sizeof(*b));
}

/* Ends the bundle being read: stored when cert and key are known, else
 * one warning and it is dropped. */
static CK_RV pending_close(struct pending *b, const char *origin, struct ef_config *cfg)
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
		pending_reset(b);
		return CKR_OK;
	}
	if (cfg->n_bundles >= SIZE_MAX / sizeof(*grown) - 1)
		return CKR_HOST_MEMORY;
	grown = realloc(cfg->bundles, (cfg->n_bundles + 1) * sizeof(*grown));
	if (grown == NULL)
		return CKR_HOST_MEMORY;
	cfg->bundles = grown;
	grown[cfg->n_bundles].cert = b->cert;
	grown[cfg->n_bundles].key = b->key;
	grown[cfg->n_bundles].label = b->label;
	cfg->n_bundles++;
	memset(b, 0, sizeof(*b));
	return CKR_OK;
}

/* ---------------------------------------------------------------- paths */

static char *join(const char *a, size_t alen, const char *b, size_t blen)
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

/* The path a value names: "~/" is the home directory (DESIGN.md section 5)
 * and a relative path is anchored at base_dir (the configuration file's
 * folder), so a file and the bundles beside it can move together.
 * In an AT_SECURE process, a path that would depend on the invoking user
 * (its home, its working directory) is not used: CKR_OK with *path NULL,
 * for the caller to warn. */
static CK_RV resolve_path(struct ef_conf_span v, const char *base_dir, char **path)
{
	*path = NULL;
	if (ef_config_secure() &&
	    ((v.len > 0 && v.p[0] == '~') ||
	     (!(v.len > 0 && v.p[0] == '/') && (base_dir == NULL || base_dir[0] != '/'))))
		return CKR_OK;
	if (v.len >= 1 && v.p[0] == '~' && (v.len == 1 || v.p[1] == '/')) {
		const char *home = env("HOME");

		if (home != NULL && home[0] == '/') {
			if (v.len <= 2)     /* "~" or "~/" */
				*path = strdup(home);
			else
				*path = join(home, strlen(home), v.p + 2, v.len - 2);
			return *path ? CKR_OK : CKR_HOST_MEMORY;
		}
		/* No usable home: the path stays as written (and will simply
		 * not be found), rather than guessing another folder. */
	}
	if ((v.len > 0 && v.p[0] == '/') || base_dir == NULL || base_dir[0] == '\0')
		*path = strndup(v.p, v.len);
	else
		*path = join(base_dir, strlen(base_dir), v.p, v.len);
	return *path ? CKR_OK : CKR_HOST_MEMORY;
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
	rest = trim(rest);
	if (rest.len > 0 && rest.p[0] != '#') {
		l->problem = "text after the section header, section ignored";
		return;
	}
	l->name.p = line.p + 1;
	l->name.len = (size_t)(close - line.p - 1);
	l->name = trim(l->name);
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
	l->key = trim(l->key);
	v.p = eq + 1;
	v.len = (size_t)(line.p + line.len - v.p);
	v = trim(v);
	if (l->key.len == 0) {
		l->problem = "missing key before '=', line ignored";
		return CKR_OK;
	}
	if (v.len > 0 && v.p[0] == '"') {
		struct ef_conf_span rest;
		size_t i = 1, n = 0;
		char *buf = malloc(v.len);

		if (buf == NULL)
			return CKR_HOST_MEMORY;
		while (i < v.len && v.p[i] != '"')
			i += quoted_char(v.p + i, v.len - i, &buf[n++]);
		if (i >= v.len) {
			l->problem = "unterminated quote, line ignored";
			free(buf);
			return CKR_OK;
		}
		rest.p = v.p + i + 1;
		rest.len = v.len - i - 1;
		rest = trim(rest);
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
	l->value = trim(v);
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
		line = trim(line);
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

/* --------------------------------------------------------- file syntax */

enum section { SEC_TOP, SEC_MODULE, SEC_BUNDLE, SEC_DIRECTORY, SEC_CA, SEC_UNKNOWN };

struct file_state {
	const char *origin;
	const char *base_dir;
	enum section sec;
	struct pending bundle;
	struct ef_config *cfg;
};

static CK_RV file_section(struct file_state *st, const struct ef_conf_line *l)
{
	struct ef_conf_span name = l->name;
	CK_RV rv;

	/* Whatever section comes next, the bundle being read is complete. */
	rv = pending_close(&st->bundle, st->origin, st->cfg);
	if (rv != CKR_OK)
		return rv;
	st->sec = SEC_UNKNOWN;
	if (l->problem) {
		ef_log_warn("%s:%u: %s", st->origin, l->lineno, l->problem);
		return CKR_OK;
	}
	if (span_eq(name, "bundle")) {
		st->sec = SEC_BUNDLE;
		st->bundle.open = true;
		st->bundle.line = l->lineno;
	} else if (span_eq(name, "directory")) {
		st->sec = SEC_DIRECTORY;
	} else if (span_eq(name, "ca")) {
		st->sec = SEC_CA;
	} else if (span_eq(name, "module")) {
		st->sec = SEC_MODULE;
	} else if (printable(name)) {
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

/* The warning for a path resolve_path would not use. */
static void warn_unsafe_path(const char *origin, unsigned lineno)
{
	if (lineno != 0)
		ef_log_warn("%s:%u: a set-user-ID program takes only absolute paths, "
			    "line ignored", origin, lineno);
	else
		ef_log_warn("%s: a set-user-ID program takes only absolute paths, "
			    "word ignored", origin);
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
	rv = resolve_path(value, st->base_dir, path);
	if (rv == CKR_OK && *path == NULL)
		warn_unsafe_path(st->origin, lineno);
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
		if ((sw = module_switch(st->cfg, key)) != NULL) {
			if (!truthy(value, &flag))
				ef_log_warn("%s:%u: %.*s takes yes or no", st->origin, lineno,
					    (int)key.len, key.p);
			else if (flag)
				*sw = true;
			goto out;
		}
		break;
	case SEC_BUNDLE:
		if (span_eq(key, "cert") || span_eq(key, "key")) {
			rv = file_path(st, value, lineno, &s);
			if (rv != CKR_OK || s == NULL)
				goto out;
			rv = set_slot(span_eq(key, "cert") ? &st->bundle.cert : &st->bundle.key,
				      s, st->origin, lineno, span_eq(key, "cert") ? "cert" : "key");
			goto out;
		}
		if (span_eq(key, "label")) {
			s = strndup(value.p, value.len);
			if (s == NULL) {
				rv = CKR_HOST_MEMORY;
				goto out;
			}
			rv = set_slot(&st->bundle.label, s, st->origin, lineno, "label");
			goto out;
		}
		break;
	case SEC_DIRECTORY:
	case SEC_CA:
		if (span_eq(key, "path")) {
			rv = file_path(st, value, lineno, &s);
			if (rv != CKR_OK || s == NULL)
				goto out;
			if (st->sec == SEC_DIRECTORY)
				rv = push_str(&st->cfg->dirs, &st->cfg->n_dirs, s);
			else
				rv = push_str(&st->cfg->ca_paths, &st->cfg->n_ca_paths, s);
			if (rv != CKR_OK)
				free(s);
			goto out;
		}
		break;
	case SEC_UNKNOWN:
		break;
	}
	if (printable(key))
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
		return CKR_ARGUMENTS_BAD;
	memset(&st, 0, sizeof(st));
	st.origin = origin != NULL ? origin : "(config)";
	st.base_dir = base_dir;
	st.sec = SEC_TOP;
	st.cfg = cfg;
	rv = ef_config_walk(text, len, file_line, &st);
	if (rv == CKR_OK)
		rv = pending_close(&st.bundle, st.origin, cfg);
	pending_reset(&st.bundle);
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
		return CKR_HOST_MEMORY;
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
	return *base ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV ef_config_value_path(const char *conf, const char *value, size_t len, char **path)
{
	struct ef_conf_span v = { value, len };
	char *base = NULL;
	CK_RV rv = folder_of(conf, &base);

	*path = NULL;
	if (rv == CKR_OK)
		rv = resolve_path(v, base, path);
	free(base);
	return rv;
}

CK_RV ef_config_parse_file(const char *path, struct ef_config *cfg)
{
	char *text = NULL, *base = NULL;
	size_t len = 0;
	CK_RV rv;

	if (path == NULL || cfg == NULL)
		return CKR_ARGUMENTS_BAD;
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
		*rv = CKR_HOST_MEMORY;
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
			p += quoted_char(p, p[1] != '\0' ? 2 : 1, &out[n++]);
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
static CK_RV reserved_word(const char *word, struct pending *b, bool *source,
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

	if ((sw = module_switch(cfg, key)) != NULL) {
		if (!truthy(value, &flag))
			ef_log_warn("%s: %.*s takes 1 or 0", origin, (int)key.len, key.p);
		else if (flag)
			*sw = true;
		return CKR_OK;
	}
	if (span_eq(key, "cert") || span_eq(key, "key") || span_eq(key, "label") ||
	    span_eq(key, "conf") || span_eq(key, "dir") || span_eq(key, "ca")) {
		if (value.len == 0) {
			ef_log_warn("%s: '%.*s=' without a value, ignored", origin,
				    (int)key.len, key.p);
			return CKR_OK;
		}
	}
	if (span_eq(key, "label")) {
		slot = &b->label;
		s = strdup(value.p);
		if (s == NULL)
			return CKR_HOST_MEMORY;
	} else if (span_eq(key, "cert") || span_eq(key, "key") || span_eq(key, "conf") ||
		   span_eq(key, "dir") || span_eq(key, "ca")) {
		/* pReserved has no file of its own: relative paths are
		 * relative to the application's working directory. */
		rv = resolve_path(value, NULL, &s);
		if (rv != CKR_OK)
			return rv;
		if (s == NULL) {
			warn_unsafe_path(origin, 0);
			return CKR_OK;
		}
	} else {
		goto unknown;
	}

	if (span_eq(key, "cert"))
		slot = &b->cert;
	else if (span_eq(key, "key"))
		slot = &b->key;
	if (slot != NULL) {
		/* Each cert= starts a bundle and the key=/label= that follow
		 * belong to it; in general a word whose place is already
		 * taken starts the next bundle, so "key=.. cert=.." works
		 * as well as "cert=.. key=..". */
		if (*slot != NULL) {
			rv = pending_close(b, origin, cfg);
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
	if (span_eq(key, "conf")) {
		*source = true;
		rv = ef_config_parse_file(s, cfg);
		free(s);
		return rv;
	}
	if (span_eq(key, "dir")) {
		*source = true;
		rv = push_str(&cfg->dirs, &cfg->n_dirs, s);
	} else {
		rv = push_str(&cfg->ca_paths, &cfg->n_ca_paths, s);
	}
	if (rv != CKR_OK)
		free(s);
	return rv;

unknown:
	if (printable(key))
		ef_log_warn("%s: unknown word '%.*s', ignored", origin, (int)key.len, key.p);
	else
		ef_log_warn("%s: unknown word, ignored", origin);
	return CKR_OK;
}

static CK_RV parse_reserved(const char *reserved, struct ef_config *cfg, bool *source)
{
	struct pending b;
	const char *p = reserved;
	char *word;
	bool unterminated;
	CK_RV rv = CKR_OK;

	*source = false;
	if (cfg == NULL)
		return CKR_ARGUMENTS_BAD;
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
	rv = pending_close(&b, "pReserved", cfg);
out:
	pending_reset(&b);
	return rv;
}

CK_RV ef_config_parse_reserved(const char *reserved, struct ef_config *cfg)
{
	bool source;

	return parse_reserved(reserved, cfg, &source);
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
	free(cfg->origin);
	memset(cfg, 0, sizeof(*cfg));
}

static bool file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Parses one file as the configuration source and records it. */
static CK_RV load_file(const char *path, struct ef_config *cfg)
{
	CK_RV rv;

	cfg->origin = strdup(path);
	if (cfg->origin == NULL)
		return CKR_HOST_MEMORY;
	rv = ef_config_parse_file(path, cfg);
	return rv;
}

/* $XDG_CONFIG_HOME/efirma-pkcs11/efirma-pkcs11.conf, or ~/.config/...
 * [XDG Base Directory Specification] "If $XDG_CONFIG_HOME is either not set
 * or empty, a default equal to $HOME/.config should be used." and "All
 * paths set in these environment variables must be absolute." */
static CK_RV user_conf_path(char **path)
{
	const char *xdg = env("XDG_CONFIG_HOME");
	const char *home;
	char *base;

	*path = NULL;
	if (xdg != NULL && xdg[0] == '/') {
		*path = join(xdg, strlen(xdg), EF_CONF_USER_PATH, strlen(EF_CONF_USER_PATH));
		return *path ? CKR_OK : CKR_HOST_MEMORY;
	}
	home = env("HOME");
	if (home == NULL || home[0] != '/')
		return CKR_OK;
	base = join(home, strlen(home), ".config", strlen(".config"));
	if (base == NULL)
		return CKR_HOST_MEMORY;
	*path = join(base, strlen(base), EF_CONF_USER_PATH, strlen(EF_CONF_USER_PATH));
	free(base);
	return *path ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV ef_config_user_file(char **path)
{
	const char *named = env("EFIRMA_PKCS11_CONF");

	if (named != NULL && named[0] != '\0') {
		*path = strdup(named);
		return *path ? CKR_OK : CKR_HOST_MEMORY;
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
		return CKR_ARGUMENTS_BAD;
	memset(cfg, 0, sizeof(*cfg));
	memset(&from_reserved, 0, sizeof(from_reserved));

	/* 1. pReserved, when it names any bundle source.  Its ca= words and
	 * switches (debug=, allow-pkcs1-decrypt=, secure-heap=) count even
	 * when the bundles come from a file. */
	if (reserved != NULL) {
		rv = parse_reserved(reserved, &from_reserved, &source);
		if (rv != CKR_OK)
			goto out;
		if (source) {
			*cfg = from_reserved;
			memset(&from_reserved, 0, sizeof(from_reserved));
			cfg->origin = strdup("pReserved");
			rv = cfg->origin ? CKR_OK : CKR_HOST_MEMORY;
			goto out;
		}
		cfg->debug = from_reserved.debug;
		cfg->allow_pkcs1_decrypt = from_reserved.allow_pkcs1_decrypt;
		cfg->secure_heap = from_reserved.secure_heap;
		cfg->ca_paths = from_reserved.ca_paths;
		cfg->n_ca_paths = from_reserved.n_ca_paths;
		from_reserved.ca_paths = NULL;
		from_reserved.n_ca_paths = 0;
	}

	/* 2. EFIRMA_PKCS11_CONF: the user named a file, so a missing one is
	 * reported (by the parser) and does not fall through to files the
	 * user did not ask for. */
	named = env("EFIRMA_PKCS11_CONF");
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
