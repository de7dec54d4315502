/*
 * crypto.c - the only file that calls OpenSSL.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * All work happens in a private OSSL_LIB_CTX with the default provider
 * loaded by hand; the default library context is never used, so a provider
 * that the host's openssl.cnf activates there (a PKCS#11 provider could call
 * back into this module) never takes part in our operations.  Digests,
 * ciphers and the KDF are fetched explicitly from our context, keys are
 * built in it, and the calls that fetch or decode behind our back (d2i of
 * certificates and keys, PEM_do_header, ...) are not used: see der.h.
 *
 * What no code here can prevent: OpenSSL 3.0 reads openssl.cnf into the
 * *default* context on the first digest, cipher or RSA operation of the
 * process, whatever context it runs in (ENGINE_get_digest_engine and
 * OBJ_obj2nid call OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG)).  The
 * guarantee is that nothing the host configuration activates there is
 * ever used by this module; tests/unit/test-crypto.c checks it under a
 * configuration whose default context can fetch nothing.
 *
 * Every public function brackets its work with ERR_set_mark() and
 * ERR_pop_to_mark(), so the calling thread's error queue is left exactly
 * as the application had it.
 *
 * struct ef_pkey is never defined: a struct ef_pkey * is an EVP_PKEY *
 * under another name, so EVP_PKEY's own (thread-safe) reference count is
 * the key's reference count.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "der.h"

/* ------------------------------------------------------------ the context */

#define EF_N_HASHES 6   /* enum ef_hash values, NONE included */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool g_ready;
static OSSL_LIB_CTX *g_ctx;
static OSSL_PROVIDER *g_prov;
/* Fetched once: a fetch per signature would cost a method-store lookup
 * (and a lock) for nothing. */
static EVP_MD *g_md[EF_N_HASHES];

static const char *const g_md_name[EF_N_HASHES] = {
	[EF_HASH_SHA1] = "SHA1",
	[EF_HASH_SHA224] = "SHA2-224",
	[EF_HASH_SHA256] = "SHA2-256",
	[EF_HASH_SHA384] = "SHA2-384",
	[EF_HASH_SHA512] = "SHA2-512",
};

static const size_t g_md_size[EF_N_HASHES] = {
	[EF_HASH_SHA1] = 20,
	[EF_HASH_SHA224] = 28,
	[EF_HASH_SHA256] = 32,
	[EF_HASH_SHA384] = 48,
	[EF_HASH_SHA512] = 64,
};

static void fini_inlock(void)
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
	ERR_set_mark();
	pthread_mutex_lock(&g_lock);
	if (g_ctx != NULL)
		goto out;
	/* A new context reads no configuration file unless told to:
	 * OSSL_LIB_CTX_load_config is deliberately never called. */
	g_ctx = OSSL_LIB_CTX_new();
	if (g_ctx == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	g_prov = OSSL_PROVIDER_load(g_ctx, "default");
	if (g_prov == NULL) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	for (size_t i = 1; i < EF_N_HASHES; i++) {
		g_md[i] = EVP_MD_fetch(g_ctx, g_md_name[i], NULL);
		if (g_md[i] == NULL) {
			rv = CKR_GENERAL_ERROR;
			goto out;
		}
	}
	atomic_store_explicit(&g_ready, true, memory_order_release);
out:
	if (rv != CKR_OK)
		fini_inlock();
	pthread_mutex_unlock(&g_lock);
	ERR_pop_to_mark();
	return rv;
}

void ef_crypto_fini(void)
{
	ERR_set_mark();
	pthread_mutex_lock(&g_lock);
	atomic_store_explicit(&g_ready, false, memory_order_release);
	fini_inlock();
	pthread_mutex_unlock(&g_lock);
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

bool ef_crypto_secure_heap(void)
{
	/* A host that set one up chose its size: it is left as it is.  And
	 * the arena is never torn down here: the host's OpenSSL may hold
	 * blocks of it after C_Finalize. */
	if (CRYPTO_secure_malloc_initialized())
		return true;
	return CRYPTO_secure_malloc_init(EF_SECURE_HEAP_SIZE, EF_SECURE_HEAP_MIN) != 0;
}

/* Every entry point goes through here, so a caller that forgot
 * ef_crypto_init (a tool, a test) still gets the private context. */
static bool ready(void)
{
	return atomic_load_explicit(&g_ready, memory_order_acquire) ||
	       ef_crypto_init() == CKR_OK;
}

static const EVP_MD *md_of(enum ef_hash h)
{
	if ((unsigned)h >= EF_N_HASHES)
		return NULL;
	return g_md[h];
}

static EVP_PKEY *pk(const struct ef_pkey *k)
{
	return (EVP_PKEY *)k;
}

/* ------------------------------------------------------------------ misc */

void ef_cleanse(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

/* Pairs with plain malloc: other files hand us buffers they malloc'd, and
 * everything this file returns for ef_free_secret is malloc'd too. */
void ef_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	ef_cleanse(p, len);
	free(p);
}

/* The mapping's size sits in front of the buffer; 16 bytes keep the
 * buffer aligned for any type. */
#define EF_SECRET_HDR 16

void *ef_secret_alloc(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t ps = page > 0 ? (size_t)page : 4096, total;
	unsigned char *m;

	if (len > SIZE_MAX - EF_SECRET_HDR - ps) {
		errno = ENOMEM;
		return NULL;
	}
	total = (len + EF_SECRET_HDR + ps - 1) / ps * ps;
	m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* Pages of their own, so that no other data shares the advice.  A
	 * kernel that does not know it (before Linux 3.4) still gets a
	 * buffer that is wiped: the advice is best effort. */
	(void)madvise(m, total, MADV_DONTDUMP);
	memcpy(m, &total, sizeof(total));
	return m + EF_SECRET_HDR;
}

void ef_secret_free(void *p)
{
	unsigned char *m;
	size_t total;

	if (p == NULL)
		return;
	m = (unsigned char *)p - EF_SECRET_HDR;
	memcpy(&total, m, sizeof(total));
	/* munmap alone would leave the bytes in the freed page frames until
	 * the kernel hands them out again. */
	OPENSSL_cleanse(m, total);
	munmap(m, total);
}

CK_RV ef_random(unsigned char *out, size_t len)
{
	CK_RV rv = CKR_OK;

	if (len == 0)
		return CKR_OK;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	if (RAND_bytes_ex(g_ctx, out, len, 0) != 1)
		rv = CKR_FUNCTION_FAILED;
	ERR_pop_to_mark();
	return rv;
}

static void *memdup_plain(const void *p, size_t len)
{
	void *q = malloc(len > 0 ? len : 1);

	if (q != NULL && len > 0)
		memcpy(q, p, len);
	return q;
}

static bool has_pem_armor(const unsigned char *data, size_t len)
{
	static const char armor[] = "-----BEGIN ";

	return memmem(data, len, armor, sizeof(armor) - 1) != NULL;
}

/* One PEM block: its label, headers and decoded body (OpenSSL-allocated). */
struct pem_block {
	char *name;
	char *header;
	unsigned char *body;
	long body_len;
};

static void pem_block_clear(struct pem_block *b)
{
	OPENSSL_free(b->name);
	OPENSSL_free(b->header);
	/* The body may be a private key in the clear. */
	if (b->body != NULL)
		OPENSSL_clear_free(b->body, (size_t)(b->body_len > 0 ? b->body_len : 0));
	memset(b, 0, sizeof(*b));
}

/* Reads the next block; false at the end (or on an unreadable block,
 * which for our purposes is the same). */
static bool pem_next(BIO *bio, struct pem_block *b)
{
	memset(b, 0, sizeof(*b));
	if (PEM_read_bio(bio, &b->name, &b->header, &b->body, &b->body_len) != 1) {
		memset(b, 0, sizeof(*b));
		return false;
	}
	return true;
}

/* --------------------------------------------------------------- digests */

size_t ef_hash_size(enum ef_hash h)
{
	if ((unsigned)h >= EF_N_HASHES)
		return 0;
	return g_md_size[h];
}

/* struct ef_digest is an EVP_MD_CTX under another name. */
CK_RV ef_digest_new(enum ef_hash h, struct ef_digest **out)
{
	CK_RV rv = CKR_OK;
	EVP_MD_CTX *m = NULL;

	*out = NULL;
	if (ef_hash_size(h) == 0)
		return CKR_MECHANISM_INVALID;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	m = EVP_MD_CTX_new();
	if (m == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (EVP_DigestInit_ex2(m, md_of(h), NULL) != 1) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	*out = (struct ef_digest *)m;
	m = NULL;
out:
	EVP_MD_CTX_free(m);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_digest_update(struct ef_digest *d, const unsigned char *data, size_t len)
{
	CK_RV rv = CKR_OK;

	if (len == 0)
		return CKR_OK;
	ERR_set_mark();
	if (EVP_DigestUpdate((EVP_MD_CTX *)d, data, len) != 1)
		rv = CKR_FUNCTION_FAILED;
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_digest_final(struct ef_digest *d, unsigned char *out)
{
	CK_RV rv = CKR_OK;
	unsigned int n = 0;

	ERR_set_mark();
	if (EVP_DigestFinal_ex((EVP_MD_CTX *)d, out, &n) != 1)
		rv = CKR_FUNCTION_FAILED;
	ERR_pop_to_mark();
	return rv;
}

void ef_digest_free(struct ef_digest *d)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)d);
}

static CK_RV digest_oneshot_nomark(enum ef_hash h, const unsigned char *data,
				   size_t len, unsigned char *out)
{
	if (EVP_Digest(data, len, out, NULL, md_of(h), NULL) != 1)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

CK_RV ef_digest_oneshot(enum ef_hash h, const unsigned char *data, size_t len,
			unsigned char *out)
{
	CK_RV rv;

	if (ef_hash_size(h) == 0)
		return CKR_MECHANISM_INVALID;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	rv = digest_oneshot_nomark(h, data, len, out);
	ERR_pop_to_mark();
	return rv;
}

#define OID_RSA_ENCRYPTION  EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01)
#define OID_PBES2           EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d)
#define OID_PBKDF2          EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c)
#define OID_DES_EDE3_CBC    EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07)
/* Arcs of the password-based encryption schemes: PKCS#5 and PKCS#12. */
#define ARC_PKCS5           EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05)
#define ARC_PKCS12_PBE      EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01)

/* ---------------------------------------------------------- public keys */

/* What a SubjectPublicKeyInfo holds (RFC 5280 §4.1.2.7). */
struct spki_parts {
	struct ef_der alg_oid;
	struct ef_der key_bits;   /* subjectPublicKey value, unused-bits octet removed */
	bool is_rsa;
	struct ef_der n, e;       /* RSA: magnitudes without leading zeros */
};

static bool spki_split(const unsigned char *p, size_t len, struct spki_parts *s)
{
	struct ef_der d = { p, len }, spki, alg, bits, rsa;

	memset(s, 0, sizeof(*s));
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &spki, NULL) ||
	    !ef_der_take(&spki, EF_DER_SEQUENCE, &alg, NULL) ||
	    !ef_der_take(&alg, EF_DER_OID, &s->alg_oid, NULL) ||
	    !ef_der_take(&spki, EF_DER_BIT_STRING, &bits, NULL) || spki.n != 0)
		return false;
	if (bits.n < 1 || bits.p[0] != 0)
		return false;
	s->key_bits = (struct ef_der){ bits.p + 1, bits.n - 1 };
	if (!ef_der_oid_is(s->alg_oid, OID_RSA_ENCRYPTION))
		return true;
	/* RFC 8017 A.1.1: RSAPublicKey ::= SEQUENCE { modulus, publicExponent } */
	d = s->key_bits;
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &rsa, NULL) ||
	    !ef_der_take(&rsa, EF_DER_INTEGER, &s->n, NULL) ||
	    !ef_der_take(&rsa, EF_DER_INTEGER, &s->e, NULL) ||
	    !ef_der_uint(s->n, &s->n) || !ef_der_uint(s->e, &s->e) ||
	    s->n.p[0] == 0 || s->e.p[0] == 0)
		return false;
	s->is_rsa = true;
	return true;
}

