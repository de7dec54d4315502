/*
 * crypto.c - the only file that calls OpenSSL.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * All work happens in a private OSSL_LIB_CTX with the default provider
 * loaded by hand.  The default library context is never touched: any
 * implicit fetch from it makes OpenSSL 3 read the host's openssl.cnf, and a
 * host whose configuration loads a PKCS#11 provider would call back into
 * this module.  That is why certificates are decoded into objects made with
 * X509_new_ex, keys through OSSL_DECODER with our context, digests and
 * ciphers are fetched explicitly, and the convenience calls that fetch
 * behind our back (PEM_read_bio_PrivateKey, PEM_do_header, X509_digest with
 * EVP_sha1(), ...) are not used.
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
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"

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

/* ---------------------------------------------------------- certificates */

static enum ef_str_type str_type_of(int asn1_type)
{
	switch (asn1_type) {
	case V_ASN1_UTF8STRING:
		return EF_STR_UTF8;
	case V_ASN1_T61STRING:
		/* SAT writes Latin-1 bytes into T61Strings (the Ñ of
		 * HAÑ930228SM9 is 0xD1), not T.61 code points. */
		return EF_STR_LATIN1;
	case V_ASN1_BMPSTRING:
		return EF_STR_BMP;
	case V_ASN1_UNIVERSALSTRING:
		return EF_STR_UNIVERSAL;
	default:
		/* Printable, IA5, Visible, Numeric; anything stranger is
		 * treated as ASCII and sat.c replaces what is not. */
		return EF_STR_ASCII;
	}
}

/* The first attribute of type nid in name, as raw bytes (borrowed). */
static struct ef_raw_str name_attr(const X509_NAME *name, int nid)
{
	struct ef_raw_str s = { NULL, 0, EF_STR_ASCII };
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	X509_NAME_ENTRY *e;
	const ASN1_STRING *v;

	if (i < 0)
		return s;
	e = X509_NAME_get_entry(name, i);
	v = e != NULL ? X509_NAME_ENTRY_get_data(e) : NULL;
	if (v == NULL)
		return s;
	s.bytes = ASN1_STRING_get0_data(v);
	s.len = (size_t)ASN1_STRING_length(v);
	s.type = str_type_of(ASN1_STRING_type(v));
	if (s.bytes == NULL) {
		/* present but empty */
		s.bytes = (const unsigned char *)"";
		s.len = 0;
	}
	return s;
}

/* i2d into a malloc'd buffer (so ef_cert_clear can use free()). */
static CK_RV i2d_dup(int len, unsigned char *tmp, unsigned char **out, size_t *out_len)
{
	if (len <= 0 || tmp == NULL)
		return CKR_FUNCTION_FAILED;
	*out = memdup_plain(tmp, (size_t)len);
	if (*out == NULL)
		return CKR_HOST_MEMORY;
	*out_len = (size_t)len;
	return CKR_OK;
}

static CK_RV name_der(const X509_NAME *name, unsigned char **out, size_t *out_len)
{
	unsigned char *tmp = NULL;
	int len = i2d_X509_NAME(name, &tmp);
	CK_RV rv = i2d_dup(len, tmp, out, out_len);

	OPENSSL_free(tmp);
	return rv;
}

static CK_RV bn_dup(const BIGNUM *bn, unsigned char **out, size_t *out_len)
{
	int n = BN_num_bytes(bn);

	/* BN_bn2bin writes big endian without leading zeros, which is what
	 * CKA_MODULUS and CKA_PUBLIC_EXPONENT hold. */
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (*out == NULL)
		return CKR_HOST_MEMORY;
	*out_len = (size_t)BN_bn2bin(bn, *out);
	return CKR_OK;
}

/* Parses DER into an X509 bound to our context: d2i into an object from
 * X509_new_ex is how OpenSSL 3 attaches a library context to a decoded
 * certificate (used for the extension cache and for X509_verify). */
static X509 *x509_from_der(const unsigned char *der, size_t len, size_t *used)
{
	X509 *x = X509_new_ex(g_ctx, NULL);
	const unsigned char *p = der;

	if (x == NULL)
		return NULL;
	if (len > LONG_MAX || d2i_X509(&x, &p, (long)len) == NULL) {
		X509_free(x);
		return NULL;
	}
	if (used != NULL)
		*used = (size_t)(p - der);
	return x;
}

