/*
 * ossl_ctx.c - the private OpenSSL library context: created once, with the
 * default provider loaded by hand and the digests fetched once; the
 * secure heap; random bytes from the context's DRBG.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The default library context is never used, so a provider that the
 * host's openssl.cnf activates there (a PKCS#11 provider could call back
 * into this module) never takes part in our operations.  Digests, ciphers
 * and the KDF are fetched explicitly from our context, keys are built in
 * it, and the calls that fetch or decode behind our back (d2i of
 * certificates and keys, PEM_do_header, ...) are not used: see der.h.
 *
 * What no code here can prevent: OpenSSL 3.0 reads openssl.cnf into the
 * *default* context on the first digest, cipher or RSA operation of the
 * process, whatever context it runs in (ENGINE_get_digest_engine and
 * OBJ_obj2nid call OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG)).  The
 * guarantee is that nothing the host configuration activates there is
 * ever used by this module; tests/unit/test-crypto.c checks it under a
 * configuration whose default context can fetch nothing.
 */
#include <stdatomic.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "ossl_ctx.h"
#include "platform.h"

#define EF_N_HASHES 6   /* enum ef_hash values, NONE included */

/* This file's own lock, over the context below: not the module's global
 * lock (lock.h), so nothing here ends in _inlock. */
static struct ef_os_mutex ctx_lock = EF_OS_MUTEX_INIT;
static atomic_bool g_ready;
static OSSL_LIB_CTX *g_ctx;
static OSSL_PROVIDER *g_prov;
/* Fetched once: a fetch per signature would cost a method-store lookup
 * (and a lock) for nothing. */
static EVP_MD *g_md[EF_N_HASHES];

/* The newest error in the queue at this thread's last ef_ossl_mark (with
 * the trace on): an older error is the application's, or a failure
 * already answered, and must not pass for the reason of a new one. */
static _Thread_local unsigned long tl_err_at_mark;

static const char *const g_md_name[EF_N_HASHES] = {
	[EF_HASH_SHA1] = "SHA1",
	[EF_HASH_SHA224] = "SHA2-224",
	[EF_HASH_SHA256] = "SHA2-256",
	[EF_HASH_SHA384] = "SHA2-384",
	[EF_HASH_SHA512] = "SHA2-512",
};

static void fini_under_ctx_lock(void)
{
	for (size_t i = 0; i < EF_N_HASHES; i++) {
		EVP_MD_free(g_md[i]);
		g_md[i] = NULL;
	}
	if (g_prov != NULL)
		OSSL_PROVIDER_unload(g_prov);
	g_prov = NULL;
	OSSL_LIB_CTX_free(g_ctx);
	g_ctx = NULL;
}

CK_RV ef_crypto_init(void)
{
	CK_RV rv = CKR_OK;

	if (atomic_load_explicit(&g_ready, memory_order_acquire))
		return CKR_OK;
	ef_ossl_mark();
	ef_os_mutex_lock(&ctx_lock);
	if (g_ctx != NULL)
		goto out;
	/* A new context reads no configuration file unless told to:
	 * OSSL_LIB_CTX_load_config is deliberately never called. */
	g_ctx = OSSL_LIB_CTX_new();
	if (g_ctx == NULL) {
		rv = EF_OSSL_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	g_prov = OSSL_PROVIDER_load(g_ctx, "default");
	if (g_prov == NULL) {
		rv = EF_OSSL_FAIL(CKR_GENERAL_ERROR);
		goto out;
	}
	for (size_t i = 1; i < EF_N_HASHES; i++) {
		g_md[i] = EVP_MD_fetch(g_ctx, g_md_name[i], NULL);
		if (g_md[i] == NULL) {
			rv = EF_OSSL_FAIL(CKR_GENERAL_ERROR);
			goto out;
		}
	}
	atomic_store_explicit(&g_ready, true, memory_order_release);
out:
	if (rv != CKR_OK)
		fini_under_ctx_lock();
	ef_os_mutex_unlock(&ctx_lock);
	ERR_pop_to_mark();
	return rv;
}

void ef_crypto_fini(void)
{
	ERR_set_mark();
	ef_os_mutex_lock(&ctx_lock);
	atomic_store_explicit(&g_ready, false, memory_order_release);
	fini_under_ctx_lock();
	ef_os_mutex_unlock(&ctx_lock);
	ERR_pop_to_mark();
}

/* OpenSSL's secure heap: one arena for the process, mlock'ed when the
 * limit allows and MADV_DONTDUMP either way.  The key's private BIGNUMs
 * (BN_secure_new, and the copies the provider makes from secure
 * parameters) and signing's temporaries go there once it exists.  Sizes
 * are powers of two; SIZE holds many RSA-4096 keys logged in at once,
 * MIN is the smallest block handed out. */
#define EF_SECURE_HEAP_SIZE (256 * 1024)
#define EF_SECURE_HEAP_MIN 32

void ef_crypto_thread_done(void)
{
	OPENSSL_thread_stop();
}

bool ef_crypto_secure_heap(void)
{
	/* A host that set one up chose its size: it is left as it is.  And
	 * the arena is never torn down here: the host's OpenSSL may hold
	 * blocks of it after C_Finalize. */
	if (CRYPTO_secure_malloc_initialized())
		return true;
	return CRYPTO_secure_malloc_init(EF_SECURE_HEAP_SIZE, EF_SECURE_HEAP_MIN) != 0;
}

bool ef_ossl_ready(void)
{
	return atomic_load_explicit(&g_ready, memory_order_acquire) ||
	       ef_crypto_init() == CKR_OK;
}

const EVP_MD *ef_ossl_md(enum ef_hash h)
{
	if ((unsigned)h >= EF_N_HASHES)
		return NULL;
	return g_md[h];
}

OSSL_LIB_CTX *ef_ossl_libctx(void)
{
	return g_ctx;
}

CK_RV ef_random(unsigned char *out, size_t len)
{
	CK_RV rv = CKR_OK;

	if (len == 0)
		return CKR_OK;
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	if (RAND_bytes_ex(g_ctx, out, len, 0) != 1)
		rv = EF_OSSL_FAIL(CKR_FUNCTION_FAILED);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_ossl_begin(void)
{
	if (!ef_ossl_ready())
		return EF_FAIL(CKR_GENERAL_ERROR);
	ef_ossl_mark();
	return CKR_OK;
}

void ef_ossl_mark(void)
{
	ERR_set_mark();
	if (ef_log_trace_enabled())
		tl_err_at_mark = ERR_peek_last_error();
}

CK_RV ef_ossl_fail_at(CK_RV rv, const char *file, int line, const char *func)
{
	char reason[160];
	unsigned long e;

	if (!ef_log_trace_enabled())
		return rv;
	e = ERR_peek_last_error();
	if (e == 0 || e == tl_err_at_mark)
		return ef_fail_at(rv, file, line, func, NULL);
	ERR_error_string_n(e, reason, sizeof(reason));
	return ef_fail_at(rv, file, line, func, reason);
}