/* An RSA public key in our context, from n and e. */
static EVP_PKEY *rsa_pub_from_ne(struct ef_der n, struct ef_der e)
{
	BIGNUM *bn = BN_bin2bn(n.p, (int)n.n, NULL), *be = BN_bin2bn(e.p, (int)e.n, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;

	if (bn == NULL || be == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	/* WORKAROUND(OpenSSL 3.0, libp11 engine): a name OpenSSL maps to a
	 * legacy NID ("RSA") makes EVP_PKEY_CTX_new_from_name consult the
	 * ENGINE table first, even in our own library context; in a program
	 * that set an engine as default for RSA (openssl -engine pkcs11) the
	 * context it returns cannot build keys.  The key management's OID
	 * name has no legacy NID, so only our context's provider is asked. */
	pctx = EVP_PKEY_CTX_new_from_name(g_ctx, "1.2.840.113549.1.1.1", NULL);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return key;
}

/* True when the key's n and e equal these magnitudes. */
static bool key_has_ne(EVP_PKEY *key, struct ef_der n, struct ef_der e)
{
	BIGNUM *kn = NULL, *ke = NULL, *xn = NULL, *xe = NULL;
	bool r = false;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &kn) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &ke) != 1)
		goto out;
	xn = BN_bin2bn(n.p, (int)n.n, NULL);
	xe = BN_bin2bn(e.p, (int)e.n, NULL);
	r = xn != NULL && xe != NULL && BN_cmp(kn, xn) == 0 && BN_cmp(ke, xe) == 0;
out:
	BN_free(kn);
	BN_free(ke);
	BN_free(xn);
	BN_free(xe);
	return r;
}

/* ---------------------------------------------------------- certificates */

/* The pieces of a Certificate (RFC 5280 §4.1) as spans into its DER. */
struct cert_parts {
	struct ef_der whole, tbs, sig_oid, sig;
	struct ef_der serial_tlv, serial_val, issuer, subject, spki;
	unsigned nb_tag, na_tag;
	struct ef_der nb, na;
	struct ef_der exts;    /* contents of the Extensions SEQUENCE, or empty */
};

static bool cert_split(const unsigned char *p, size_t len, struct cert_parts *c)
{
	struct ef_der d = { p, len }, cert, tbs, alg, val, x;

	memset(c, 0, sizeof(*c));
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &cert, &c->whole) ||
	    !ef_der_take(&cert, EF_DER_SEQUENCE, &tbs, &c->tbs) ||
	    !ef_der_take(&cert, EF_DER_SEQUENCE, &alg, NULL) ||
	    !ef_der_take(&alg, EF_DER_OID, &c->sig_oid, NULL) ||
	    !ef_der_take(&cert, EF_DER_BIT_STRING, &c->sig, NULL) || cert.n != 0)
		return false;
	/* version [0] EXPLICIT, DEFAULT v1 */
	if (ef_der_peek(&tbs, 0xa0) && !ef_der_take(&tbs, 0xa0, NULL, NULL))
		return false;
	if (!ef_der_take(&tbs, EF_DER_INTEGER, &c->serial_val, &c->serial_tlv) ||
	    c->serial_val.n == 0 ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, NULL) ||          /* signature */
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, &c->issuer) ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, &val, NULL) ||          /* validity */
	    !ef_der_next(&val, &c->nb_tag, &c->nb, NULL) ||
	    !ef_der_next(&val, &c->na_tag, &c->na, NULL) || val.n != 0 ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, &c->subject) ||
	    !ef_der_take(&tbs, EF_DER_SEQUENCE, NULL, &c->spki))
		return false;
	/* issuerUniqueID [1], subjectUniqueID [2] (primitive or not) */
	if (ef_der_peek(&tbs, 0x81) || ef_der_peek(&tbs, 0xa1))
		ef_der_next(&tbs, NULL, NULL, NULL);
	if (ef_der_peek(&tbs, 0x82) || ef_der_peek(&tbs, 0xa2))
		ef_der_next(&tbs, NULL, NULL, NULL);
	if (ef_der_peek(&tbs, 0xa3)) {
		if (!ef_der_take(&tbs, 0xa3, &x, NULL) ||
		    !ef_der_take(&x, EF_DER_SEQUENCE, &c->exts, NULL) || x.n != 0)
			return false;
	}
	return tbs.n == 0;
}

static enum ef_str_type str_type_of(unsigned tag)
{
	switch (tag) {
	case EF_DER_UTF8:
		return EF_STR_UTF8;
	case EF_DER_T61:
		/* SAT writes Latin-1 bytes into T61Strings (the Ñ of
		 * HAÑ930228SM9 is 0xD1), not T.61 code points. */
		return EF_STR_LATIN1;
	case EF_DER_BMP:
		return EF_STR_BMP;
	case EF_DER_UNIVERSAL:
		return EF_STR_UNIVERSAL;
	default:
		/* Printable, IA5, Visible, Numeric; anything stranger is
		 * treated as ASCII and sat.c replaces what is not. */
		return EF_STR_ASCII;
	}
}

#define OID_AT_CN       EF_OID_BYTES(0x55, 0x04, 0x03)
#define OID_AT_OU       EF_OID_BYTES(0x55, 0x04, 0x0b)
#define OID_AT_SERIAL   EF_OID_BYTES(0x55, 0x04, 0x05)
#define OID_AT_UNIQUE   EF_OID_BYTES(0x55, 0x04, 0x2d)

/* The first attribute of this type in a Name (RFC 5280 §4.1.2.4:
 * SEQUENCE OF SET OF AttributeTypeAndValue), bytes borrowed. */
static struct ef_raw_str name_attr(struct ef_der name_tlv, const unsigned char *oid, size_t oid_len)
{
	struct ef_raw_str s = { NULL, 0, EF_STR_ASCII };
	struct ef_der d = name_tlv, rdns, rdn, atv, type, val;
	unsigned tag;

	if (!ef_der_take(&d, EF_DER_SEQUENCE, &rdns, NULL))
		return s;
	while (ef_der_take(&rdns, EF_DER_SET, &rdn, NULL)) {
		while (ef_der_take(&rdn, EF_DER_SEQUENCE, &atv, NULL)) {
			if (!ef_der_take(&atv, EF_DER_OID, &type, NULL) ||
			    !ef_der_oid_is(type, oid, oid_len) || !ef_der_next(&atv, &tag, &val, NULL))
				continue;
			s.bytes = val.p;
			s.len = val.n;
			s.type = str_type_of(tag);
			return s;
		}
	}
	return s;
}

/* UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime "YYYYMMDDHHMMSSZ", the only
 * forms RFC 5280 §4.1.2.5 allows. */
