/*
 * ossl_ctx.h - what the OpenSSL-facing files of the crypto layer share:
 * the private library context and the digests fetched in it
 * (ossl_ctx.c).  Only those files include this header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Their rules: every OpenSSL call runs in ef_ossl_libctx(), never in the
 * default context; every function of crypto.h brackets its work with
 * ef_ossl_mark() and ERR_pop_to_mark(), so the calling thread's error
 * queue is left exactly as the application had it; and every failure is
 * returned through EF_OSSL_FAIL, which records where it arose with the
 * reason OpenSSL queued for it before the pop throws the reason away.
 */
#ifndef EF_OSSL_CTX_H
#define EF_OSSL_CTX_H

#include <stdbool.h>
#include <openssl/types.h>
#include "crypto.h"
#include "log.h"

/* True once the context exists; creates it on first use, so a caller that
 * forgot ef_crypto_init (a tool, a test) still gets the private context.
 * Every entry point of the crypto layer goes through here. */
bool ef_ossl_ready(void);
/* The private context (NULL before ef_ossl_ready). */
OSSL_LIB_CTX *ef_ossl_libctx(void);
/* The digest fetched for this hash; NULL for EF_HASH_NONE or an unknown
 * value. */
const EVP_MD *ef_ossl_md(enum ef_hash h);

/* ERR_set_mark(), and with the trace on, the newest error the queue
 * already held: a failure's reason is an error queued after it. */
void ef_ossl_mark(void);
/* How a crypto-layer function starts: CKR_OK after ef_ossl_mark (the
 * caller ends with ERR_pop_to_mark), or CKR_GENERAL_ERROR when there is
 * no context (ef_ossl_ready). */
CK_RV ef_ossl_begin(void);
/* EF_FAIL with OpenSSL's reason: the text of the newest error queued
 * since ef_ossl_mark, if any (ERR_error_string_n: library, function and
 * reason names, never the data they were about).  Reads the queue only
 * with the trace on. */
CK_RV ef_ossl_fail_at(CK_RV rv, const char *file, int line, const char *func);
#define EF_OSSL_FAIL(rv) ef_ossl_fail_at((rv), __FILE__, __LINE__, __func__)

#endif
