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
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "ckr_names.h"	/* ef_rv_name, for the trace */
#include "result.h"

/* Reads EFIRMA_PKCS11_DEBUG; called at C_Initialize before anything logs. */
void ef_log_init_from_env(void);
/* The configuration may turn the trace on as well (never off).  In an
 * AT_SECURE process neither this nor the variable turns it on. */
void ef_log_enable_trace(void);
bool ef_log_trace_enabled(void);

void ef_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ef_log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------ where a failure arose
 *
 * Every site where the module decides that something failed says so with
 * EF_FAIL (or EF_OSSL_FAIL in the files that call OpenSSL, ossl_ctx.h,
 * which adds OpenSSL's reason): `return EF_FAIL(CKR_DEVICE_ERROR);`.  With
 * the trace on, the origins recorded during a C_* call (the last few, per
 * thread) are printed after its return code by EF_RETURN (entry.h):
 *
 *   C_Sign -> CKR_FUNCTION_FAILED (rsa.c:140 ef_rsa_sign: error:...)
 *   C_Login -> CKR_DEVICE_ERROR (token.c:371 open_one < key_open.c:57 open_plain EF_R_NOT_A_KEY)
 *
 * newest first, each with its own code when it differs from the one the
 * caller got.  With the trace off, recording costs one atomic load.  A
 * reason is library text (OpenSSL's error string), never a secret: no key
 * bytes, no password, no password length reach a record. */

/* Records rv as failing at file:line in func, with an optional reason,
 * and returns rv. */
CK_RV ef_fail_at(CK_RV rv, const char *file, int line, const char *func, const char *reason);
#define EF_FAIL(rv) ef_fail_at((rv), __FILE__, __LINE__, __func__, NULL)

/* Writes the recorded origins of rv (the code a function is about to
 * return, internal or not) as the trace shows them; "" when none was
 * recorded or the newest is another code's (the failure came from a site
 * that records nothing, and older origins would mislead). */
void ef_fail_describe(CK_RV rv, char *buf, size_t size);
/* Forgets the origins recorded on this thread. */
void ef_fail_forget(void);

/* The exit of every C_* function (EF_RETURN): turns an internal result
 * into the CKR the caller gets (ef_rv_public), traces "fn -> CKR_x" with
 * the origins, forgets them, and returns the CKR. */
CK_RV ef_log_return(const char *fn, CK_RV rv);

#endif