static bool parse_time(unsigned tag, struct ef_der v, struct tm *tm, time_t *t)
{
	int f[7] = { 0 }, i, nf, year;
	size_t pos = 0;

	if (tag == EF_DER_UTCTIME && v.n == 13)
		nf = 6;
	else if (tag == EF_DER_GENTIME && v.n == 15)
		nf = 7;
	else
		return false;
	if (v.p[v.n - 1] != 'Z')
		return false;
	for (i = 0; i < nf; i++, pos += 2) {
		if (v.p[pos] < '0' || v.p[pos] > '9' || v.p[pos + 1] < '0' || v.p[pos + 1] > '9')
			return false;
		f[i] = (v.p[pos] - '0') * 10 + (v.p[pos + 1] - '0');
	}
	if (nf == 6) {
		/* §4.1.2.5.1: YY >= 50 is 19YY, else 20YY */
		year = f[0] >= 50 ? 1900 + f[0] : 2000 + f[0];
		memmove(f + 1, f, sizeof(int) * 6);
	} else {
		year = f[0] * 100 + f[1];
	}
	/* f[2..6] = month, day, hour, minute, second */
	if (f[2] < 1 || f[2] > 12 || f[3] < 1 || f[3] > 31 || f[4] > 23 || f[5] > 59 || f[6] > 60)
		return false;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = year - 1900;
	tm->tm_mon = f[2] - 1;
	tm->tm_mday = f[3];
	tm->tm_hour = f[4];
	tm->tm_min = f[5];
	tm->tm_sec = f[6];
	*t = timegm(tm);
	return true;
}

#define OID_CE_KEY_USAGE     EF_OID_BYTES(0x55, 0x1d, 0x0f)
#define OID_CE_BASIC_CONSTR  EF_OID_BYTES(0x55, 0x1d, 0x13)
#define OID_CE_EXT_KEY_USAGE EF_OID_BYTES(0x55, 0x1d, 0x25)
#define OID_KP_CLIENT_AUTH   EF_OID_BYTES(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02)
#define OID_KP_EMAIL_PROT    EF_OID_BYTES(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04)

static bool parse_extensions(struct ef_der exts, struct ef_cert *out)
{
	struct ef_der ext, oid, val, v, s, o;

	while (exts.n > 0) {
		if (!ef_der_take(&exts, EF_DER_SEQUENCE, &ext, NULL) ||
		    !ef_der_take(&ext, EF_DER_OID, &oid, NULL))
			return false;
		if (ef_der_peek(&ext, EF_DER_BOOLEAN))
			ef_der_next(&ext, NULL, NULL, NULL);   /* critical */
		if (!ef_der_take(&ext, EF_DER_OCTET_STRING, &val, NULL))
			return false;
		if (ef_der_oid_is(oid, OID_CE_BASIC_CONSTR)) {
			/* BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, ... } */
			if (!ef_der_take(&val, EF_DER_SEQUENCE, &s, NULL))
				return false;
			out->is_ca = ef_der_take(&s, EF_DER_BOOLEAN, &v, NULL) && v.n == 1 && v.p[0] != 0;
		} else if (ef_der_oid_is(oid, OID_CE_KEY_USAGE)) {
			/* KeyUsage ::= BIT STRING, bit 0 = digitalSignature is
			 * the most significant bit of the first octet. */
			if (!ef_der_take(&val, EF_DER_BIT_STRING, &v, NULL) || v.n < 1)
				return false;
			out->has_key_usage = true;
			out->key_usage = 0;
			for (unsigned bit = 0; bit < 7; bit++) {
				size_t byte = 1 + bit / 8;

				if (byte < v.n && (v.p[byte] & (0x80u >> (bit % 8))))
					out->key_usage |= 1u << bit;
			}
		} else if (ef_der_oid_is(oid, OID_CE_EXT_KEY_USAGE)) {
			if (!ef_der_take(&val, EF_DER_SEQUENCE, &s, NULL))
				return false;
			while (ef_der_take(&s, EF_DER_OID, &o, NULL)) {
				if (ef_der_oid_is(o, OID_KP_CLIENT_AUTH))
					out->ext_key_usage |= EF_EKU_CLIENT_AUTH;
				else if (ef_der_oid_is(o, OID_KP_EMAIL_PROT))
					out->ext_key_usage |= EF_EKU_EMAIL_PROTECTION;
			}
		}
	}
	return true;
}

static void *memdup_span(struct ef_der s, size_t *len)
{
	*len = s.n;
	return memdup_plain(s.p, s.n);
}

/* Fills out from DER (the certificate is exactly c->whole). */
static CK_RV cert_from_parts(const struct cert_parts *c, struct ef_cert *out)
{
	struct ef_sat_subject subj;
	struct spki_parts sp;
	struct ef_raw_str icn;
	CK_RV rv = CKR_HOST_MEMORY;

	memset(out, 0, sizeof(*out));
	memset(&subj, 0, sizeof(subj));
	if (!spki_split(c->spki.p, c->spki.n, &sp) ||
	    !parse_time(c->nb_tag, c->nb, &out->not_before, &out->not_before_t) ||
	    !parse_time(c->na_tag, c->na, &out->not_after, &out->not_after_t) ||
	    !parse_extensions(c->exts, out)) {
		rv = CKR_DATA_INVALID;
		goto out;
	}
	out->der = memdup_span(c->whole, &out->der_len);
	out->subject = memdup_span(c->subject, &out->subject_len);
	out->issuer = memdup_span(c->issuer, &out->issuer_len);
	/* CKA_SERIAL_NUMBER is the DER encoding of the INTEGER, tag and
	 * length included ("DER-encoding of the certificate serial
	 * number", PKCS#11 3.0 §4.6.3). */
	out->serial = memdup_span(c->serial_tlv, &out->serial_len);
	out->spki = memdup_span(c->spki, &out->spki_len);
	if (out->der == NULL || out->subject == NULL || out->issuer == NULL ||
	    out->serial == NULL || out->spki == NULL)
		goto out;
	if (sp.is_rsa) {
		unsigned top = sp.n.p[0];

		out->modulus = memdup_span(sp.n, &out->modulus_len);
		out->exponent = memdup_span(sp.e, &out->exponent_len);
		if (out->modulus == NULL || out->exponent == NULL)
			goto out;
		out->modulus_bits = 8 * (unsigned long)(sp.n.n - 1);
		while (top != 0) {
			out->modulus_bits++;
			top >>= 1;
		}
		out->is_rsa = true;
	}
	/* CKA_ID: SHA-1 of the subjectPublicKey BIT STRING value without the
	 * unused-bits octet (RFC 5280 §4.2.1.2 method (1)); SAT leaf
	 * certificates carry no subjectKeyIdentifier to copy it from. */
	rv = digest_oneshot_nomark(EF_HASH_SHA1, sp.key_bits.p, sp.key_bits.n, out->key_id);
	if (rv == CKR_OK)
		rv = digest_oneshot_nomark(EF_HASH_SHA1, c->whole.p, c->whole.n, out->hash_sha1);
	if (rv != CKR_OK)
		goto out;
	out->self_issued = c->subject.n == c->issuer.n &&
			   memcmp(c->subject.p, c->issuer.p, c->subject.n) == 0;

	rv = CKR_HOST_MEMORY;
	icn = name_attr(c->issuer, OID_AT_CN);
	out->issuer_cn = ef_sat_to_utf8(&icn);
	if (out->issuer_cn == NULL)
		goto out;
	subj.cn = name_attr(c->subject, OID_AT_CN);
	subj.ou = name_attr(c->subject, OID_AT_OU);
	subj.unique_id = name_attr(c->subject, OID_AT_UNIQUE);
	subj.serial_attr = name_attr(c->subject, OID_AT_SERIAL);
	subj.serial = c->serial_val.p;
	subj.serial_len = c->serial_val.n;
	subj.key_usage = out->key_usage;
	subj.has_key_usage = out->has_key_usage;
	subj.ext_key_usage = out->ext_key_usage;
	out->is_sat = ef_sat_facts_from(&subj, &out->sat);
	rv = CKR_OK;
out:
	if (rv != CKR_OK)
		ef_cert_clear(out);
	return rv;
}

static bool is_cert_pem_name(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 ||
	       strcmp(name, PEM_STRING_X509_OLD) == 0 ||
	       strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

/* Parses one DER certificate at der; *used gets its length. */
static CK_RV parse_one_der(const unsigned char *der, size_t len, size_t *used,
			   struct ef_cert *out)
{
	struct cert_parts c;

	memset(out, 0, sizeof(*out));
	if (!cert_split(der, len, &c))
		return CKR_DATA_INVALID;
	*used = c.whole.n;
	return cert_from_parts(&c, out);
}

/* Appends to a growing array. */
static CK_RV push_cert(struct ef_cert **arr, size_t *n, size_t *cap, struct ef_cert *c)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct ef_cert *na = realloc(*arr, ncap * sizeof(*na));

		if (na == NULL)
			return CKR_HOST_MEMORY;
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = *c;
	memset(c, 0, sizeof(*c));
	return CKR_OK;
}

/* The one worker behind ef_cert_parse (max 1) and ef_cert_parse_all. */
static CK_RV parse_certs(const unsigned char *data, size_t len, size_t max,
			 struct ef_cert **out, size_t *n)
{
	struct ef_cert c, *arr = NULL;
	size_t cap = 0, used = 0;
	struct pem_block b;
	BIO *bio = NULL;
	CK_RV rv = CKR_OK;

