/*
 * util.c - small helpers of efirma-tool and efirma-portal-verify:
 * messages, whole-file reads and replacements, base64, dates.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "tool.h"
#include "sat.h"
#include "file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

extern char *program_invocation_short_name;

static void vmsg(const char *what, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	if (what)
		fprintf(stderr, "%s", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ef_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

void ef_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* TRANSLATORS: prefix of a warning line */
	vmsg(_("warning: "), fmt, ap);
	va_end(ap);
}

const char *ef_shown(const char *s)
{
	/* A ring, so one printf can show several values; a command line
	 * tool keeps the last few until it exits. */
	static char *ring[16];
	static size_t next;
	size_t len, need;
	char *out;

	if (s == NULL)
		return "";
	len = strlen(s);
	need = ef_escape_text(s, len, NULL, 0) + 1;
	out = realloc(ring[next], need);
	if (out == NULL)
		return "?";
	ef_escape_text(s, len, out, need);
	ring[next] = out;
	next = (next + 1) % (sizeof(ring) / sizeof(ring[0]));
	return out;
}

int ef_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = EF_EXIT_ERROR;

	*data = NULL;
	*len = 0;
	if (f == NULL) {
		ef_err(_("cannot open %s: %s"), path, strerror(errno));
		return errno == ENOENT ? EF_EXIT_NOTFOUND : EF_EXIT_ERROR;
	}
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			unsigned char *nb;
			if (cap >= max + 1) {
				ef_err(_("%s is too big"), path);
				rc = EF_EXIT_REFUSED;
				goto out;
			}
			nb = realloc(buf, ncap);
			if (nb == NULL) {
				ef_err(_("out of memory"));
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		ef_err(_("cannot read %s: %s"), path, strerror(errno));
		goto out;
	}
	if (n > max) {
		ef_err(_("%s is too big"), path);
		rc = EF_EXIT_REFUSED;
		goto out;
	}
	*data = buf;
	*len = n;
	buf = NULL;
	rc = EF_EXIT_OK;
out:
	free(buf);
	fclose(f);
	return rc;
}

int ef_replace_file(const char *path, const void *data, size_t len, mode_t mode)
{
	struct ef_atomic a;
	int rc = EF_EXIT_ERROR;

	if (!ef_atomic_begin(&a, path) || fchmod(a.fd, mode) != 0) {
		if (!a.tmp)
			ef_err(_("out of memory"));
		else
			ef_err(_("cannot create %s: %s"), a.tmp, strerror(errno));
	} else if (!ef_file_write_all(a.fd, data, len) || !ef_atomic_commit(&a, NULL, NULL)) {
		if (a.failed == EF_ATOMIC_RENAME)
			ef_err(_("cannot replace %s: %s"), path, strerror(errno));
		else
			ef_err(_("cannot write %s: %s"), a.tmp, strerror(errno));
	} else {
		rc = EF_EXIT_OK;
	}
	ef_atomic_end(&a);
	return rc;
}

char *ef_base64(const unsigned char *in, size_t len)
{
	if (len > (size_t)1 << 28)
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Written out rather than EVP_DecodeBlock, which silently accepts some
 * malformed input and cannot tell the padding from real zero bytes. */
bool ef_unbase64(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = malloc(in_len / 4 * 3 + 3);
	size_t o = 0, pad = 0;
	unsigned acc = 0, nbits = 0, nchars = 0;

	*out = NULL;
	*out_len = 0;
	if (buf == NULL)
		return false;
	for (size_t i = 0; i < in_len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			nchars++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad > 0)
			goto bad;
		nchars++;
		acc = (acc << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			buf[o++] = (unsigned char)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
	}
	if (nchars % 4 != 0 || pad > 2 || acc != 0)
		goto bad;
	*out = buf;
	*out_len = o;
	return true;
bad:
	free(buf);
	return false;
}

void ef_format_time(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, size, "%lld", t);
}