static EVP_PKEY *pubkey_from_spki_der(const unsigned char *spki, size_t len)
{
	EVP_PKEY *key = NULL;
	OSSL_DECODER_CTX *dctx;
	const unsigned char *p = spki;
	size_t left = len;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "SubjectPublicKeyInfo",
					     NULL, EVP_PKEY_PUBLIC_KEY, g_ctx, NULL);
	if (dctx == NULL)
		return NULL;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	return key;
}

static bool key_is_rsa(const EVP_PKEY *key)
{
	/* Plain rsaEncryption only: an RSA-PSS-restricted key could not do
	 * the PKCS#1 v1.5 mechanisms the token advertises. */
	return EVP_PKEY_is_a(key, "RSA");
}

static uint32_t ku_from_openssl(uint32_t ku)
{
	/* OpenSSL keeps the first octet of the BIT STRING (bit 0 =
	 * digitalSignature is 0x80); EF_KU_* number the bits as
	 * RFC 5280 §4.2.1.3 does. */
	static const struct { uint32_t ossl, ef; } map[] = {
		{ KU_DIGITAL_SIGNATURE, EF_KU_DIGITAL_SIGNATURE },
		{ KU_NON_REPUDIATION, EF_KU_NON_REPUDIATION },
		{ KU_KEY_ENCIPHERMENT, EF_KU_KEY_ENCIPHERMENT },
		{ KU_DATA_ENCIPHERMENT, EF_KU_DATA_ENCIPHERMENT },
		{ KU_KEY_AGREEMENT, EF_KU_KEY_AGREEMENT },
		{ KU_KEY_CERT_SIGN, EF_KU_KEY_CERT_SIGN },
		{ KU_CRL_SIGN, EF_KU_CRL_SIGN },
	};
	uint32_t r = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ku & map[i].ossl)
			r |= map[i].ef;
	return r;
}

static CK_RV time_of(const ASN1_TIME *t, struct tm *tm, time_t *tt)
{
	memset(tm, 0, sizeof(*tm));
	if (t == NULL || ASN1_TIME_to_tm(t, tm) != 1)
		return CKR_DATA_INVALID;
	*tt = timegm(tm);
	return CKR_OK;
}

/* The public half of the certificate: SPKI, n, e, key_id. */
static CK_RV cert_key_facts(X509 *x, struct ef_cert *out)
{
	X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(x);
	unsigned char *tmp = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *n = NULL, *e = NULL;
	CK_RV rv;
	int len;

	if (xpk == NULL || bits == NULL)
		return CKR_DATA_INVALID;
	len = i2d_X509_PUBKEY(xpk, &tmp);
	rv = i2d_dup(len, tmp, &out->spki, &out->spki_len);
	OPENSSL_free(tmp);
	if (rv != CKR_OK)
		goto out;

	/* CKA_ID: SHA-1 of the subjectPublicKey BIT STRING value, without
	 * the unused-bits octet (RFC 5280 §4.2.1.2 method (1)); SAT leaf
	 * certificates carry no subjectKeyIdentifier to copy it from. */
	rv = digest_oneshot_nomark(EF_HASH_SHA1, ASN1_STRING_get0_data(bits),
				   (size_t)ASN1_STRING_length(bits), out->key_id);
	if (rv != CKR_OK)
		goto out;

	key = pubkey_from_spki_der(out->spki, out->spki_len);
	if (key == NULL || !key_is_rsa(key))
		goto out;   /* not RSA: is_rsa stays false, not an error */
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		rv = CKR_DATA_INVALID;
		goto out;
	}
	rv = bn_dup(n, &out->modulus, &out->modulus_len);
	if (rv == CKR_OK)
		rv = bn_dup(e, &out->exponent, &out->exponent_len);
	if (rv != CKR_OK)
		goto out;
	out->modulus_bits = (unsigned long)BN_num_bits(n);
	out->is_rsa = true;
out:
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(key);
	return rv;
}

/* The contents octets of a DER INTEGER (skips tag and length). */
static bool der_integer_contents(const unsigned char *der, size_t len,
				 const unsigned char **val, size_t *val_len)
{
	size_t hdr, n;

	if (len < 2 || der[0] != V_ASN1_INTEGER)
		return false;
	if (der[1] < 0x80) {
		hdr = 2;
		n = der[1];
	} else {
		size_t k = der[1] & 0x7f;

		if (k == 0 || k > sizeof(size_t) || len < 2 + k)
			return false;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = (n << 8) | der[2 + i];
		hdr = 2 + k;
	}
	if (n > len - hdr)
		return false;
	*val = der + hdr;
	*val_len = n;
	return true;
}

