/*
 * pinentry.c - the password dialog of the native host, through GnuPG's
 * pinentry and its Assuan protocol (the way Web eID's native application
 * owns its PIN dialog: the password never passes through the browser).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * [Assuan] lines of at most 1000 bytes; the server greets with "OK";
 * every command is answered by "OK" or "ERR code text", after "D" data
 * lines (percent-escaped) and "S"/"#" lines a client may ignore.  pinentry
 * answers GETPIN with "D password" then "OK", and a cancel with
 * GPG_ERR_CANCELED (99) from source pinentry (5): "ERR 83886179".
 */
#include "pinentry.h"
#include "file.h"
#include "pin.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define PE_LINE_MAX 1002     /* 1000 bytes, then the line feed */
#define PE_PIN_MAX 1024
#define GPG_ERR_CANCELED 99

static char *find_program(void)
{
	static const char *const names[] = {
		"pinentry-gnome3", "pinentry-gtk-2", "pinentry-gtk2", "pinentry-qt",
		"pinentry-qt5", "pinentry", "pinentry-curses",
	};
	const char *env = getenv("EFIRMA_PINENTRY"), *path = getenv("PATH");

	if (env != NULL && env[0] != '\0')
		return strdup(env);
	if (path == NULL || path[0] == '\0')
		path = "/usr/bin:/bin";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *dir = path;
		while (*dir) {
			size_t n = strcspn(dir, ":");
			char *f = NULL;
			if (n > 0 && asprintf(&f, "%.*s/%s", (int)n, dir, names[i]) >= 0) {
				if (access(f, X_OK) == 0)
					return f;
				free(f);
			}
			dir += n + (dir[n] == ':');
		}
	}
	return NULL;
}

/* One line into line (NUL-terminated, line feed removed).  The caller
 * wipes it: a "D" line holds the password. */
static bool read_line(struct ef_pinentry *pe, char *line)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(pe->from, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1 || n == PE_LINE_MAX - 1)
			return false;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return true;
}

/* "CMD arg\n" with the argument percent-escaped as Assuan requires; text
 * from a certificate or the browser can never start a second command. */
static bool send_cmd(struct ef_pinentry *pe, const char *cmd, const char *arg)
{
	char buf[PE_LINE_MAX];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", cmd);

	if (arg != NULL) {
		buf[n++] = ' ';
		for (const unsigned char *p = (const unsigned char *)arg; *p; p++) {
			if (n + 4 >= sizeof(buf) - 1)
				break;   /* a description is cut, never a command */
			if (*p == '%' || *p < 0x20)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%%%02X", *p);
			else
				buf[n++] = (char)*p;
		}
	}
	buf[n++] = '\n';
	return ef_file_write_all(pe->to, buf, n);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads to the answer of a command: OK, or ERR (cancel or failure).  With
 * pin, the data lines are percent-decoded into it. */
static enum ef_pe_status answer(struct ef_pinentry *pe, unsigned char *pin, size_t *pin_len)
{
	char line[PE_LINE_MAX];
	enum ef_pe_status st = EF_PE_ERROR;

	for (;;) {
		if (!read_line(pe, line))
			break;
		if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
			st = EF_PE_OK;
			break;
		}
		if (strncmp(line, "ERR ", 4) == 0) {
			unsigned long code = strtoul(line + 4, NULL, 10);
			st = (code & 0xFFFF) == GPG_ERR_CANCELED ? EF_PE_CANCEL : EF_PE_ERROR;
			break;
		}
		if (strncmp(line, "D ", 2) == 0 && pin != NULL) {
			for (const char *p = line + 2; *p; p++) {
				int c = (unsigned char)*p;
				if (c == '%') {
					int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
					if (lo < 0)
						goto out;
					c = hi * 16 + lo;
					p += 2;
				}
				if (*pin_len == PE_PIN_MAX)
					goto out;
				pin[(*pin_len)++] = (unsigned char)c;
			}
			continue;
		}
		/* "S" status, "#" comments: nothing we need.  Anything
		 * else (an INQUIRE) is not what pinentry says. */
		if (line[0] != 'S' && line[0] != '#')
			break;
	}
out:
	OPENSSL_cleanse(line, sizeof(line));
	return st;
}

enum ef_pe_status ef_pinentry_open(struct ef_pinentry *pe)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char *prog = find_program();
	const char *tty = getenv("GPG_TTY"), *term = getenv("TERM");
	char *opt = NULL;

	pe->pid = -1;
	pe->to = pe->from = -1;
	if (prog == NULL)
		return EF_PE_NONE;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		goto fail;
	pe->pid = fork();
	if (pe->pid < 0)
		goto fail;
	if (pe->pid == 0) {
		/* Its standard input and output are our pipes, never the
		 * browser's: those carry the protocol. */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	pe->to = in[1];
	pe->from = out[0];
	free(prog);
	if (answer(pe, NULL, NULL) != EF_PE_OK) {
		ef_pinentry_close(pe);
		return EF_PE_ERROR;
	}
	/* pinentry-curses needs the terminal: the one GnuPG's users name. */
	if (tty != NULL && tty[0] != '\0') {
		if (asprintf(&opt, "ttyname=%s", tty) >= 0) {
			send_cmd(pe, "OPTION", opt);
			answer(pe, NULL, NULL);
			free(opt);
		}
		if (term != NULL && asprintf(&opt, "ttytype=%s", term) >= 0) {
			send_cmd(pe, "OPTION", opt);
			answer(pe, NULL, NULL);
			free(opt);
		}
	}
	return EF_PE_OK;
fail:
	free(prog);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	pe->pid = -1;
	return EF_PE_ERROR;
}

enum ef_pe_status ef_pinentry_ask(struct ef_pinentry *pe, const char *title, const char *desc,
				  const char *prompt, const char *error, unsigned char **pin,
				  size_t *pin_len)
{
	const char *cmds[][2] = {
		{ "SETTITLE", title }, { "SETDESC", desc }, { "SETPROMPT", prompt },
		{ "SETERROR", error },
	};
	unsigned char *buf;
	enum ef_pe_status st;

	*pin = NULL;
	*pin_len = 0;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i][1] == NULL)
			continue;
		if (!send_cmd(pe, cmds[i][0], cmds[i][1]))
			return EF_PE_ERROR;
		st = answer(pe, NULL, NULL);
		if (st != EF_PE_OK)
			return st;
	}
	buf = malloc(PE_PIN_MAX);
	if (buf == NULL)
		return EF_PE_ERROR;
	if (!send_cmd(pe, "GETPIN", NULL)) {
		free(buf);
		return EF_PE_ERROR;
	}
	st = answer(pe, buf, pin_len);
	if (st != EF_PE_OK) {
		ef_pin_free(buf, PE_PIN_MAX);
		*pin_len = 0;
		return st;
	}
	*pin = buf;
	return EF_PE_OK;
}

void ef_pinentry_close(struct ef_pinentry *pe)
{
	if (pe->to >= 0) {
		if (send_cmd(pe, "BYE", NULL) && pe->from >= 0)
			answer(pe, NULL, NULL);
		close(pe->to);
	}
	if (pe->from >= 0)
		close(pe->from);
	if (pe->pid > 0)
		while (waitpid(pe->pid, NULL, 0) < 0 && errno == EINTR)
			;
	pe->pid = -1;
	pe->to = pe->from = -1;
}
