/*
 * pin.h - getting the password without echo, or from a file or variable.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_PIN_H
#define EF_PIN_H

#include <stddef.h>

/* From file (--pin-file), else env (--pin-env), else the terminal with
 * prompt.  *pin is malloc'd (not NUL-terminated); wipe it with
 * ef_pin_free.  EF_EXIT_OK or an EF_EXIT_* code after a message. */
int ef_pin_get(const char *file, const char *env, const char *prompt,
	       unsigned char **pin, size_t *len);
void ef_pin_free(unsigned char *pin, size_t len);

#endif
