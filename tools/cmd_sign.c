/*
 * cmd_sign.c - "sign" (CMS or raw PKCS#1) and "check" (the password opens
 * the key and the key is the certificate's).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "certinfo.h"
#include "cms.h"
#include "info.h"
#include "open_token.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* CMS content goes into an ASN1_STRING, whose length is an int. */
#define EF_SIGN_MAX ((size_t)1 << 30)

/* The mode of what is written from input: 0600, or the input's mode when
 * that is stricter (a signed document is as private as the document). */
static mode_t out_mode(const char *input)
{
	struct stat st;
	return stat(input, &st) == 0 ? (st.st_mode & 0600) : 0600;
}

/* Writes the output file.  Whoever can write to its folder may have put a
 * symbolic link (to ~/.bashrc, say) or a file there: without --force the
 * file must be new (O_EXCL, which refuses a symbolic link as well); with
 * --force a new file is renamed over the path, which replaces a link
 * instead of following it. */
static int write_out(const char *path, const unsigned char *data, size_t len, bool force,
		     mode_t mode)
{
	int fd;

	if (strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			ef_err(_("cannot write %s: %s"), path, strerror(errno));
			return EF_EXIT_ERROR;
		}
		return EF_EXIT_OK;
	}
	if (force)
		return ef_replace_file(path, data, len, mode);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		ef_err(_("%s exists already: nothing was written (--force replaces it)"), path);
		return EF_EXIT_REFUSED;
	}
	if (fd < 0) {
		ef_err(_("cannot create %s: %s"), path, strerror(errno));
		return EF_EXIT_ERROR;
	}
	bool written = ef_file_write_all(fd, data, len);
	if (close(fd) != 0 || !written) {
		ef_err(_("cannot write %s: %s"), path, strerror(errno));
		unlink(path);
		return EF_EXIT_ERROR;
	}
	return EF_EXIT_OK;
}

static int sign_raw(struct ef_use *u, const char *path, const char *out, bool force)
{
	FILE *in = fopen(path, "rb");
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *b64 = NULL, *line = NULL;
	int rc;

	if (in == NULL) {
		ef_err(_("cannot open %s: %s"), path, strerror(errno));
		return errno == ENOENT ? EF_EXIT_NOTFOUND : EF_EXIT_ERROR;
	}
	rc = ef_p11_sign_stream(&u->p, u->s, u->key, CKM_SHA256_RSA_PKCS, in, path, &sig,
				&sig_len);
	fclose(in);
	if (rc != EF_EXIT_OK)
		goto out;
	b64 = ef_base64(sig, sig_len);
	if (b64 == NULL || asprintf(&line, "%s\n", b64) < 0) {
		line = NULL;
		ef_err(_("out of memory"));
		rc = EF_EXIT_ERROR;
		goto out;
	}
	rc = write_out(out ? out : "-", (const unsigned char *)line, strlen(line), force,
		       out_mode(path));
	if (rc == EF_EXIT_OK && out && strcmp(out, "-") != 0)
		printf(_("signature (PKCS#1 v1.5, SHA-256, base64) written to %s\n"), out);
out:
	free(sig);
	free(b64);
	free(line);
	return rc;
}

static int sign_cms(struct ef_use *u, const char *path, const char *out, bool detached,
		    bool force)
{
	unsigned char *data = NULL, *der = NULL;
	size_t len = 0, der_len = 0;
	char *def = NULL;
	int rc = ef_read_file(path, EF_SIGN_MAX, &data, &len);
	if (rc != EF_EXIT_OK)
		return rc;
	rc = ef_cms_sign(&u->p, u->s, u->key, u->tok->cert, u->tok->cert_len, data, len,
			 detached, &der, &der_len);
	if (rc != EF_EXIT_OK)
		goto out;
	if (out == NULL) {
		/* .p7m: the document inside; .p7s: a detached signature
		 * (RFC 5751 section 3.2.1 file names). */
		if (asprintf(&def, "%s.%s", path, detached ? "p7s" : "p7m") < 0) {
			def = NULL;
			rc = EF_EXIT_ERROR;
			goto out;
		}
		out = def;
	}
	rc = write_out(out, der, der_len, force, out_mode(path));
	if (rc == EF_EXIT_OK && strcmp(out, "-") != 0)
		printf(detached ? _("detached CMS signature of %s written to %s\n")
				: _("CMS signature with %s inside written to %s\n"),
		       path, out);
out:
	free(data);
	free(der);
	free(def);
	return rc;
}

int ef_cmd_sign(struct ef_opts *o)
{
	struct ef_use u;
	int rc;
	if (o->raw && o->detached) {
		ef_err(_("--raw is a bare signature already; --detached applies to CMS"));
		return EF_EXIT_USAGE;
	}
	rc = ef_use_open(&u, o, NULL, EF_USE_LOGIN);
	if (rc == EF_EXIT_OK) {
		ef_warn_validity(u.tok);
		rc = o->raw ? sign_raw(&u, o->argv[0], o->out, o->force)
			    : sign_cms(&u, o->argv[0], o->out, o->detached, o->force);
	}
	ef_use_close(&u);
	return rc;
}

int ef_cmd_check(struct ef_opts *o)
{
	struct ef_use u;
	int rc = ef_use_open(&u, o, NULL, EF_USE_LOGIN);
	if (rc == EF_EXIT_OK)
		rc = ef_prove_key(&u);
	if (rc == EF_EXIT_OK) {
		printf(_("OK: the password opens the key of %s (número %s), "
			 "and the key belongs to its certificate\n"),
		       ef_shown(u.tok->label), ef_shown(u.tok->numero));
		ef_warn_validity(u.tok);
	}
	ef_use_close(&u);
	return rc;
}
