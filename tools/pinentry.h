/*
 * pinentry.h - asking the password through GnuPG's pinentry (the Assuan
 * protocol), for the native host, which has no terminal.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_PINENTRY_H
#define EF_PINENTRY_H

#include <stddef.h>
#include <sys/types.h>

enum ef_pe_status {
	EF_PE_OK,
	EF_PE_CANCEL,   /* the person closed the dialog */
	EF_PE_NONE,     /* no pinentry is installed */
	EF_PE_ERROR,    /* it failed or spoke something else than Assuan */
};

struct ef_pinentry {
	pid_t pid;
	int to, from;   /* its standard input and output */
};

/* Starts EFIRMA_PINENTRY, else the first pinentry found on PATH
 * (pinentry-gnome3, -gtk-2, -gtk2, -qt, -qt5, pinentry, -curses), and
 * reads its greeting. */
enum ef_pe_status ef_pinentry_open(struct ef_pinentry *pe);
/* One dialog: title, description and prompt, and an error line (NULL the
 * first time) saying why it asks again.  *pin is malloc'd, not
 * NUL-terminated; wipe it with ef_pin_free. */
enum ef_pe_status ef_pinentry_ask(struct ef_pinentry *pe, const char *title, const char *desc,
				  const char *prompt, const char *error, unsigned char **pin,
				  size_t *pin_len);
void ef_pinentry_close(struct ef_pinentry *pe);

#endif