	*out = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	if (data == NULL || len == 0)
		return CKR_OK;
	if (!has_pem_armor(data, len)) {
		/* DER: one certificate, or several back to back. */
		while (len > 0 && *n < max) {
			rv = parse_one_der(data, len, &used, &c);
			if (rv == CKR_DATA_INVALID) {
				rv = CKR_OK;
				break;
			}
			if (rv == CKR_OK)
				rv = push_cert(&arr, n, &cap, &c);
			if (rv != CKR_OK)
				goto out;
			data += used;
			len -= used;
		}
		goto out;
	}
	if (len > INT_MAX)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	while (*n < max && pem_next(bio, &b)) {
		if (is_cert_pem_name(b.name) && b.body_len > 0) {
			rv = parse_one_der(b.body, (size_t)b.body_len, &used, &c);
			if (rv == CKR_OK)
				rv = push_cert(&arr, n, &cap, &c);
			if (rv == CKR_DATA_INVALID)
				rv = CKR_OK;   /* skip a broken block */
		}
		pem_block_clear(&b);
		if (rv != CKR_OK)
			goto out;
	}
out:
	ef_cert_clear(&c);
	BIO_free(bio);
	if (rv != CKR_OK) {
		for (size_t i = 0; i < *n; i++)
			ef_cert_clear(&arr[i]);
		free(arr);
		arr = NULL;
		*n = 0;
	}
	*out = arr;
	return rv;
}

CK_RV ef_cert_parse(const unsigned char *data, size_t len, struct ef_cert *out)
{
	struct ef_cert *arr = NULL;
	size_t n = 0;
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	rv = parse_certs(data, len, 1, &arr, &n);
	if (rv == CKR_OK && n == 0)
		rv = CKR_DATA_INVALID;
	if (rv == CKR_OK)
		*out = arr[0];
	free(arr);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_cert_parse_all(const unsigned char *data, size_t len,
			struct ef_cert **out, size_t *n)
{
	CK_RV rv;

	*out = NULL;
	*n = 0;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	rv = parse_certs(data, len, SIZE_MAX, out, n);
	ERR_pop_to_mark();
	return rv;
}

void ef_cert_clear(struct ef_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c->subject);
	free(c->issuer);
	free(c->serial);
	free(c->spki);
	free(c->modulus);
	free(c->exponent);
	free(c->issuer_cn);
	ef_sat_facts_clear(&c->sat);
	memset(c, 0, sizeof(*c));
}

/* The hash of an RSA PKCS#1 v1.5 signature algorithm (RFC 8017 A.2.4). */
static const char *sig_alg_md(struct ef_der oid)
{
	static const unsigned char pkcs1[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01 };

	if (oid.n != sizeof(pkcs1) + 1 || memcmp(oid.p, pkcs1, sizeof(pkcs1)) != 0)
		return NULL;
	switch (oid.p[sizeof(pkcs1)]) {
	case 0x05: return "SHA1";
	case 0x0e: return "SHA2-224";
	case 0x0b: return "SHA2-256";
	case 0x0c: return "SHA2-384";
	case 0x0d: return "SHA2-512";
	default: return NULL;
	}
}

bool ef_cert_issued_by(const struct ef_cert *child, const struct ef_cert *parent)
{
	struct cert_parts c;
	struct spki_parts sp;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY *pub = NULL;
	const char *md;
	bool r = false;

	if (child == NULL || parent == NULL || child->der == NULL || parent->spki == NULL)
		return false;
	if (!ready())
		return false;
	ERR_set_mark();
	/* RFC 5280 §6.1.3 (a)(4): the issuer name must match the working
	 * issuer name; SAT's CAs write both byte for byte the same, so a
	 * binary comparison is enough. */
	if (child->issuer_len != parent->subject_len ||
	    memcmp(child->issuer, parent->subject, child->issuer_len) != 0)
		goto out;
	if (!cert_split(child->der, child->der_len, &c) || c.sig.n < 2 || c.sig.p[0] != 0)
		goto out;
	md = sig_alg_md(c.sig_oid);
	if (md == NULL || !spki_split(parent->spki, parent->spki_len, &sp) || !sp.is_rsa)
		goto out;
	pub = rsa_pub_from_ne(sp.n, sp.e);
	mctx = EVP_MD_CTX_new();
	if (pub == NULL || mctx == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md, g_ctx, NULL, pub, NULL) != 1)
		goto out;
	r = EVP_DigestVerify(mctx, c.sig.p + 1, c.sig.n - 1, c.tbs.p, c.tbs.n) == 1;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pub);
	ERR_pop_to_mark();
	return r;
}

/* ----------------------------------------------------------- private keys */

static bool key_is_rsa(const EVP_PKEY *key)
{
	/* Plain rsaEncryption only: an RSA-PSS-restricted key could not do
	 * the PKCS#1 v1.5 mechanisms the token advertises. */
	return EVP_PKEY_is_a(key, "RSA");
}

/* Decodes a PKCS#1 RSAPrivateKey (RFC 8017 A.1.2), which holds no OIDs.
 *
 * Not with OSSL_DECODER: OpenSSL 3.0's DER decoder copies its input into
 * buffers it frees without wiping, so the private exponent and primes
 * stayed in freed heap memory after logout (tests/hardening/test-secrets.c
 * finds them under ASan, whose allocator does not reuse freed memory at
 * once).  The integers are read here and handed to the provider as
 * parameters: BIGNUMs flagged secure make OSSL_PARAM_BLD put their copies
 * in the block that OSSL_PARAM_free wipes (with or without a secure heap,
 * which the module sets up only when configured to: ef_crypto_secure_heap). */
