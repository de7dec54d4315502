/*
 * ossl_ctx.h - what the OpenSSL-facing files of the crypto layer share:
 * the private library context and the digests fetched in it
 * (ossl_ctx.c).  Only those files include this header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Their rules: every OpenSSL call runs in ef_ossl_libctx(), never in the
 * default context; every function of crypto.h brackets its work with
 * ERR_set_mark() and ERR_pop_to_mark(), so the calling thread's error
 * queue is left exactly as the application had it.
 */
#ifndef EF_OSSL_CTX_H
#define EF_OSSL_CTX_H

#include <stdbool.h>
#include <openssl/types.h>
#include "crypto.h"

/* True once the context exists; creates it on first use, so a caller that
 * forgot ef_crypto_init (a tool, a test) still gets the private context.
 * Every entry point of the crypto layer goes through here. */
bool ef_ossl_ready(void);
/* The private context (NULL before ef_ossl_ready). */
OSSL_LIB_CTX *ef_ossl_libctx(void);
/* The digest fetched for this hash; NULL for EF_HASH_NONE or an unknown
 * value. */
const EVP_MD *ef_ossl_md(enum ef_hash h);

#endif
