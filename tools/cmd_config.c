/*
 * cmd_config.c - "add" and "remove": the user's configuration file, the
 * one the module reads ($EFIRMA_PKCS11_CONF when set, else
 * $XDG_CONFIG_HOME/efirma-pkcs11/efirma-pkcs11.conf, else
 * ~/.config/efirma-pkcs11/efirma-pkcs11.conf).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The file is edited, not regenerated: comments and sections the tool did
 * not write are kept; a [bundle] section is added or dropped as a whole.
 */
#include "info.h"
#include "open_token.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define EF_CONF_MAX (1024 * 1024)

/* The file the module reads (module/config.c), minus pReserved and the
 * system file, which are not the user's to edit. */
static char *conf_path(void)
{
	char *path = NULL;

	return ef_config_user_file(&path) == CKR_OK ? path : NULL;
}

struct ef_section {
	size_t start, end;   /* byte range in the text, whole lines */
	bool bundle;
	char *cert;          /* resolved path of cert = */
	char *label;
};

static void sections_free(struct ef_section *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].cert);
		free(s[i].label);
	}
	free(s);
}

struct sections {
	const char *conf;
	struct ef_section *s;
	size_t n, cap;
};

static bool is_word(struct ef_conf_span w, const char *word)
{
	return w.len == strlen(word) && strncasecmp(w.p, word, w.len) == 0;
}

/* A path of the file as the module reads it, then made canonical when it
 * exists (the user may name the same file by another path). */
static CK_RV cert_path(const char *conf, struct ef_conf_span v, char **out)
{
	char buf[PATH_MAX], *path = NULL;
	CK_RV rv = ef_config_value_path(conf, v.p, v.len, &path);

	*out = path;
	if (path != NULL && realpath(path, buf) != NULL) {
		*out = strdup(buf);
		free(path);
		if (*out == NULL)
			return CKR_HOST_MEMORY;
	}
	return rv;
}

/* What each [bundle] section means to the module: the last cert = and
 * label = count, a line the module ignores is ignored. */
static CK_RV section_line(const struct ef_conf_line *l, void *arg)
{
	struct sections *w = arg;
	struct ef_section *cur = &w->s[w->n - 1];
	char *v = NULL;
	CK_RV rv = CKR_OK;

	if (l->kind == EF_CONF_SECTION) {
		if (w->n == w->cap) {
			struct ef_section *grown = realloc(w->s, 2 * w->cap * sizeof(*grown));
			if (grown == NULL)
				return CKR_HOST_MEMORY;
			w->s = grown;
			w->cap *= 2;
		}
		w->s[w->n - 1].end = l->start;
		cur = &w->s[w->n++];
		memset(cur, 0, sizeof(*cur));
		cur->start = l->start;
		cur->bundle = l->problem == NULL && is_word(l->name, "bundle");
		return CKR_OK;
	}
	if (l->kind != EF_CONF_ASSIGN || l->problem != NULL || !cur->bundle ||
	    memchr(l->value.p, '\0', l->value.len) != NULL)
		return CKR_OK;
	if (is_word(l->key, "cert") && l->value.len > 0) {
		rv = cert_path(w->conf, l->value, &v);
		if (v != NULL) {
			free(cur->cert);
			cur->cert = v;
		}
	} else if (is_word(l->key, "label")) {
		if ((v = strndup(l->value.p, l->value.len)) == NULL)
			return CKR_HOST_MEMORY;
		free(cur->label);
		cur->label = v;
	}
	return rv;
}

/* Splits the text into sections; the lines before the first header are
 * section 0 (not a bundle). */
static bool sections(const char *text, const char *conf, struct ef_section **out, size_t *n)
{
	size_t len = strlen(text);
	struct sections w = { conf, calloc(8, sizeof(struct ef_section)), 1, 8 };

	*n = 0;
	if (w.s == NULL)
		return false;
	if (ef_config_walk(text, len, section_line, &w) != CKR_OK) {
		sections_free(w.s, w.n);
		return false;
	}
	w.s[w.n - 1].end = len;
	*out = w.s;
	*n = w.n;
	return true;
}

static int read_conf(const char *path, char **text)
{
	unsigned char *data;
	size_t len;
	int rc;
	struct stat st;
	*text = NULL;
	if (stat(path, &st) != 0 && errno == ENOENT) {
		*text = strdup("");
		return *text ? EF_EXIT_OK : EF_EXIT_ERROR;
	}
	rc = ef_read_file(path, EF_CONF_MAX, &data, &len);
	if (rc != EF_EXIT_OK)
		return rc;
	*text = strndup((char *)data, len);
	free(data);
	return *text ? EF_EXIT_OK : EF_EXIT_ERROR;
}

/* mkdir -p of the file's folder (private: it names the key files). */
static bool make_dirs(const char *path)
{
	char *copy = strdup(path);
	bool ok = copy != NULL;
	for (char *p = copy ? copy + 1 : NULL; ok && p && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			ok = false;
		*p = '/';
	}
	free(copy);
	return ok;
}