static EVP_PKEY *decode_rsa_private(const unsigned char *der, size_t len)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	struct ef_der d = { der, len }, seq, v, mag;
	BIGNUM *bn[8] = { NULL };
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;
	unsigned long version;
	size_t i;

	/* RSAPrivateKey ::= SEQUENCE { version (0: two primes), n, e, d,
	 * p, q, dP, dQ, qInv }; multi-prime keys (version 1) are refused. */
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &seq, NULL) || d.n != 0 ||
	    !ef_der_take(&seq, EF_DER_INTEGER, &v, NULL) || !ef_der_small_uint(v, 0, &version))
		return NULL;
	for (i = 0; i < 8; i++) {
		if (!ef_der_take(&seq, EF_DER_INTEGER, &v, NULL) || !ef_der_uint(v, &mag) ||
		    mag.n > INT_MAX)
			goto out;
		bn[i] = BN_secure_new();
		if (bn[i] == NULL || BN_bin2bn(mag.p, (int)mag.n, bn[i]) == NULL)
			goto out;
	}
	if (seq.n != 0 || BN_is_zero(bn[0]) || BN_is_zero(bn[2]))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		goto out;
	for (i = 0; i < 8; i++)
		if (!OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	/* By OID, not "RSA": see rsa_pub_from_ne (an engine's RSA method). */
	pctx = EVP_PKEY_CTX_new_from_name(g_ctx, "1.2.840.113549.1.1.1", NULL);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	if (key != NULL && !key_is_rsa(key)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

enum p8_kind { P8_NOT_PKCS8, P8_RSA, P8_OTHER };

/* PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm,
 * privateKey OCTET STRING, ... } (RFC 5208 §5 / RFC 5958 §2). */
static enum p8_kind p8_split(const unsigned char *p, size_t len, struct ef_der *rsakey)
{
	struct ef_der d = { p, len }, pki, alg, oid, ver;

	if (!ef_der_take(&d, EF_DER_SEQUENCE, &pki, NULL) || d.n != 0 ||
	    !ef_der_take(&pki, EF_DER_INTEGER, &ver, NULL) || ver.n != 1 || ver.p[0] > 1 ||
	    !ef_der_take(&pki, EF_DER_SEQUENCE, &alg, NULL) ||
	    !ef_der_take(&alg, EF_DER_OID, &oid, NULL) ||
	    !ef_der_take(&pki, EF_DER_OCTET_STRING, rsakey, NULL))
		return P8_NOT_PKCS8;
	return ef_der_oid_is(oid, OID_RSA_ENCRYPTION) ? P8_RSA : P8_OTHER;
}

/* Takes ownership of key. */
static CK_RV accept_key(EVP_PKEY *key, struct ef_pkey **out)
{
	if (!key_is_rsa(key)) {
		EVP_PKEY_free(key);
		return CKR_KEY_TYPE_INCONSISTENT;
	}
	*out = (struct ef_pkey *)key;
	return CKR_OK;
}

/* An unencrypted key: PKCS#8 PrivateKeyInfo or PKCS#1 RSAPrivateKey. */
static CK_RV open_plain(const unsigned char *der, size_t len, struct ef_pkey **out)
{
	struct ef_der rsakey;
	EVP_PKEY *key;

	switch (p8_split(der, len, &rsakey)) {
	case P8_OTHER:
		return CKR_KEY_TYPE_INCONSISTENT;
	case P8_RSA:
		key = decode_rsa_private(rsakey.p, rsakey.n);
		break;
	default:
		key = decode_rsa_private(der, len);
		break;
	}
	if (key == NULL)
		return CKR_DATA_INVALID;
	return accept_key(key, out);
}

/* EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm
 * AlgorithmIdentifier, encryptedData OCTET STRING } (RFC 5208 §6), with a
 * PKCS#5 or PKCS#12 password-based scheme: a DigestInfo has the same
 * shape and must not pass. */
struct epki {
	struct ef_der alg_oid, params, data;
};

static bool epki_split(const unsigned char *p, size_t len, struct epki *e)
{
	struct ef_der d = { p, len }, seq, alg;

	memset(e, 0, sizeof(*e));
	if (!ef_der_take(&d, EF_DER_SEQUENCE, &seq, NULL) || d.n != 0 ||
	    !ef_der_take(&seq, EF_DER_SEQUENCE, &alg, NULL) ||
	    !ef_der_take(&alg, EF_DER_OID, &e->alg_oid, NULL) ||
	    !ef_der_take(&seq, EF_DER_OCTET_STRING, &e->data, NULL) || seq.n != 0)
		return false;
	e->params = alg;
	return ef_der_oid_under(e->alg_oid, ARC_PKCS5) || ef_der_oid_under(e->alg_oid, ARC_PKCS12_PBE);
}

/* PBES2 with PBKDF2 (RFC 8018 §6.2, A.2, A.4), the scheme of every SAT key
 * and of OpenSSL's own `pkcs8 -topk8`. */
struct pbes2 {
	struct ef_der salt, iv;
	unsigned long iter;
	const char *prf;      /* digest name */
	const char *cipher;   /* cipher name */
	size_t key_len;
};

static bool pbes2_parse(struct ef_der params, struct pbes2 *s)
{
	static const struct { unsigned char last; const char *md; } prfs[] = {
		{ 0x07, "SHA1" }, { 0x08, "SHA2-224" }, { 0x09, "SHA2-256" },
		{ 0x0a, "SHA2-384" }, { 0x0b, "SHA2-512" },
	};
	static const unsigned char hmac_arc[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02 };
	static const unsigned char aes_arc[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };
	struct ef_der seq, kdf, kdf_oid, kp, enc, enc_oid, v, prf, prf_oid;
	unsigned long klen = 0;

	memset(s, 0, sizeof(*s));
	s->prf = "SHA1";   /* prf DEFAULT algid-hmacWithSHA1 */
	if (!ef_der_take(&params, EF_DER_SEQUENCE, &seq, NULL) ||
	    !ef_der_take(&seq, EF_DER_SEQUENCE, &kdf, NULL) ||
	    !ef_der_take(&kdf, EF_DER_OID, &kdf_oid, NULL) || !ef_der_oid_is(kdf_oid, OID_PBKDF2) ||
	    !ef_der_take(&kdf, EF_DER_SEQUENCE, &kp, NULL) ||
	    !ef_der_take(&seq, EF_DER_SEQUENCE, &enc, NULL) ||
	    !ef_der_take(&enc, EF_DER_OID, &enc_oid, NULL) ||
	    !ef_der_take(&enc, EF_DER_OCTET_STRING, &s->iv, NULL))
		return false;
	/* PBKDF2-params: salt as an OCTET STRING (not otherSource), an
	 * iteration count bounded so a hostile file cannot stall C_Login
	 * for minutes, optional keyLength, optional prf. */
	if (!ef_der_take(&kp, EF_DER_OCTET_STRING, &s->salt, NULL) ||
	    !ef_der_take(&kp, EF_DER_INTEGER, &v, NULL) ||
	    !ef_der_small_uint(v, 10000000UL, &s->iter) || s->iter == 0)
		return false;
	if (ef_der_take(&kp, EF_DER_INTEGER, &v, NULL) && !ef_der_small_uint(v, 64, &klen))
		return false;
	if (ef_der_take(&kp, EF_DER_SEQUENCE, &prf, NULL)) {
		size_t i;

		if (!ef_der_take(&prf, EF_DER_OID, &prf_oid, NULL) ||
		    prf_oid.n != sizeof(hmac_arc) + 1 ||
		    memcmp(prf_oid.p, hmac_arc, sizeof(hmac_arc)) != 0)
			return false;
		for (i = 0; i < sizeof(prfs) / sizeof(prfs[0]); i++)
			if (prf_oid.p[sizeof(hmac_arc)] == prfs[i].last)
				break;
		if (i == sizeof(prfs) / sizeof(prfs[0]))
			return false;
		s->prf = prfs[i].md;
	}
	if (ef_der_oid_is(enc_oid, OID_DES_EDE3_CBC)) {
		s->cipher = "DES-EDE3-CBC";
		s->key_len = 24;
	} else if (enc_oid.n == sizeof(aes_arc) + 1 &&
		   memcmp(enc_oid.p, aes_arc, sizeof(aes_arc)) == 0) {
		switch (enc_oid.p[sizeof(aes_arc)]) {
		case 0x02: s->cipher = "AES-128-CBC"; s->key_len = 16; break;
		case 0x16: s->cipher = "AES-192-CBC"; s->key_len = 24; break;
		case 0x2a: s->cipher = "AES-256-CBC"; s->key_len = 32; break;
		default: return false;
		}
	} else {
		return false;
	}
	return klen == 0 || klen == s->key_len;
}

static CK_RV pbkdf2(const struct pbes2 *s, const unsigned char *pin, size_t pin_len,
		    unsigned char *key)
{
	EVP_KDF *kdf = EVP_KDF_fetch(g_ctx, "PBKDF2", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	unsigned int iter = (unsigned int)s->iter;
	int pkcs5 = 1;   /* 1 = no SP 800-132 lower bounds: SAT keys predate them */
	OSSL_PARAM params[6];
	CK_RV rv = CKR_FUNCTION_FAILED;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
		(void *)(pin_len > 0 ? pin : (const unsigned char *)""), pin_len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		(void *)s->salt.p, s->salt.n);
	params[2] = OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter);
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)s->prf, 0);
	params[4] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
	params[5] = OSSL_PARAM_construct_end();
	if (kctx != NULL && EVP_KDF_derive(kctx, key, s->key_len, params) == 1)
		rv = CKR_OK;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rv;
}

/* CBC decryption with PKCS#7 padding into a fresh buffer (the key in the
 * clear: ef_secret_alloc'd, for ef_secret_free).  CKR_PIN_INCORRECT when
 * the padding is wrong. */
static CK_RV cbc_decrypt(const char *cipher_name, const unsigned char *key,
			 struct ef_der iv, struct ef_der in, unsigned char **out, size_t *out_len)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(g_ctx, cipher_name, NULL);
	EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
	unsigned char *buf = NULL;
	size_t cap = in.n + EVP_MAX_BLOCK_LENGTH;
	int n1 = 0, n2 = 0;
	CK_RV rv = CKR_FUNCTION_FAILED;

	*out = NULL;
	*out_len = 0;
	if (cipher == NULL || cctx == NULL || in.n > INT_MAX - EVP_MAX_BLOCK_LENGTH)
		goto out;
	if ((size_t)EVP_CIPHER_get_iv_length(cipher) != iv.n) {
		rv = CKR_DATA_INVALID;
		goto out;
	}
	buf = ef_secret_alloc(cap);
	if (buf == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (EVP_DecryptInit_ex2(cctx, cipher, key, iv.p, NULL) != 1)
		goto out;
	rv = CKR_PIN_INCORRECT;
	if (EVP_DecryptUpdate(cctx, buf, &n1, in.p, (int)in.n) != 1 ||
	    EVP_DecryptFinal_ex(cctx, buf + n1, &n2) != 1)
		goto out;
	*out = buf;
	*out_len = (size_t)n1 + (size_t)n2;
	buf = NULL;
	rv = CKR_OK;
out:
	ef_secret_free(buf);
	EVP_CIPHER_CTX_free(cctx);
	EVP_CIPHER_free(cipher);
	return rv;
}

/* The most work a key file may ask of C_Login, as in pbes2_split: a
 * hostile .key must not make a login (and the browser waiting on it) spin
 * for hours. */
#define EF_MAX_PBE_ITER 10000000UL
#define EF_MAX_SCRYPT_WORK (1UL << 24)   /* N * r * p block mixes */

static bool integer_at_most(const ASN1_INTEGER *i, uint64_t max, uint64_t *v)
{
	return i != NULL && ASN1_INTEGER_get_uint64(v, i) == 1 && *v >= 1 && *v <= max;
}

/* True when the scheme's work factor is within the caps above: PKCS#5 v1
 * and PKCS#12 PBEs (iterations), PBES2 with PBKDF2 (iterations) or scrypt
 * (N * r * p).  Anything else is refused before any key derivation. */
static bool work_factor_ok(const X509_SIG *sig)
{
	const X509_ALGOR *alg = NULL;
	uint64_t a, b, c;
	bool ok = false;

	X509_SIG_get0(sig, &alg, NULL);
	if (alg == NULL || alg->parameter == NULL)
		return false;
	if (OBJ_obj2nid(alg->algorithm) != NID_pbes2) {
		PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
		ok = pbe != NULL && integer_at_most(pbe->iter, EF_MAX_PBE_ITER, &a);
		PBEPARAM_free(pbe);
		return ok;
	}
	PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	if (p2 == NULL || p2->keyfunc == NULL || p2->keyfunc->parameter == NULL)
		goto out;
	switch (OBJ_obj2nid(p2->keyfunc->algorithm)) {
	case NID_id_pbkdf2: {
		PBKDF2PARAM *k = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
							   p2->keyfunc->parameter);
		ok = k != NULL && integer_at_most(k->iter, EF_MAX_PBE_ITER, &a);
		PBKDF2PARAM_free(k);
		break;
	}
	case NID_id_scrypt: {
		SCRYPT_PARAMS *k = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS),
							     p2->keyfunc->parameter);
		ok = k != NULL && integer_at_most(k->costParameter, EF_MAX_SCRYPT_WORK, &a) &&
		     integer_at_most(k->blockSize, EF_MAX_SCRYPT_WORK, &b) &&
		     integer_at_most(k->parallelizationParameter, EF_MAX_SCRYPT_WORK, &c) &&
		     a * b <= EF_MAX_SCRYPT_WORK && a * b * c <= EF_MAX_SCRYPT_WORK;
		SCRYPT_PARAMS_free(k);
		break;
	}
	default:
		break;
	}
