/*
 * tool.h - what the parts of efirma-tool share: exit codes, options,
 * messages and the command entry points.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_TOOL_H
#define EF_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)

/* Exit codes: a fixed interface, documented in --help and efirma-tool(1). */
enum {
	EF_EXIT_OK = 0,
	EF_EXIT_USAGE = 1,     /* bad command line, no terminal for the password */
	EF_EXIT_PIN = 2,       /* wrong password (or a new one out of range) */
	EF_EXIT_NOTFOUND = 3,  /* no such token, certificate or file */
	EF_EXIT_REFUSED = 4,   /* refused: not a SAT file, key of another
				* certificate, a check that failed */
	EF_EXIT_ERROR = 5,     /* anything else: module, I/O, memory */
};

/* Options, one bit each, so every command says which ones it takes. */
enum {
	EF_OPT_MODULE = 1u << 0,
	EF_OPT_TOKEN = 1u << 1,
	EF_OPT_PIN = 1u << 2,       /* --pin-file, --pin-env */
	EF_OPT_NEWPIN = 1u << 3,    /* --new-pin-file, --new-pin-env */
	EF_OPT_OUT = 1u << 4,
	EF_OPT_DETACHED = 1u << 5,
	EF_OPT_RAW = 1u << 6,
	EF_OPT_JSON = 1u << 7,
	EF_OPT_LABEL = 1u << 8,
	EF_OPT_CHALLENGE = 1u << 9,
	EF_OPT_FORMAT = 1u << 10,
	EF_OPT_HASH = 1u << 11,
	EF_OPT_FORCE = 1u << 12,
};

struct ef_opts {
	unsigned given;            /* EF_OPT_* bits seen on the command line */
	const char *module;        /* --module, else EFIRMA_TOOL_MODULE, else installed */
	const char *token;         /* --token RFC|LABEL|NUMERO */
	const char *pin_file, *pin_env;
	const char *new_pin_file, *new_pin_env;
	const char *out;
	const char *label;
	const char *challenge;
	const char *format;
	const char *hash;
	bool detached, raw, json, force;
	int argc;                  /* the command's positional arguments */
	char **argv;
};

/* The module path to load: --module, EFIRMA_TOOL_MODULE, the installed one. */
const char *ef_module_path(const struct ef_opts *o);

/* Messages on stderr, prefixed with the program name.  The text is
 * already translated by the caller. */
void ef_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ef_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole file (at most max bytes).  0, or an EF_EXIT_* code after
 * a message naming the file. */
int ef_read_file(const char *path, size_t max, unsigned char **data, size_t *len);

/* Replaces path whole with data in a file of this mode (file.h: a reader
 * sees the old file or the new one, never half).  0, or an
 * EF_EXIT_* code after a message naming the file. */
int ef_replace_file(const char *path, const void *data, size_t len, mode_t mode);

/* Base64 without line breaks; malloc'd, NUL-terminated, NULL on failure. */
char *ef_base64(const unsigned char *in, size_t len);
/* Decodes strict base64 (whitespace ignored); false on malformed input. */
bool ef_unbase64(const char *in, size_t in_len, unsigned char **out, size_t *out_len);

/* Text from a certificate, a token or a peer, made safe to print: control
 * characters and invalid UTF-8 shown as escapes (module/sat.c
 * ef_escape_text, the same rules as the module's log).  The result lives
 * until 16 more calls; never NULL. */
const char *ef_shown(const char *s);

/* "2027-05-08 18:05:49 UTC" */
void ef_format_time(long long t, char *out, size_t size);

/* Commands: each takes the parsed options; returns an EF_EXIT_* code. */
int ef_cmd_list(struct ef_opts *o);
int ef_cmd_info(struct ef_opts *o);
int ef_cmd_add(struct ef_opts *o);
int ef_cmd_remove(struct ef_opts *o);
int ef_cmd_check(struct ef_opts *o);
int ef_cmd_sign(struct ef_opts *o);
int ef_cmd_login_token(struct ef_opts *o);
int ef_cmd_passwd(struct ef_opts *o);
int ef_cmd_register(struct ef_opts *o);
int ef_cmd_unregister(struct ef_opts *o);
int ef_cmd_native_host(struct ef_opts *o);

/* The host's program name, what its manifests name (register.c, main.c):
 * efirma-tool linked under this name is the native host. */
#define EF_NATIVE_HOST_NAME "efirma-native-host"

#endif