static CK_RV cert_from_x509(X509 *x, const unsigned char *der, size_t der_len,
			    struct ef_cert *out)
{
	const X509_NAME *subj_name = X509_get_subject_name(x);
	const X509_NAME *iss_name = X509_get_issuer_name(x);
	BASIC_CONSTRAINTS *bc = NULL;
	struct ef_sat_subject subj;
	struct ef_raw_str icn;
	unsigned char *tmp = NULL;
	uint32_t ku, eku;
	CK_RV rv;
	int len;

	memset(out, 0, sizeof(*out));
	memset(&subj, 0, sizeof(subj));
	if (subj_name == NULL || iss_name == NULL) {
		rv = CKR_DATA_INVALID;
		goto out;
	}
	out->der = memdup_plain(der, der_len);
	if (out->der == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	out->der_len = der_len;
	rv = digest_oneshot_nomark(EF_HASH_SHA1, der, der_len, out->hash_sha1);
	if (rv != CKR_OK)
		goto out;
	rv = name_der(subj_name, &out->subject, &out->subject_len);
	if (rv == CKR_OK)
		rv = name_der(iss_name, &out->issuer, &out->issuer_len);
	if (rv != CKR_OK)
		goto out;
	/* CKA_SERIAL_NUMBER is the DER encoding of the INTEGER, tag and
	 * length included (PKCS#11 3.0 §4.6.3: "DER-encoding of the
	 * certificate serial number"). */
	len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &tmp);
	rv = i2d_dup(len, tmp, &out->serial, &out->serial_len);
	OPENSSL_free(tmp);
	if (rv != CKR_OK)
		goto out;
	rv = cert_key_facts(x, out);
	if (rv != CKR_OK)
		goto out;
	rv = time_of(X509_get0_notBefore(x), &out->not_before, &out->not_before_t);
	if (rv == CKR_OK)
		rv = time_of(X509_get0_notAfter(x), &out->not_after, &out->not_after_t);
	if (rv != CKR_OK)
		goto out;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	out->is_ca = bc != NULL && bc->ca;
	out->self_issued = X509_NAME_cmp(subj_name, iss_name) == 0;

	/* X509_get_key_usage answers UINT32_MAX ("anything") when the
	 * extension is absent; we report absence separately. */
	ku = X509_get_key_usage(x);
	out->has_key_usage = (X509_get_extension_flags(x) & EXFLAG_KUSAGE) != 0;
	out->key_usage = out->has_key_usage ? ku_from_openssl(ku) : 0;
	eku = X509_get_extended_key_usage(x);
	out->ext_key_usage = 0;
	if (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) {
		if (eku & XKU_SSL_CLIENT)
			out->ext_key_usage |= EF_EKU_CLIENT_AUTH;
		if (eku & XKU_SMIME)
			out->ext_key_usage |= EF_EKU_EMAIL_PROTECTION;
	}

	icn = name_attr(iss_name, NID_commonName);
	out->issuer_cn = ef_sat_to_utf8(&icn);
	if (out->issuer_cn == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}

	subj.cn = name_attr(subj_name, NID_commonName);
	subj.ou = name_attr(subj_name, NID_organizationalUnitName);
	subj.unique_id = name_attr(subj_name, NID_x500UniqueIdentifier);
	subj.serial_attr = name_attr(subj_name, NID_serialNumber);
	if (!der_integer_contents(out->serial, out->serial_len, &subj.serial,
				  &subj.serial_len)) {
		rv = CKR_DATA_INVALID;
		goto out;
	}
	subj.key_usage = out->key_usage;
	subj.has_key_usage = out->has_key_usage;
	subj.ext_key_usage = out->ext_key_usage;
	out->is_sat = ef_sat_facts_from(&subj, &out->sat);
	rv = CKR_OK;
out:
	BASIC_CONSTRAINTS_free(bc);
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
	X509 *x = x509_from_der(der, len, used);
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	if (x == NULL)
		return CKR_DATA_INVALID;
	rv = cert_from_x509(x, der, *used, out);
	X509_free(x);
	return rv;
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
			if (rv != CKR_OK) {
				ef_cert_clear(&c);
				goto out;
			}
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
		if (rv != CKR_OK) {
			ef_cert_clear(&c);
			goto out;
		}
	}