out:
	PBE2PARAM_free(p2);
	return ok;
}

/* Schemes other than PBES2/PBKDF2 with 3DES/AES (PKCS#12 PBEs, scrypt)
 * are left to OpenSSL's PKCS#8 code, in our context.  No SAT key and no
 * default `openssl pkcs8 -topk8` output takes this path. */
static CK_RV open_epki_openssl(const unsigned char *der, size_t len,
			       const unsigned char *pin, size_t pin_len, struct ef_pkey **out)
{
	const unsigned char *p = der;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;
	CK_RV rv = CKR_PIN_INCORRECT;

	if (len > LONG_MAX || pin_len > INT_MAX)
		return CKR_PIN_INCORRECT;
	sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (sig == NULL)
		return CKR_DATA_INVALID;
	if (!work_factor_ok(sig)) {
		X509_SIG_free(sig);
		return CKR_DATA_INVALID;
	}
	/* OpenSSL wipes its decrypted buffer (zbuf) and the PrivateKeyInfo
	 * octets when freeing them. */
	p8 = PKCS8_decrypt_ex(sig, pin_len > 0 ? (const char *)pin : "", (int)pin_len,
			      g_ctx, NULL);
	if (p8 != NULL)
		key = EVP_PKCS82PKEY_ex(p8, g_ctx, NULL);
	if (key != NULL) {
		rv = accept_key(key, out);
		key = NULL;
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	return rv;
}

/* Once the container is known to be encrypted, every failure means the
 * PIN did not open it: a wrong password gives a bad CBC padding most of
 * the time and garbage that is not a PrivateKeyInfo otherwise. */
static CK_RV open_epki(const unsigned char *der, size_t len, const struct epki *e,
		       const unsigned char *pin, size_t pin_len, struct ef_pkey **out)
{
	unsigned char key[EVP_MAX_KEY_LENGTH];
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	struct pbes2 s;
	CK_RV rv;

	if (!ef_der_oid_is(e->alg_oid, OID_PBES2) || !pbes2_parse(e->params, &s))
		return open_epki_openssl(der, len, pin, pin_len, out);
	/* The PIN goes in as (bytes, length): no NUL termination, no
	 * re-encoding, any byte allowed. */
	rv = pbkdf2(&s, pin, pin_len, key);
	if (rv == CKR_OK)
		rv = cbc_decrypt(s.cipher, key, s.iv, e->data, &plain, &plain_len);
	if (rv == CKR_OK) {
		rv = open_plain(plain, plain_len, out);
		if (rv == CKR_DATA_INVALID)
			rv = CKR_PIN_INCORRECT;
	}
	OPENSSL_cleanse(key, sizeof(key));
	ef_secret_free(plain);
	return rv;
}

/* "Proc-Type: 4,ENCRYPTED" in a traditional PEM header (RFC 1421 §4.6.1.1). */
static bool pem_header_encrypted(const char *header)
{
	return header != NULL && strstr(header, "Proc-Type:") != NULL &&
	       strstr(header, "ENCRYPTED") != NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decrypts an OpenSSL "traditional" encrypted PEM body.  The header says
 * "DEK-Info: CIPHER,IVHEX"; the key is EVP_BytesToKey(MD5, pass, salt =
 * first 8 IV bytes, 1 iteration).  Written here rather than calling
 * PEM_do_header, which looks the cipher up in the default library
 * context.  On success *plain is for ef_secret_free. */
static CK_RV pem_traditional_decrypt(const char *header, const unsigned char *body,
				     size_t body_len, const unsigned char *pin,
				     size_t pin_len, unsigned char **plain,
				     size_t *plain_len)
{
	unsigned char iv[EVP_MAX_IV_LENGTH], key[EVP_MAX_KEY_LENGTH];
	char cname[64];
	const char *dek, *p;
	EVP_CIPHER *cipher = NULL;
	EVP_MD *md5 = NULL;
	size_t i, ivlen;
	int klen;
	CK_RV rv = CKR_DATA_INVALID;

	*plain = NULL;
	*plain_len = 0;
	dek = strstr(header, "DEK-Info:");
	if (dek == NULL)
		goto out;
	p = dek + strlen("DEK-Info:");
	while (*p == ' ' || *p == '\t')
		p++;
	for (i = 0; p[i] != ',' && p[i] != '\0' && p[i] != '\n' && p[i] != '\r'; i++)
		if (i + 1 >= sizeof(cname))
			goto out;
	if (p[i] != ',')
		goto out;
	memcpy(cname, p, i);
	cname[i] = '\0';
	p += i + 1;
	cipher = EVP_CIPHER_fetch(g_ctx, cname, NULL);
	if (cipher == NULL)
		goto out;
	ivlen = (size_t)EVP_CIPHER_get_iv_length(cipher);
	klen = EVP_CIPHER_get_key_length(cipher);
	if (ivlen < 8 || ivlen > sizeof(iv) || klen <= 0 || klen > (int)sizeof(key))
		goto out;
	for (i = 0; i < ivlen; i++) {
		int hi = hexval((unsigned char)p[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto out;
		iv[i] = (unsigned char)(hi << 4 | lo);
	}
	rv = CKR_PIN_INCORRECT;
	if (pin_len > INT_MAX)
		goto out;
	md5 = EVP_MD_fetch(g_ctx, "MD5", NULL);
	if (md5 == NULL) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	if (EVP_BytesToKey(cipher, md5, iv, pin_len > 0 ? pin : (const unsigned char *)"",
			   (int)pin_len, 1, key, NULL) != klen)
		goto out;
	rv = cbc_decrypt(cname, key, (struct ef_der){ iv, ivlen },
			 (struct ef_der){ body, body_len }, plain, plain_len);
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_free(cipher);
	EVP_MD_free(md5);
	return rv;
}

static bool is_key_pem_name(const char *name)
{
	size_t n = strlen(name);

	/* "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY",
	 * "EC PRIVATE KEY", ... */
	return n >= 11 && strcmp(name + n - 11, "PRIVATE KEY") == 0;
}

static CK_RV open_pem_block(const struct pem_block *b, const unsigned char *pin,
			    size_t pin_len, struct ef_pkey **out)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	size_t len = (size_t)b->body_len;
	struct epki e;
	CK_RV rv;

	if (strcmp(b->name, PEM_STRING_PKCS8) == 0) {
		if (!epki_split(b->body, len, &e))
			return CKR_DATA_INVALID;
		return open_epki(b->body, len, &e, pin, pin_len, out);
	}
	if (strcmp(b->name, PEM_STRING_PKCS8INF) != 0 &&
	    strcmp(b->name, PEM_STRING_RSA) != 0)
		return CKR_KEY_TYPE_INCONSISTENT;   /* EC, DSA, ... */
	if (pem_header_encrypted(b->header)) {
		rv = pem_traditional_decrypt(b->header, b->body, len, pin, pin_len,
					     &plain, &plain_len);
		if (rv != CKR_OK)
			return rv;
		rv = open_plain(plain, plain_len, out);
		/* Garbage that happened to have a valid CBC padding. */
		if (rv == CKR_DATA_INVALID)
			rv = CKR_PIN_INCORRECT;
		ef_secret_free(plain);
		return rv;
	}
	return open_plain(b->body, len, out);
}

static CK_RV key_open_pem(const unsigned char *data, size_t len,
			  const unsigned char *pin, size_t pin_len, struct ef_pkey **out)
{
	struct pem_block b;
	BIO *bio;
	CK_RV rv = CKR_DATA_INVALID;

	if (len > INT_MAX)
		return CKR_DATA_INVALID;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		return CKR_HOST_MEMORY;
	/* The first block that is a private key decides. */
	while (pem_next(bio, &b)) {
		bool is_key = is_key_pem_name(b.name);

		if (is_key)
			rv = open_pem_block(&b, pin, pin_len, out);
		pem_block_clear(&b);
		if (is_key)
			break;
	}
	BIO_free(bio);
	return rv;
}

CK_RV ef_key_open(const unsigned char *data, size_t len,
		  const unsigned char *pin, size_t pin_len, struct ef_pkey **out)
{
	struct epki e;
	CK_RV rv;

	*out = NULL;
	if (data == NULL || len == 0)
		return CKR_DATA_INVALID;
	if (pin == NULL)
		pin_len = 0;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	if (has_pem_armor(data, len))
		rv = key_open_pem(data, len, pin, pin_len, out);
	else if (epki_split(data, len, &e))
		rv = open_epki(data, len, &e, pin, pin_len, out);
	else
		rv = open_plain(data, len, out);
	ERR_pop_to_mark();
	return rv;
}

/* An EncryptedPrivateKeyInfo's PBKDF2 iterations, as ef_key_kdf_iterations
 * says; 0 when the bytes are not one. */
static unsigned long epki_iterations(const unsigned char *der, size_t len)
{
	struct epki e;
	struct pbes2 s;

	if (!epki_split(der, len, &e))
		return 0;
	if (!ef_der_oid_is(e.alg_oid, OID_PBES2) || !pbes2_parse(e.params, &s))
		return ULONG_MAX;
	return s.iter;
}

unsigned long ef_key_kdf_iterations(const unsigned char *data, size_t len)
{
	struct pem_block b;
	BIO *bio;
	unsigned long r = 0;

	if (data == NULL || len == 0 || !ready())
		return 0;
	ERR_set_mark();
	if (!has_pem_armor(data, len)) {
		r = epki_iterations(data, len);
		goto out;
	}
	if (len > INT_MAX)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		goto out;
	/* The first block that is a private key decides, as in ef_key_open. */
	while (pem_next(bio, &b)) {
		bool is_key = is_key_pem_name(b.name);

		if (is_key && strcmp(b.name, PEM_STRING_PKCS8) == 0) {
			r = epki_iterations(b.body, (size_t)b.body_len);
			/* Labelled encrypted but unreadable: as costly as any
			 * scheme this module does not know. */
			if (r == 0)
				r = ULONG_MAX;
		} else if (is_key && pem_header_encrypted(b.header)) {
			r = 1;   /* EVP_BytesToKey, one MD5 */
		}
		pem_block_clear(&b);
		if (is_key)
			break;
	}
	BIO_free(bio);
out:
	ERR_pop_to_mark();
	return r;
}

bool ef_key_is_encrypted(const unsigned char *data, size_t len)
{
	return ef_key_kdf_iterations(data, len) != 0;
}

CK_RV ef_pubkey_from_spki(const unsigned char *spki, size_t len, struct ef_pkey **out)
{
	struct spki_parts sp;
	EVP_PKEY *key;
	CK_RV rv;

	*out = NULL;
	if (spki == NULL || len == 0)
		return CKR_DATA_INVALID;
	if (!spki_split(spki, len, &sp))
		return CKR_DATA_INVALID;
	if (!sp.is_rsa)
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	key = rsa_pub_from_ne(sp.n, sp.e);
	rv = key == NULL ? CKR_DATA_INVALID : accept_key(key, out);
	ERR_pop_to_mark();
	return rv;
}

bool ef_key_matches_spki(const struct ef_pkey *k, const unsigned char *spki, size_t len)
{
	struct spki_parts sp;
	bool r;

	if (k == NULL || spki == NULL || len == 0 || !spki_split(spki, len, &sp) || !sp.is_rsa)
		return false;
	ERR_set_mark();
	r = key_has_ne(pk(k), sp.n, sp.e);
	ERR_pop_to_mark();
	return r;
}

size_t ef_key_size(const struct ef_pkey *k)
{
	int n;

	if (k == NULL)
		return 0;
	n = EVP_PKEY_get_size(pk(k));
	return n > 0 ? (size_t)n : 0;
}

struct ef_pkey *ef_key_ref(struct ef_pkey *k)
{
	if (k != NULL && EVP_PKEY_up_ref(pk(k)) != 1)
		return NULL;
	return k;
}

void ef_key_unref(struct ef_pkey *k)
{
	/* EVP_PKEY_free on the last reference frees the provider key data;
	 * the default provider's RSA free clears the private BIGNUMs. */
	if (k != NULL) {
		ERR_set_mark();
		EVP_PKEY_free(pk(k));
		ERR_pop_to_mark();
	}
}

/* CBC encryption with PKCS#7 padding; out holds in_len + one block. */
static CK_RV cbc_encrypt(const char *cipher_name, const unsigned char *key,
			 const unsigned char *iv, const unsigned char *in, size_t in_len,
			 unsigned char *out, size_t *out_len)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(g_ctx, cipher_name, NULL);
	EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (cipher != NULL && cctx != NULL && in_len <= INT_MAX - EVP_MAX_BLOCK_LENGTH &&
	    EVP_EncryptInit_ex2(cctx, cipher, key, iv, NULL) == 1 &&
	    EVP_EncryptUpdate(cctx, out, &n1, in, (int)in_len) == 1 &&
	    EVP_EncryptFinal_ex(cctx, out + n1, &n2) == 1) {
		*out_len = (size_t)n1 + (size_t)n2;
		rv = CKR_OK;
	}
	EVP_CIPHER_CTX_free(cctx);
	EVP_CIPHER_free(cipher);
	return rv;
}

CK_RV ef_key_export_sat(const struct ef_pkey *k, const unsigned char *pin,
			size_t pin_len, unsigned char **out, size_t *out_len)
{
	/* AlgorithmIdentifier { rsaEncryption, NULL } */
	static const unsigned char rsa_alg[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
		0x01, 0x05, 0x00 };
	static const unsigned char v0[] = { 0x02, 0x01, 0x00 };
	static const unsigned char iter2048[] = { 0x08, 0x00 };
	unsigned char salt[8], iv[8], key[24];
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *rsakey = NULL, *p8 = NULL, *ct = NULL, *der = NULL, *w;
	size_t rsakey_len = 0, p8_len = 0, p8_cap = 0, ct_len = 0, ct_cap = 0;
	size_t kdf_len, enc_len, params_len, alg_len, total, kp_len;
	struct pbes2 s;
	CK_RV rv = CKR_FUNCTION_FAILED;

	*out = NULL;
	*out_len = 0;
	if (k == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pin == NULL)
		pin_len = 0;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	/* RSAPrivateKey (PKCS#1), wrapped by hand into the PrivateKeyInfo
	 * that SAT encrypts: {v0, rsaEncryption NULL, OCTET STRING}. */
	ectx = OSSL_ENCODER_CTX_new_for_pkey(pk(k), EVP_PKEY_KEYPAIR, "DER",
					     "type-specific", NULL);
	if (ectx == NULL || OSSL_ENCODER_to_data(ectx, &rsakey, &rsakey_len) != 1)
		goto out;
	kp_len = sizeof(v0) + sizeof(rsa_alg) + ef_der_hdr_len(rsakey_len) + rsakey_len;
	p8_cap = ef_der_hdr_len(kp_len) + kp_len;
	p8 = ef_secret_alloc(p8_cap);
	ct_cap = p8_cap + EVP_MAX_BLOCK_LENGTH;
	ct = OPENSSL_malloc(ct_cap);
	if (p8 == NULL || ct == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	w = p8 + ef_der_put_hdr(p8, EF_DER_SEQUENCE, kp_len);
	memcpy(w, v0, sizeof(v0));
	w += sizeof(v0);
	memcpy(w, rsa_alg, sizeof(rsa_alg));
	w += sizeof(rsa_alg);
	w = ef_der_put(w, EF_DER_OCTET_STRING, rsakey, rsakey_len);
	p8_len = (size_t)(w - p8);

	/* PBES2 (RFC 8018 §6.2) with PBKDF2: hmacWithSHA1 is the PRF's
	 * DEFAULT and is left out as SAT leaves it; 2048 iterations; a fresh
	 * 8-byte salt and IV from our DRBG. */
	if (RAND_bytes_ex(g_ctx, salt, sizeof(salt), 0) != 1 ||
	    RAND_bytes_ex(g_ctx, iv, sizeof(iv), 0) != 1)
		goto out;
	memset(&s, 0, sizeof(s));
	s.salt = (struct ef_der){ salt, sizeof(salt) };
	s.iter = 2048;
	s.prf = "SHA1";
	s.cipher = "DES-EDE3-CBC";
	s.key_len = sizeof(key);
	rv = pbkdf2(&s, pin, pin_len, key);
	if (rv == CKR_OK)
		rv = cbc_encrypt(s.cipher, key, iv, p8, p8_len, ct, &ct_len);
	if (rv != CKR_OK)
		goto out;

	/* EncryptedPrivateKeyInfo, inside out. */
	{
		size_t pbkdf2_params = 2 + sizeof(salt) + 2 + sizeof(iter2048);
		size_t kdf_inner = 2 + 9 + ef_der_hdr_len(pbkdf2_params) + pbkdf2_params;
		size_t enc_inner = 2 + 8 + 2 + sizeof(iv);

		kdf_len = ef_der_hdr_len(kdf_inner) + kdf_inner;
		enc_len = ef_der_hdr_len(enc_inner) + enc_inner;
		params_len = kdf_len + enc_len;
		alg_len = 2 + 9 + ef_der_hdr_len(params_len) + params_len;
		total = ef_der_hdr_len(alg_len) + alg_len + ef_der_hdr_len(ct_len) + ct_len;
		der = malloc(ef_der_hdr_len(total) + total);
		if (der == NULL) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		w = der + ef_der_put_hdr(der, EF_DER_SEQUENCE, total);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, alg_len);
		w = ef_der_put(w, EF_DER_OID, OID_PBES2);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, params_len);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, kdf_inner);
		w = ef_der_put(w, EF_DER_OID, OID_PBKDF2);
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, pbkdf2_params);
		w = ef_der_put(w, EF_DER_OCTET_STRING, salt, sizeof(salt));
		w = ef_der_put(w, EF_DER_INTEGER, iter2048, sizeof(iter2048));
		w += ef_der_put_hdr(w, EF_DER_SEQUENCE, enc_inner);
		w = ef_der_put(w, EF_DER_OID, OID_DES_EDE3_CBC);
		w = ef_der_put(w, EF_DER_OCTET_STRING, iv, sizeof(iv));
		w = ef_der_put(w, EF_DER_OCTET_STRING, ct, ct_len);
		*out = der;
		*out_len = (size_t)(w - der);
		der = NULL;
	}
	rv = CKR_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(der);
	OPENSSL_free(ct);
	ef_secret_free(p8);
	if (rsakey != NULL)
		OPENSSL_clear_free(rsakey, rsakey_len);
	OSSL_ENCODER_CTX_free(ectx);
	ERR_pop_to_mark();
	return rv;
}

