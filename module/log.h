/*
 * log.h - the module's only voice: silent by default, a trace on request.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Warnings (a bundle that cannot be used, a configuration line that makes no
 * sense) are one line each on stderr, prefixed "efirma-pkcs11: ", with every
 * control character of the message shown as an escape (ef_escape_text).  The trace
 * of every call and return code appears only when EFIRMA_PKCS11_DEBUG is set
 * to a non-empty value other than "0", or when the configuration says
 * debug=1.  Never pass a PIN, its length, or key material to these functions.
 */
#ifndef EF_LOG_H
#define EF_LOG_H

#include <stdbool.h>
#include "ckr_names.h"	/* ef_rv_name, for the trace */

/* Reads EFIRMA_PKCS11_DEBUG; called at C_Initialize before anything logs. */
void ef_log_init_from_env(void);
/* The configuration may turn the trace on as well (never off).  In an
 * AT_SECURE process neither this nor the variable turns it on. */
void ef_log_enable_trace(void);
bool ef_log_trace_enabled(void);

void ef_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ef_log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
