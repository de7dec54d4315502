/*
 * pin.c - getting the password: from the terminal without echo, from a
 * file (--pin-file) or from an environment variable (--pin-env).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The password lives in one malloc'd buffer that ef_pin_free wipes; it is
 * never printed, logged, or measured in a message.
 */
#include "pin.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define EF_PIN_MAX 1024

void ef_pin_free(unsigned char *pin, size_t len)
{
	if (pin == NULL)
		return;
	OPENSSL_cleanse(pin, len);
	free(pin);
}

/* Drops one trailing line end ("\n" or "\r\n"): files written by editors
 * and `echo` have one, and no SAT password ends with one. */
static void chomp(unsigned char *pin, size_t *len)
{
	if (*len > 0 && pin[*len - 1] == '\n')
		(*len)--;
	if (*len > 0 && pin[*len - 1] == '\r')
		(*len)--;
}

static int from_file(const char *path, unsigned char **pin, size_t *len)
{
	unsigned char *buf = malloc(EF_PIN_MAX + 1);
	size_t n = 0;
	ssize_t r;
	int fd;

	if (buf == NULL) {
		ef_err(_("out of memory"));
		return EF_EXIT_ERROR;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ef_err(_("cannot open %s: %s"), path, strerror(errno));
		free(buf);
		return errno == ENOENT ? EF_EXIT_NOTFOUND : EF_EXIT_ERROR;
	}
	while (n <= EF_PIN_MAX && (r = read(fd, buf + n, EF_PIN_MAX + 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ef_err(_("cannot read %s: %s"), path, strerror(errno));
			close(fd);
			ef_pin_free(buf, EF_PIN_MAX + 1);
			return EF_EXIT_ERROR;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n > EF_PIN_MAX) {
		ef_err(_("%s is too big to hold a password"), path);
		ef_pin_free(buf, EF_PIN_MAX + 1);
		return EF_EXIT_USAGE;
	}
	chomp(buf, &n);
	*pin = buf;
	*len = n;
	return EF_EXIT_OK;
}

static int from_env(const char *var, unsigned char **pin, size_t *len)
{
	const char *v = getenv(var);
	size_t n;
	if (v == NULL) {
		ef_err(_("the environment variable %s is not set"), var);
		return EF_EXIT_USAGE;
	}
	n = strlen(v);
	if (n > EF_PIN_MAX) {
		ef_err(_("the environment variable %s is too long to hold a password"), var);
		return EF_EXIT_USAGE;
	}
	*pin = malloc(n + 1);
	if (*pin == NULL) {
		ef_err(_("out of memory"));
		return EF_EXIT_ERROR;
	}
	memcpy(*pin, v, n);
	*len = n;
	return EF_EXIT_OK;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	interrupted = sig;
}

/* Reads one line from the terminal with echo off.  The terminal settings
 * are restored even when the user interrupts (Ctrl-C), so the shell is
 * not left without echo. */
static int from_tty(const char *prompt, unsigned char **pin, size_t *len)
{
	struct termios old, quiet;
	struct sigaction sa, old_int, old_term;
	unsigned char *buf;
	size_t n = 0;
	int fd, rc = EF_EXIT_ERROR;
	bool restore = false;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ef_err(_("no terminal to ask for the password: use --pin-file FILE or "
			 "--pin-env VARIABLE"));
		return EF_EXIT_USAGE;
	}
	buf = malloc(EF_PIN_MAX + 1);
	if (buf == NULL) {
		close(fd);
		ef_err(_("out of memory"));
		return EF_EXIT_ERROR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = true;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		goto out;
	for (;;) {
		unsigned char c;
		ssize_t r = read(fd, &c, 1);
		if (interrupted)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n < EF_PIN_MAX)
			buf[n++] = c;
	}
	if (write(fd, "\n", 1) < 0) {
		/* nothing to do: the line end is cosmetic */
	}
	if (interrupted) {
		rc = EF_EXIT_USAGE;
		goto out;
	}
	chomp(buf, &n);
	*pin = buf;
	*len = n;
	buf = NULL;
	rc = EF_EXIT_OK;
out:
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(fd);
	ef_pin_free(buf, EF_PIN_MAX + 1);
	if (interrupted)
		raise(interrupted);
	return rc;
}

int ef_pin_get(const char *file, const char *env, const char *prompt,
	       unsigned char **pin, size_t *len)
{
	*pin = NULL;
	*len = 0;
	if (file != NULL && env != NULL) {
		ef_err(_("give the password one way only: --pin-file or --pin-env"));
		return EF_EXIT_USAGE;
	}
	if (file != NULL)
		return from_file(file, pin, len);
	if (env != NULL)
		return from_env(env, pin, len);
	return from_tty(prompt, pin, len);
}