out:
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

bool ef_cert_issued_by(const struct ef_cert *child, const struct ef_cert *parent)
{
	X509 *xc = NULL, *xp = NULL;
	EVP_PKEY *pkey;
	bool r = false;

	if (child == NULL || parent == NULL || child->der == NULL || parent->der == NULL)
		return false;
	if (!ready())
		return false;
	ERR_set_mark();
	xc = x509_from_der(child->der, child->der_len, NULL);
	xp = x509_from_der(parent->der, parent->der_len, NULL);
	if (xc == NULL || xp == NULL)
		goto out;
	/* RFC 5280 §6.1.3 (a)(4): the issuer name must equal the working
	 * issuer's name; X509_NAME_cmp compares the canonical forms. */
	if (X509_NAME_cmp(X509_get_issuer_name(xc), X509_get_subject_name(xp)) != 0)
		goto out;
	pkey = X509_get0_pubkey(xp);
	if (pkey == NULL)
		goto out;
	r = X509_verify(xc, pkey) == 1;
out:
	X509_free(xc);
	X509_free(xp);
	ERR_pop_to_mark();
	return r;
}

/* ----------------------------------------------------------- private keys */

/* Decodes an unencrypted private key (PKCS#8 PrivateKeyInfo or a
 * type-specific structure such as PKCS#1 RSAPrivateKey) from DER. */
static EVP_PKEY *decode_plain_key(const unsigned char *der, size_t len)
{
	EVP_PKEY *key = NULL;
	OSSL_DECODER_CTX *dctx;
	const unsigned char *p = der;
	size_t left = len;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", NULL, NULL,
					     EVP_PKEY_KEYPAIR, g_ctx, NULL);
	if (dctx == NULL)
		return NULL;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	return key;
}

/* True when the key holds private components (a decoder may also accept
 * a bare public key). */
static bool has_private(const EVP_PKEY *key)
{
	BIGNUM *d = NULL;
	bool r;

	if (!EVP_PKEY_is_a(key, "RSA") && !EVP_PKEY_is_a(key, "RSA-PSS"))
		return true;   /* other types are refused by type anyway */
	r = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_D, &d) == 1 && d != NULL;
	BN_clear_free(d);
	return r;
}

/* Takes ownership of key; the final verdict for a decoded key. */
static CK_RV accept_key(EVP_PKEY *key, struct ef_pkey **out)
{
	if (!key_is_rsa(key)) {
		EVP_PKEY_free(key);
		return CKR_KEY_TYPE_INCONSISTENT;
	}
	*out = (struct ef_pkey *)key;
	return CKR_OK;
}

static CK_RV open_plain(const unsigned char *der, size_t len, struct ef_pkey **out)
{
	EVP_PKEY *key = decode_plain_key(der, len);

	if (key == NULL)
		return CKR_DATA_INVALID;
	if (!has_private(key)) {
		EVP_PKEY_free(key);
		return CKR_DATA_INVALID;
	}
	return accept_key(key, out);
}

/* An EncryptedPrivateKeyInfo (PKCS#8 §7) whose algorithm is a PBE scheme
 * OpenSSL knows; a DigestInfo has the same shape and must not pass. */
static X509_SIG *parse_epki(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	X509_SIG *sig;

	if (len > LONG_MAX)
		return NULL;
	sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (sig == NULL)
		return NULL;
	X509_SIG_get0(sig, &alg, NULL);
	if (alg != NULL)
		X509_ALGOR_get0(&oid, NULL, NULL, alg);
	if (oid == NULL ||
	    !EVP_PBE_find(EVP_PBE_TYPE_OUTER, OBJ_obj2nid(oid), NULL, NULL, NULL)) {
		X509_SIG_free(sig);
		return NULL;
	}
	return sig;
}

/* Once the container is known to be encrypted, every failure means the
 * PIN did not open it: a wrong password gives a bad CBC padding most of
 * the time and garbage that is not a PrivateKeyInfo otherwise. */