/* Write beside, then rename: the module never reads half a file. */
static int write_conf(const char *path, const char *text)
{
	if (!make_dirs(path)) {
		ef_err(_("cannot create the folder of %s: %s"), path, strerror(errno));
		return EF_EXIT_ERROR;
	}
	return ef_replace_file(path, text, strlen(text), 0600);
}

/* The text without the sections marked in drop[]. */
static char *without(const char *text, const struct ef_section *s, size_t n, const bool *drop)
{
	char *out = malloc(strlen(text) + 1);
	size_t o = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (drop[i])
			continue;
		memcpy(out + o, text + s[i].start, s[i].end - s[i].start);
		o += s[i].end - s[i].start;
	}
	out[o] = '\0';
	return out;
}

/* What the configuration syntax cannot carry: a value is one line. */
static bool expressible(const char *v)
{
	return strpbrk(v, "\n\r") == NULL;
}

/* A value between double quotes, with \" and \\ escaped, so no path or
 * label can end the value early and write lines of its own (config.h). */
static char *quoted(const char *v)
{
	char *out = malloc(2 * strlen(v) + 3), *o = out;
	if (out == NULL)
		return NULL;
	*o++ = '"';
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			*o++ = '\\';
		*o++ = *v;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

int ef_cmd_add(struct ef_opts *o)
{
	char cer[PATH_MAX], key[PATH_MAX];
	char *conf = NULL, *reserved = NULL, *text = NULL, *kept = NULL, *full = NULL;
	char *qcer = NULL, *qkey = NULL, *qlabel = NULL, *comment = NULL;
	struct ef_section *secs = NULL;
	size_t nsecs = 0;
	bool *drop = NULL;
	struct ef_certinfo ci;
	struct ef_use u;
	int rc;

	memset(&ci, 0, sizeof(ci));
	memset(&u, 0, sizeof(u));
	for (int i = 0; i < 2; i++) {
		if (realpath(o->argv[i], i ? key : cer) == NULL) {
			ef_err(_("cannot find %s: %s"), o->argv[i], strerror(errno));
			rc = EF_EXIT_NOTFOUND;
			goto out;
		}
	}
	if (!expressible(cer) || !expressible(key) || (o->label && !expressible(o->label))) {
		ef_err(_("paths and labels cannot contain line breaks"));
		rc = EF_EXIT_USAGE;
		goto out;
	}
	rc = ef_load_cert_file(cer, &ci);
	if (rc != EF_EXIT_OK)
		goto out;

	qcer = quoted(cer);
	qkey = quoted(key);
	qlabel = o->label ? quoted(o->label) : NULL;
	/* The holder's name comes from the certificate: in the comment it
	 * is shown escaped, so it cannot end the line. */
	if (qcer == NULL || qkey == NULL || (o->label && qlabel == NULL) ||
	    asprintf(&comment, "# %s %s, %s", ef_kind_name(ci.sat.kind), ef_shown(ci.sat.rfc),
		     ef_shown(ci.sat.holder)) < 0) {
		comment = NULL;
		ef_err(_("out of memory"));
		rc = EF_EXIT_ERROR;
		goto out;
	}
	/* The check goes through the module, loaded with this one bundle. */
	if (asprintf(&reserved, "cert=%s key=%s", qcer, qkey) < 0) {
		reserved = NULL;
		rc = EF_EXIT_ERROR;
		goto out;
	}
	rc = ef_use_open(&u, o, reserved, EF_USE_LOGIN);
	if (rc == EF_EXIT_REFUSED) {
		unsigned char *kd = NULL;
		size_t kl = 0;
		if (ef_read_file(key, 1024 * 1024, &kd, &kl) == EF_EXIT_OK &&
		    ef_looks_like_key(kd, kl))
			ef_err(_("%s does not belong to %s (RFC %s, número %s): "
				 "it is the key of another certificate"), key, cer, ef_shown(ci.sat.rfc),
			       ci.sat.numero);
		else
			ef_err(_("%s is not a private key file, or it is damaged"), key);
		/* An unencrypted key: these bytes are the key. */
		if (kd)
			OPENSSL_cleanse(kd, kl);
		free(kd);
	}
	if (rc == EF_EXIT_OK)
		rc = ef_prove_key(&u);
	if (rc != EF_EXIT_OK) {
		ef_err(_("nothing was added"));
		goto out;
	}

	conf = conf_path();
	if (conf == NULL) {
		ef_err(_("cannot tell where your configuration goes: HOME is not set"));
		rc = EF_EXIT_ERROR;
		goto out;
	}
	rc = read_conf(conf, &text);
	if (rc != EF_EXIT_OK)
		goto out;
	rc = EF_EXIT_ERROR;
	if (!sections(text, conf, &secs, &nsecs) || (drop = calloc(nsecs, sizeof(*drop))) == NULL)
		goto out;
	/* Adding the same certificate again replaces its entry. */
	for (size_t i = 0; i < nsecs; i++)
		drop[i] = secs[i].bundle && secs[i].cert && strcmp(secs[i].cert, cer) == 0;
	kept = without(text, secs, nsecs, drop);
	if (kept == NULL)
		goto out;
	if (asprintf(&full, "%s%s%s[bundle]\n%s\ncert = %s\nkey = %s\n%s%s%s",
		     kept, kept[0] && kept[strlen(kept) - 1] != '\n' ? "\n" : "",
		     kept[0] ? "\n" : "", comment, qcer, qkey, qlabel ? "label = " : "",
		     qlabel ? qlabel : "", qlabel ? "\n" : "") < 0) {
		full = NULL;
		goto out;
	}
	rc = write_conf(conf, full);
	if (rc != EF_EXIT_OK)
		goto out;
	printf(_("added %s %s (%s, número %s) to %s\n"), ef_kind_name(ci.sat.kind),
	       ef_shown(ci.sat.rfc), ef_shown(ci.sat.holder), ef_shown(ci.sat.numero), conf);
	ef_warn_validity(u.tok);
out:
	if (rc == EF_EXIT_ERROR && full == NULL && text != NULL)
		ef_err(_("out of memory"));
	ef_use_close(&u);
	ef_certinfo_clear(&ci);
	sections_free(secs, nsecs);
	free(drop);
	free(conf);
	free(reserved);
	free(text);
	free(kept);
	free(full);
	free(qcer);
	free(qkey);
	free(qlabel);
	free(comment);
	return rc;
}

/* Does this [bundle] section name what the user asked to remove? */
static bool section_matches(const struct ef_section *s, const char *want, const char *want_path)
{
	unsigned char *data;
	size_t len;
	struct ef_certinfo ci;
	char def[96];
	bool hit = false;

	if (want_path && s->cert && strcmp(s->cert, want_path) == 0)
		return true;
	if (s->label && strcasecmp(s->label, want) == 0)
		return true;
	if (s->cert == NULL)
		return false;
	/* Quietly: a certificate that is gone or broken just does not match
	 * by RFC (it still matches by path or label above). */
	struct stat st;
	if (stat(s->cert, &st) != 0 || st.st_size > EF_CONF_MAX)
		return false;
	if (ef_read_file(s->cert, EF_CONF_MAX, &data, &len) != EF_EXIT_OK)
		return false;
	if (ef_certinfo_parse(data, len, &ci) == EF_CI_OK) {
		snprintf(def, sizeof(def), "%s %s", ef_kind_name(ci.sat.kind), ci.sat.rfc);
		hit = strcasecmp(ci.sat.rfc, want) == 0 || strcmp(ci.sat.numero, want) == 0 ||
		      strcasecmp(def, want) == 0;
	}
	ef_certinfo_clear(&ci);
	free(data);
	return hit;
}

int ef_cmd_remove(struct ef_opts *o)
{
	const char *want = o->argv[0];
	char buf[PATH_MAX], *conf = conf_path(), *text = NULL, *kept = NULL;
	const char *want_path = realpath(want, buf);
	struct ef_section *secs = NULL;
	size_t nsecs = 0, hits = 0;
	bool *drop = NULL;
	struct stat st;
	int rc = EF_EXIT_ERROR;

	if (conf == NULL) {
		ef_err(_("cannot tell where your configuration goes: HOME is not set"));
		goto out;
	}
	if (stat(conf, &st) != 0) {
		ef_err(_("there is no configuration file (%s): nothing to remove"), conf);
		rc = EF_EXIT_NOTFOUND;
		goto out;
	}
	rc = read_conf(conf, &text);
	if (rc != EF_EXIT_OK)
		goto out;
	rc = EF_EXIT_ERROR;
	if (!sections(text, conf, &secs, &nsecs) || (drop = calloc(nsecs, sizeof(*drop))) == NULL) {
		ef_err(_("out of memory"));
		goto out;
	}
	for (size_t i = 0; i < nsecs; i++) {
		drop[i] = secs[i].bundle && section_matches(&secs[i], want, want_path);
		hits += drop[i];
	}
	if (hits == 0) {
		ef_err(_("nothing in %s matches \"%s\""), conf, want);
		rc = EF_EXIT_NOTFOUND;
		goto out;
	}
	kept = without(text, secs, nsecs, drop);
	if (kept == NULL) {
		ef_err(_("out of memory"));
		goto out;
	}
	rc = write_conf(conf, kept);
	if (rc == EF_EXIT_OK)
		printf(ngettext("removed %zu entry from %s\n", "removed %zu entries from %s\n",
				(unsigned long)hits),
		       hits, conf);
out:
	sections_free(secs, nsecs);
	free(drop);
	free(conf);
	free(text);
	free(kept);
	return rc;
}
