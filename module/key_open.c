/*
 * key_open.c - opening a .key with its password: DER or PEM; encrypted
 * PKCS#8 (PBES2 as SAT writes it, read here; other schemes through
 * OpenSSL's PKCS#8 code), OpenSSL's traditional encrypted PEM, or a key
 * in the clear; and what a password costs on it before trying one.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "pbes2.h"
#include "pem.h"
#include "pkey.h"

/* Arcs of the password-based encryption schemes: PKCS#5 and PKCS#12. */
#define ARC_PKCS5           EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05)
#define ARC_PKCS12_PBE      EF_OID_BYTES(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01)

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
	return ef_der_oid_is(oid, EF_OID_RSA_ENCRYPTION) ? P8_RSA : P8_OTHER;
}

/* An unencrypted key: PKCS#8 PrivateKeyInfo or PKCS#1 RSAPrivateKey. */
static CK_RV open_plain(const unsigned char *der, size_t len, struct ef_pkey **out)
{
	struct ef_der rsakey;
	EVP_PKEY *key;

	switch (p8_split(der, len, &rsakey)) {
	case P8_OTHER:
		return EF_FAIL(CKR_KEY_TYPE_INCONSISTENT);
	case P8_RSA:
		key = ef_pkey_rsa_private(rsakey.p, rsakey.n);
		break;
	default:
		key = ef_pkey_rsa_private(der, len);
		break;
	}
	if (key == NULL)
		return EF_OSSL_FAIL(EF_R_NOT_A_KEY);
	return ef_pkey_accept(key, out);
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


/* The most work a key file may ask of C_Login, as in ef_pbes2_parse: a
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
	CK_RV rv;

	if (len > LONG_MAX || pin_len > INT_MAX)
		return EF_FAIL(CKR_PIN_INCORRECT);
	sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (sig == NULL)
		return EF_OSSL_FAIL(EF_R_NOT_A_KEY);
	if (!work_factor_ok(sig)) {
		X509_SIG_free(sig);
		return EF_FAIL(CKR_DATA_INVALID);
	}
	/* OpenSSL wipes its decrypted buffer (zbuf) and the PrivateKeyInfo
	 * octets when freeing them. */
	p8 = PKCS8_decrypt_ex(sig, pin_len > 0 ? (const char *)pin : "", (int)pin_len,
			      ef_ossl_libctx(), NULL);
	if (p8 != NULL)
		key = EVP_PKCS82PKEY_ex(p8, ef_ossl_libctx(), NULL);
	if (key != NULL)
		rv = ef_pkey_accept(key, out);
	else
		rv = EF_OSSL_FAIL(CKR_PIN_INCORRECT);
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
	struct ef_pbes2 s;
	CK_RV rv;

	if (!ef_der_oid_is(e->alg_oid, EF_OID_PBES2) || !ef_pbes2_parse(e->params, &s))
		return open_epki_openssl(der, len, pin, pin_len, out);
	/* The PIN goes in as (bytes, length): no NUL termination, no
	 * re-encoding, any byte allowed. */
	rv = ef_pbkdf2(&s, pin, pin_len, key);
	if (rv == CKR_OK)
		rv = ef_cbc_decrypt(s.cipher, key, s.iv, e->data, &plain, &plain_len);
	if (rv == CKR_OK) {
		rv = open_plain(plain, plain_len, out);
		if (rv == EF_R_NOT_A_KEY)
			rv = EF_FAIL(CKR_PIN_INCORRECT);
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
	CK_RV rv;

	*plain = NULL;
	*plain_len = 0;
	dek = strstr(header, "DEK-Info:");
	if (dek == NULL) {
		rv = EF_FAIL(CKR_DATA_INVALID);
		goto out;
	}
	p = dek + strlen("DEK-Info:");
	while (*p == ' ' || *p == '\t')
		p++;
	for (i = 0; p[i] != ',' && p[i] != '\0' && p[i] != '\n' && p[i] != '\r'; i++)
		if (i + 1 >= sizeof(cname))
			break;
	if (p[i] != ',') {
		rv = EF_FAIL(CKR_DATA_INVALID);
		goto out;
	}
	memcpy(cname, p, i);
	cname[i] = '\0';
	p += i + 1;
	cipher = EVP_CIPHER_fetch(ef_ossl_libctx(), cname, NULL);
	if (cipher == NULL) {
		rv = EF_OSSL_FAIL(CKR_DATA_INVALID);
		goto out;
	}
	ivlen = (size_t)EVP_CIPHER_get_iv_length(cipher);
	klen = EVP_CIPHER_get_key_length(cipher);
	if (ivlen < 8 || ivlen > sizeof(iv) || klen <= 0 || klen > (int)sizeof(key)) {
		rv = EF_FAIL(CKR_DATA_INVALID);
		goto out;
	}
	for (i = 0; i < ivlen; i++) {
		int hi = hexval((unsigned char)p[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			rv = EF_FAIL(CKR_DATA_INVALID);
			goto out;
		}
		iv[i] = (unsigned char)(hi << 4 | lo);
	}
	if (pin_len > INT_MAX) {
		rv = EF_FAIL(CKR_PIN_INCORRECT);
		goto out;
	}
	md5 = EVP_MD_fetch(ef_ossl_libctx(), "MD5", NULL);
	if (md5 == NULL) {
		rv = EF_OSSL_FAIL(CKR_GENERAL_ERROR);
		goto out;
	}
	if (EVP_BytesToKey(cipher, md5, iv, pin_len > 0 ? pin : (const unsigned char *)"",
			   (int)pin_len, 1, key, NULL) != klen) {
		rv = EF_OSSL_FAIL(CKR_PIN_INCORRECT);
		goto out;
	}
	rv = ef_cbc_decrypt(cname, key, (struct ef_der){ iv, ivlen },
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

static CK_RV open_pem_block(const struct ef_pem_block *b, const unsigned char *pin,
			    size_t pin_len, struct ef_pkey **out)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	size_t len = (size_t)b->body_len;
	struct epki e;
	CK_RV rv;

	if (strcmp(b->name, PEM_STRING_PKCS8) == 0) {
		if (!epki_split(b->body, len, &e))
			return EF_FAIL(EF_R_NOT_A_KEY);
		return open_epki(b->body, len, &e, pin, pin_len, out);
	}
	if (strcmp(b->name, PEM_STRING_PKCS8INF) != 0 &&
	    strcmp(b->name, PEM_STRING_RSA) != 0)
		return EF_FAIL(CKR_KEY_TYPE_INCONSISTENT);   /* EC, DSA, ... */
	if (pem_header_encrypted(b->header)) {
		rv = pem_traditional_decrypt(b->header, b->body, len, pin, pin_len,
					     &plain, &plain_len);
		if (rv != CKR_OK)
			return rv;
		rv = open_plain(plain, plain_len, out);
		/* Garbage that happened to have a valid CBC padding. */
		if (rv == EF_R_NOT_A_KEY)
			rv = EF_FAIL(CKR_PIN_INCORRECT);
		ef_secret_free(plain);
		return rv;
	}
	return open_plain(b->body, len, out);
}

static CK_RV key_open_pem(const unsigned char *data, size_t len,
			  const unsigned char *pin, size_t pin_len, struct ef_pkey **out)
{
	struct ef_pem_block b;
	BIO *bio;
	CK_RV rv = CKR_OK;
	bool found = false;

	if (len > INT_MAX)
		return EF_FAIL(EF_R_NOT_A_KEY);
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		return EF_OSSL_FAIL(CKR_HOST_MEMORY);
	/* The first block that is a private key decides. */
	while (!found && ef_pem_next(bio, &b)) {
		found = is_key_pem_name(b.name);
		if (found)
			rv = open_pem_block(&b, pin, pin_len, out);
		ef_pem_block_clear(&b);
	}
	BIO_free(bio);
	if (!found)
		rv = EF_FAIL(EF_R_NOT_A_KEY);
	return rv;
}

CK_RV ef_key_open(const unsigned char *data, size_t len,
		  const unsigned char *pin, size_t pin_len, struct ef_pkey **out)
{
	struct epki e;
	CK_RV rv;

	*out = NULL;
	if (data == NULL || len == 0)
		return EF_FAIL(CKR_DATA_INVALID);
	if (pin == NULL)
		pin_len = 0;
	rv = ef_ossl_begin();
	if (rv != CKR_OK)
		return rv;
	if (ef_pem_armored(data, len))
		rv = key_open_pem(data, len, pin, pin_len, out);
	else if (epki_split(data, len, &e))
		rv = open_epki(data, len, &e, pin, pin_len, out);
	else
		rv = open_plain(data, len, out);
	ERR_pop_to_mark();
	/* Not a key at all: CKR_DATA_INVALID, as crypto.h says. */
	return ef_rv_public(rv);
}

/* An EncryptedPrivateKeyInfo's PBKDF2 iterations, as ef_key_kdf_iterations
 * says; 0 when the bytes are not one. */
static unsigned long epki_iterations(const unsigned char *der, size_t len)
{
	struct epki e;
	struct ef_pbes2 s;

	if (!epki_split(der, len, &e))
		return 0;
	if (!ef_der_oid_is(e.alg_oid, EF_OID_PBES2) || !ef_pbes2_parse(e.params, &s))
		return ULONG_MAX;
	return s.iter;
}

unsigned long ef_key_kdf_iterations(const unsigned char *data, size_t len)
{
	struct ef_pem_block b;
	BIO *bio;
	unsigned long r = 0;

	if (data == NULL || len == 0 || !ef_ossl_ready())
		return 0;
	ef_ossl_mark();
	if (!ef_pem_armored(data, len)) {
		r = epki_iterations(data, len);
		goto out;
	}
	if (len > INT_MAX)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		goto out;
	/* The first block that is a private key decides, as in ef_key_open. */
	while (ef_pem_next(bio, &b)) {
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
		ef_pem_block_clear(&b);
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