/* ------------------------------------------------------------------- RSA */

/* Compares a k-byte big-endian value with the modulus: a ciphertext
 * must be numerically smaller than n (RFC 8017 §5.1.2). */
static CK_RV below_modulus(EVP_PKEY *key, const unsigned char *x, size_t k, bool *below)
{
	BIGNUM *n = NULL;
	unsigned char *nb = NULL;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1)
		goto out;
	nb = OPENSSL_malloc(k);
	if (nb == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (BN_bn2binpad(n, nb, (int)k) != (int)k)
		goto out;
	*below = memcmp(x, nb, k) < 0;
	rv = CKR_OK;
out:
	OPENSSL_free(nb);
	BN_free(n);
	return rv;
}

/* RFC 8017 §9.1.1: emLen = ceil((modBits - 1) / 8) and the salt fits
 * when emLen >= hLen + sLen + 2. */
static bool pss_salt_fits(EVP_PKEY *key, size_t hlen, size_t salt_len)
{
	int bits = EVP_PKEY_get_bits(key);
	size_t em_len;

	if (bits <= 1)
		return false;
	em_len = ((size_t)bits - 1 + 7) / 8;
	return em_len >= hlen + 2 && salt_len <= em_len - hlen - 2 && salt_len <= INT_MAX;
}