static CK_RV open_epki(const X509_SIG *sig, const unsigned char *pin, size_t pin_len,
		       struct ef_pkey **out)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;
	CK_RV rv;

	if (pin_len > INT_MAX)
		return CKR_PIN_INCORRECT;
	/* The PIN goes in as (bytes, length): no NUL termination, no
	 * re-encoding, any byte allowed.  OpenSSL wipes its decrypted
	 * buffer before freeing it (zbuf set by PKCS8_decrypt_ex) and
	 * PKCS8_PRIV_KEY_INFO_free clears the key octets. */
	p8 = PKCS8_decrypt_ex(sig, pin_len > 0 ? (const char *)pin : "", (int)pin_len,
			      g_ctx, NULL);
	if (p8 == NULL) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	key = EVP_PKCS82PKEY_ex(p8, g_ctx, NULL);
	if (key == NULL) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	rv = accept_key(key, out);
	key = NULL;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(key);
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
 * context.  On success *plain is an OPENSSL_malloc'd buffer to be wiped. */
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
	EVP_CIPHER_CTX *cctx = NULL;
	unsigned char *buf = NULL;
	size_t i, ivlen;
	int n1 = 0, n2 = 0, klen;
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
	if (pin_len > INT_MAX || body_len > INT_MAX - EVP_MAX_BLOCK_LENGTH) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	md5 = EVP_MD_fetch(g_ctx, "MD5", NULL);
	if (md5 == NULL) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	if (EVP_BytesToKey(cipher, md5, iv, pin_len > 0 ? pin : (const unsigned char *)"",
			   (int)pin_len, 1, key, NULL) != klen) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	buf = OPENSSL_malloc(body_len + EVP_MAX_BLOCK_LENGTH);
	cctx = EVP_CIPHER_CTX_new();
	if (buf == NULL || cctx == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	/* From here on the container is known to be encrypted. */
	rv = CKR_PIN_INCORRECT;
	if (EVP_DecryptInit_ex2(cctx, cipher, key, iv, NULL) != 1 ||
	    EVP_DecryptUpdate(cctx, buf, &n1, body, (int)body_len) != 1 ||
	    EVP_DecryptFinal_ex(cctx, buf + n1, &n2) != 1)
		goto out;
	*plain = buf;
	*plain_len = (size_t)n1 + (size_t)n2;
	buf = NULL;
	rv = CKR_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (buf != NULL)
		OPENSSL_clear_free(buf, body_len + EVP_MAX_BLOCK_LENGTH);
	EVP_CIPHER_CTX_free(cctx);
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
	X509_SIG *sig;
	CK_RV rv;

	if (strcmp(b->name, PEM_STRING_PKCS8) == 0) {
		sig = parse_epki(b->body, (size_t)b->body_len);
		if (sig == NULL)
			return CKR_DATA_INVALID;
		rv = open_epki(sig, pin, pin_len, out);
		X509_SIG_free(sig);
		return rv;
	}
	if (pem_header_encrypted(b->header)) {
		rv = pem_traditional_decrypt(b->header, b->body, (size_t)b->body_len,
					     pin, pin_len, &plain, &plain_len);
		if (rv != CKR_OK)
			return rv;
		rv = open_plain(plain, plain_len, out);
		/* Garbage that happened to have a valid CBC padding. */
		if (rv == CKR_DATA_INVALID)
			rv = CKR_PIN_INCORRECT;
		OPENSSL_clear_free(plain, plain_len);
		return rv;
	}
	return open_plain(b->body, (size_t)b->body_len, out);
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
	X509_SIG *sig = NULL;
	CK_RV rv;

	*out = NULL;
	if (data == NULL || len == 0)
		return CKR_DATA_INVALID;
	if (pin == NULL)
		pin_len = 0;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	if (has_pem_armor(data, len)) {
		rv = key_open_pem(data, len, pin, pin_len, out);
		goto out;
	}
	sig = parse_epki(data, len);
	if (sig != NULL)
		rv = open_epki(sig, pin, pin_len, out);
	else
		rv = open_plain(data, len, out);
out:
	X509_SIG_free(sig);
	ERR_pop_to_mark();
	return rv;
}

bool ef_key_is_encrypted(const unsigned char *data, size_t len)
{
	struct pem_block b;
	X509_SIG *sig;
	BIO *bio;
	bool r = false;

	if (data == NULL || len == 0 || !ready())
		return false;
	ERR_set_mark();
	if (!has_pem_armor(data, len)) {
		sig = parse_epki(data, len);
		r = sig != NULL;
		X509_SIG_free(sig);
		goto out;
	}
	if (len > INT_MAX)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		goto out;
	while (pem_next(bio, &b)) {
		bool is_key = is_key_pem_name(b.name);

		if (is_key)
			r = strcmp(b.name, PEM_STRING_PKCS8) == 0 ||
			    pem_header_encrypted(b.header);
		pem_block_clear(&b);
		if (is_key)
			break;
	}
	BIO_free(bio);
out:
	ERR_pop_to_mark();
	return r;
}