static const EVP_MD *mgf1_of(const struct ef_rsa_params *p)
{
	/* EF_HASH_NONE for MGF1: the mechanism layer validated the
	 * parameters; fall back to the message hash, as RFC 8017 suggests. */
	return md_of(p->mgf1 != EF_HASH_NONE ? p->mgf1 : p->hash);
}

/* Validates the input for a signature operation and configures pctx.
 * There is no raw RSA (EF_PAD_NONE) here: the private key only ever
 * computes a padded signature (DESIGN.md §8). */
static CK_RV sig_setup(EVP_PKEY_CTX *pctx, EVP_PKEY *key, const struct ef_rsa_params *p,
		       size_t in_len, size_t k)
{
	size_t hlen = ef_hash_size(p->hash);

	switch (p->pad) {
	case EF_PAD_PKCS1:
		if (p->hash == EF_HASH_NONE) {
			/* PKCS#11 CKM_RSA_PKCS: at most k-11 bytes. */
			if (k < 11 || in_len > k - 11)
				return CKR_DATA_LEN_RANGE;
			if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
				return CKR_FUNCTION_FAILED;
			return CKR_OK;
		}
		if (hlen == 0)
			return CKR_MECHANISM_PARAM_INVALID;
		if (in_len != hlen)
			return CKR_DATA_LEN_RANGE;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, md_of(p->hash)) <= 0)
			return CKR_FUNCTION_FAILED;
		return CKR_OK;
	case EF_PAD_PSS:
		if (hlen == 0 || mgf1_of(p) == NULL)
			return CKR_MECHANISM_PARAM_INVALID;
		if (in_len != hlen)
			return CKR_DATA_LEN_RANGE;
		/* A salt the key cannot hold is a parameter problem, not a
		 * data problem: the same sLen fails for every input. */
		if (!pss_salt_fits(key, hlen, p->salt_len))
			return CKR_MECHANISM_PARAM_INVALID;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, md_of(p->hash)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1_of(p)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)p->salt_len) <= 0)
			return CKR_FUNCTION_FAILED;
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

CK_RV ef_rsa_sign(struct ef_pkey *kp, const struct ef_rsa_params *p,
		  const unsigned char *in, size_t in_len,
		  unsigned char *sig, size_t *sig_len)
{
	EVP_PKEY *key = pk(kp);
	EVP_PKEY_CTX *pctx = NULL;
	size_t k = ef_key_size(kp), len = k;
	CK_RV rv;

	if (key == NULL || k == 0)
		return CKR_KEY_HANDLE_INVALID;
	ERR_set_mark();
	pctx = EVP_PKEY_CTX_new_from_pkey(g_ctx, key, NULL);
	if (pctx == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (EVP_PKEY_sign_init(pctx) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	rv = sig_setup(pctx, key, p, in_len, k);
	if (rv != CKR_OK)
		goto out;
	if (EVP_PKEY_sign(pctx, sig, &len, in, in_len) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	*sig_len = len;
out:
	EVP_PKEY_CTX_free(pctx);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_rsa_verify(struct ef_pkey *kp, const struct ef_rsa_params *p,
		    const unsigned char *in, size_t in_len,
		    const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY *key = pk(kp);
	EVP_PKEY_CTX *pctx = NULL;
	size_t k = ef_key_size(kp);
	CK_RV rv;

	if (key == NULL || k == 0)
		return CKR_KEY_HANDLE_INVALID;
	if (sig_len != k)
		return CKR_SIGNATURE_LEN_RANGE;
	ERR_set_mark();
	pctx = EVP_PKEY_CTX_new_from_pkey(g_ctx, key, NULL);
	if (pctx == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (EVP_PKEY_verify_init(pctx) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	rv = sig_setup(pctx, key, p, in_len, k);
	if (rv != CKR_OK)
		goto out;
	if (EVP_PKEY_verify(pctx, sig, sig_len, in, in_len) != 1)
		rv = CKR_SIGNATURE_INVALID;
out:
	EVP_PKEY_CTX_free(pctx);
	ERR_pop_to_mark();
	return rv;
}

/* Configures pctx for encrypt/decrypt. */
static CK_RV cipher_setup(EVP_PKEY_CTX *pctx, const struct ef_rsa_params *p)
{
	unsigned char *label;

	switch (p->pad) {
	case EF_PAD_PKCS1:
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0
		       ? CKR_OK : CKR_FUNCTION_FAILED;
	case EF_PAD_OAEP:
		if (ef_hash_size(p->hash) == 0 || mgf1_of(p) == NULL)
			return CKR_MECHANISM_PARAM_INVALID;
		if (p->label_len > INT_MAX || (p->label_len > 0 && p->label == NULL))
			return CKR_MECHANISM_PARAM_INVALID;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md_of(p->hash)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1_of(p)) <= 0)
			return CKR_FUNCTION_FAILED;
		if (p->label_len == 0)
			return CKR_OK;
		/* set0 takes ownership of an OPENSSL_malloc'd copy. */
		label = OPENSSL_memdup(p->label, p->label_len);
		if (label == NULL)
			return CKR_HOST_MEMORY;
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, (int)p->label_len) <= 0) {
			OPENSSL_free(label);
			return CKR_FUNCTION_FAILED;
		}
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

CK_RV ef_rsa_encrypt(struct ef_pkey *kp, const struct ef_rsa_params *p,
		     const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len)
{
	EVP_PKEY *key = pk(kp);
	EVP_PKEY_CTX *pctx = NULL;
	size_t k = ef_key_size(kp), len = k, hlen, max;
	CK_RV rv;

	if (key == NULL || k == 0)
		return CKR_KEY_HANDLE_INVALID;
	ERR_set_mark();
	/* Input limits, PKCS#11 3.0 §2.1.6 and §2.1.8: k-11 for v1.5,
	 * k-2-2hLen for OAEP. */
	switch (p->pad) {
	case EF_PAD_PKCS1:
		max = k >= 11 ? k - 11 : 0;
		break;
	case EF_PAD_OAEP:
		hlen = ef_hash_size(p->hash);
		if (hlen == 0) {
			rv = CKR_MECHANISM_PARAM_INVALID;
			goto out;
		}
		max = k >= 2 * hlen + 2 ? k - 2 * hlen - 2 : 0;
		break;
	default:
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (in_len > max) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	pctx = EVP_PKEY_CTX_new_from_pkey(g_ctx, key, NULL);
	if (pctx == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (EVP_PKEY_encrypt_init(pctx) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	rv = cipher_setup(pctx, p);
	if (rv != CKR_OK)
		goto out;
	if (EVP_PKEY_encrypt(pctx, out, &len, in, in_len) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	*out_len = len;
out:
	EVP_PKEY_CTX_free(pctx);
	ERR_pop_to_mark();
	return rv;
}

CK_RV ef_rsa_decrypt(struct ef_pkey *kp, const struct ef_rsa_params *p,
		     const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len)
{
	EVP_PKEY *key = pk(kp);
	EVP_PKEY_CTX *pctx = NULL;
	size_t k = ef_key_size(kp), len = k;
	bool below = false;
	CK_RV rv;

	if (key == NULL || k == 0)
		return CKR_KEY_HANDLE_INVALID;
	/* Every RSA ciphertext is exactly k bytes. */
	if (in_len != k)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	ERR_set_mark();
	rv = below_modulus(key, in, k, &below);
	if (rv == CKR_OK && !below)
		rv = CKR_ENCRYPTED_DATA_INVALID;
	if (rv != CKR_OK)
		goto out;
	pctx = EVP_PKEY_CTX_new_from_pkey(g_ctx, key, NULL);
	if (pctx == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (EVP_PKEY_decrypt_init(pctx) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	rv = cipher_setup(pctx, p);
	if (rv != CKR_OK)
		goto out;
	if (EVP_PKEY_decrypt(pctx, out, &len, in, in_len) <= 0) {
		rv = CKR_ENCRYPTED_DATA_INVALID;
		goto out;
	}
	*out_len = len;
out:
	EVP_PKEY_CTX_free(pctx);
	ERR_pop_to_mark();
	return rv;
}