CK_RV ef_pubkey_from_spki(const unsigned char *spki, size_t len, struct ef_pkey **out)
{
	EVP_PKEY *key;
	CK_RV rv;

	*out = NULL;
	if (spki == NULL || len == 0)
		return CKR_DATA_INVALID;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	key = pubkey_from_spki_der(spki, len);
	if (key == NULL)
		rv = CKR_DATA_INVALID;
	else
		rv = accept_key(key, out);
	ERR_pop_to_mark();
	return rv;
}

bool ef_key_matches_spki(const struct ef_pkey *k, const unsigned char *spki, size_t len)
{
	EVP_PKEY *pub;
	bool r = false;

	if (k == NULL || spki == NULL || len == 0 || !ready())
		return false;
	ERR_set_mark();
	pub = pubkey_from_spki_der(spki, len);
	/* EVP_PKEY_eq compares the public components (n, e for RSA). */
	if (pub != NULL)
		r = EVP_PKEY_eq(pk(k), pub) == 1;
	EVP_PKEY_free(pub);
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

CK_RV ef_key_export_sat(const struct ef_pkey *k, const unsigned char *pin,
			size_t pin_len, unsigned char **out, size_t *out_len)
{
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *plain = NULL, *der = NULL;
	const unsigned char *p;
	size_t plain_len = 0;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_CIPHER *cipher = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *sig = NULL;
	int der_len;
	CK_RV rv = CKR_FUNCTION_FAILED;

	*out = NULL;
	*out_len = 0;
	if (k == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pin == NULL)
		pin_len = 0;
	if (pin_len > INT_MAX)
		return CKR_PIN_LEN_RANGE;
	if (!ready())
		return CKR_GENERAL_ERROR;
	ERR_set_mark();
	/* PrivateKeyInfo, the plaintext SAT encrypts. */
	ectx = OSSL_ENCODER_CTX_new_for_pkey(pk(k), EVP_PKEY_KEYPAIR, "DER",
					     "PrivateKeyInfo", NULL);
	if (ectx == NULL || OSSL_ENCODER_to_data(ectx, &plain, &plain_len) != 1)
		goto out;
	p = plain;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain_len);
	if (p8 == NULL)
		goto out;
	cipher = EVP_CIPHER_fetch(g_ctx, "DES-EDE3-CBC", NULL);
	if (cipher == NULL)
		goto out;
	/* PKCS#5 v2.1 PBES2 (RFC 8018 §6.2) with PBKDF2: hmacWithSHA1 is the
	 * PRF's DEFAULT, so it is left out of the encoding as SAT leaves it;
	 * 2048 iterations, an 8-byte salt and the IV come from our DRBG
	 * (salt NULL / IV NULL ask OpenSSL for fresh random ones). */
	pbe = PKCS5_pbe2_set_iv_ex(cipher, 2048, NULL, 8, NULL, NID_hmacWithSHA1, g_ctx);
	if (pbe == NULL)
		goto out;
	sig = PKCS8_set0_pbe_ex(pin_len > 0 ? (const char *)pin : "", (int)pin_len,
				p8, pbe, g_ctx, NULL);
	if (sig == NULL)
		goto out;
	pbe = NULL;   /* owned by sig now */
	der = NULL;
	der_len = i2d_X509_SIG(sig, &der);
	if (der_len <= 0)
		goto out;
	*out = memdup_plain(der, (size_t)der_len);
	if (*out == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	*out_len = (size_t)der_len;
	rv = CKR_OK;
out:
	OPENSSL_free(der);
	X509_SIG_free(sig);
	X509_ALGOR_free(pbe);
	EVP_CIPHER_free(cipher);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
	OSSL_ENCODER_CTX_free(ectx);
	ERR_pop_to_mark();
	return rv;
}

/* ------------------------------------------------------------------- RSA */

/* Compares a k-byte big-endian value with the modulus: raw RSA
 * (CKM_RSA_X_509) input must be numerically smaller than n. */
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

/* Left-pads in to k bytes into a fresh buffer (CKM_RSA_X_509: "the input
 * is padded on the left with zeros", PKCS#11 3.0 §2.1.7). */
static CK_RV pad_left(const unsigned char *in, size_t in_len, size_t k,
		      unsigned char **out)
{
	*out = OPENSSL_zalloc(k);
	if (*out == NULL)
		return CKR_HOST_MEMORY;
	memcpy(*out + (k - in_len), in, in_len);
	return CKR_OK;
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
 * For EF_PAD_NONE, *padded receives the k-byte zero-padded input. */
static CK_RV sig_setup(EVP_PKEY_CTX *pctx, EVP_PKEY *key, const struct ef_rsa_params *p,
		       const unsigned char *in, size_t in_len, size_t k,
		       unsigned char **padded)
{
	size_t hlen = ef_hash_size(p->hash);
	bool below = false;
	CK_RV rv;

	*padded = NULL;
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
	case EF_PAD_NONE:
		if (in_len > k)
			return CKR_DATA_LEN_RANGE;
		rv = pad_left(in, in_len, k, padded);
		if (rv == CKR_OK)
			rv = below_modulus(key, *padded, k, &below);
		if (rv == CKR_OK && !below)
			rv = CKR_DATA_INVALID;
		if (rv == CKR_OK && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) <= 0)
			rv = CKR_FUNCTION_FAILED;
		return rv;
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
	unsigned char *padded = NULL;
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
	rv = sig_setup(pctx, key, p, in, in_len, k, &padded);
	if (rv != CKR_OK)
		goto out;
	if (padded != NULL) {
		in = padded;
		in_len = k;
	}
	if (EVP_PKEY_sign(pctx, sig, &len, in, in_len) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	*sig_len = len;
out:
	OPENSSL_clear_free(padded, padded != NULL ? k : 0);
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
	unsigned char *padded = NULL, *rec = NULL;
	size_t k = ef_key_size(kp), rec_len = k;
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
	if (p->pad == EF_PAD_NONE) {
		/* Raw RSA: recover s^e mod n and compare it with the
		 * zero-padded input. */
		if (EVP_PKEY_verify_recover_init(pctx) <= 0) {
			rv = CKR_FUNCTION_FAILED;
			goto out;
		}
		rv = sig_setup(pctx, key, p, in, in_len, k, &padded);
		if (rv == CKR_DATA_INVALID)
			rv = CKR_SIGNATURE_INVALID;  /* cannot be anyone's s^e */
		if (rv != CKR_OK)
			goto out;
		rec = OPENSSL_malloc(k);
		if (rec == NULL) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		if (EVP_PKEY_verify_recover(pctx, rec, &rec_len, sig, sig_len) <= 0 ||
		    rec_len != k || CRYPTO_memcmp(rec, padded, k) != 0)
			rv = CKR_SIGNATURE_INVALID;
		goto out;
	}
	if (EVP_PKEY_verify_init(pctx) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	rv = sig_setup(pctx, key, p, in, in_len, k, &padded);
	if (rv != CKR_OK)
		goto out;
	if (EVP_PKEY_verify(pctx, sig, sig_len, in, in_len) != 1)
		rv = CKR_SIGNATURE_INVALID;
out:
	OPENSSL_free(rec);
	OPENSSL_free(padded);
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
	case EF_PAD_NONE:
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) > 0
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
	unsigned char *padded = NULL;
	size_t k = ef_key_size(kp), len = k, hlen, max;
	bool below = false;
	CK_RV rv;

	if (key == NULL || k == 0)
		return CKR_KEY_HANDLE_INVALID;
	ERR_set_mark();
	/* Input limits, PKCS#11 3.0 §2.1.6-2.1.8: k-11 for v1.5,
	 * k-2-2hLen for OAEP, k for raw RSA. */
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
	case EF_PAD_NONE:
		max = k;
		break;
	default:
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (in_len > max) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	if (p->pad == EF_PAD_NONE) {
		rv = pad_left(in, in_len, k, &padded);
		if (rv == CKR_OK)
			rv = below_modulus(key, padded, k, &below);
		if (rv == CKR_OK && !below)
			rv = CKR_DATA_INVALID;
		if (rv != CKR_OK)
			goto out;
		in = padded;
		in_len = k;
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
	OPENSSL_clear_free(padded, padded != NULL ? k : 0);
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
