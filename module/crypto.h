/*
 * crypto.h - the crypto layer: the only door to OpenSSL for the rest of
 * the module.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything here runs in a private OSSL_LIB_CTX with the default provider
 * loaded explicitly: the host's openssl.cnf is never read (it might load a
 * PKCS#11 provider that calls back into this module), no global OpenSSL
 * init or cleanup is called, and every function leaves the calling thread's
 * OpenSSL error queue exactly as it found it.
 *
 * One file per concern: ossl_ctx.c (the context, secure heap, random),
 * secret.c (wiped memory), digest.c, x509.c (certificates), key_open.c
 * (opening a .key), key_export.c (writing one as SAT does), pkey.c (the
 * key handle), rsa.c; beneath them, files only they include: der.h (the
 * DER reader and writer, no OpenSSL), pem.h, pbes2.h, pkey.h, ossl_ctx.h.
 */
#ifndef EF_CRYPTO_H
#define EF_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "efirma-pkcs11.h"
#include "sat.h"

/* Creates the private library context.  Idempotent; ef_crypto_fini frees it
 * (not called in a forked child, which keeps using the parent's copy). */
CK_RV ef_crypto_init(void);
void ef_crypto_fini(void);
/* At the end of a thread of the module's own that used OpenSSL (a key
 * freed by a rescan): its per-thread state is freed now, not leaked. */
void ef_crypto_thread_done(void);
/* Initialises OpenSSL's secure heap (process-wide: CRYPTO_secure_malloc_init)
 * unless the host did; keys opened afterwards keep their private parts in
 * it.  false when it could not be set up. */
bool ef_crypto_secure_heap(void);

/* ---------------------------------------------------------- certificates */

/* Everything the module needs from one certificate; all buffers owned. */
struct ef_cert {
	unsigned char *der;     size_t der_len;      /* the certificate, DER */
	unsigned char *subject; size_t subject_len;  /* Name, DER */
	unsigned char *issuer;  size_t issuer_len;   /* Name, DER */
	unsigned char *serial;  size_t serial_len;   /* INTEGER, DER with tag */
	unsigned char *spki;    size_t spki_len;     /* SubjectPublicKeyInfo, DER */
	unsigned char *modulus; size_t modulus_len;  /* RSA n, big endian, no leading 0 */
	unsigned char *exponent; size_t exponent_len;/* RSA e */
	unsigned long modulus_bits;
	bool is_rsa;
	unsigned char key_id[20];     /* SHA-1 of the subjectPublicKey BIT STRING value */
	unsigned char hash_sha1[20];  /* SHA-1 of der (CKA_CHECK_VALUE is its first 3 bytes) */
	struct tm not_before, not_after;  /* UTC */
	time_t not_before_t, not_after_t;
	bool is_ca;                   /* basicConstraints cA */
	bool self_issued;             /* subject == issuer */
	/* SAT interpretation (RFC, CURP, kind, ...) and the issuer's CN. */
	struct ef_sat_facts sat;
	bool is_sat;                  /* the subject carries an RFC */
	char *issuer_cn;              /* UTF-8, malloc'd, maybe "" */
	uint32_t key_usage;           /* EF_KU_* */
	bool has_key_usage;
	uint32_t ext_key_usage;       /* EF_EKU_* */
};

/* Parses a certificate from DER or PEM bytes.  CKR_OK, or
 * CKR_DATA_INVALID when the bytes are not a certificate, CKR_HOST_MEMORY. */
CK_RV ef_cert_parse(const unsigned char *data, size_t len, struct ef_cert *out);
void ef_cert_clear(struct ef_cert *c);

/* Reads every certificate in a file (DER, or PEM with one or more blocks).
 * *out is a malloc'd array of *n parsed certificates; CKR_OK with *n == 0 when
 * nothing in the file is a certificate. */
CK_RV ef_cert_parse_all(const unsigned char *data, size_t len,
			struct ef_cert **out, size_t *n);

/* True when child's signature verifies with parent's public key and
 * child's issuer equals parent's subject. */
bool ef_cert_issued_by(const struct ef_cert *child, const struct ef_cert *parent);

/* ----------------------------------------------------------- private keys */

struct ef_pkey;   /* an RSA key (private, or public only); reference counted */

/* Opens a .key: DER or PEM; encrypted PKCS#8 (PBES2 as SAT writes it, or
 * any scheme the default provider handles), OpenSSL "traditional"
 * encrypted PEM, or unencrypted PKCS#8 / PKCS#1 (then the PIN is ignored).
 * CKR_OK; CKR_PIN_INCORRECT when the container is an encrypted key that
 * this PIN does not open; CKR_DATA_INVALID when the bytes are not a private
 * key at all; CKR_KEY_TYPE_INCONSISTENT for a non-RSA key; CKR_HOST_MEMORY. */
CK_RV ef_key_open(const unsigned char *data, size_t len,
		  const unsigned char *pin, size_t pin_len, struct ef_pkey **out);

/* True when the bytes hold an encrypted key (a PIN is needed). */
bool ef_key_is_encrypted(const unsigned char *data, size_t len);

/* What a PIN costs on this key, read from its header before any key
 * derivation, in PBKDF2 iterations: 0 when the bytes are no encrypted key
 * (unencrypted, or not a key), 1 for OpenSSL's traditional PEM encryption,
 * the iteration count of PBES2 with PBKDF2 (SAT: 2048), and ULONG_MAX for
 * every other scheme (PKCS#12 PBEs, scrypt): their cost is not counted in
 * iterations, and no SAT key uses them. */
unsigned long ef_key_kdf_iterations(const unsigned char *data, size_t len);

/* A public-key-only handle from a SubjectPublicKeyInfo (for verify/encrypt). */
CK_RV ef_pubkey_from_spki(const unsigned char *spki, size_t len, struct ef_pkey **out);

/* True when the key's public half equals the SubjectPublicKeyInfo. */
bool ef_key_matches_spki(const struct ef_pkey *k, const unsigned char *spki, size_t len);

/* Modulus size in bytes (the length of every signature). */
size_t ef_key_size(const struct ef_pkey *k);

struct ef_pkey *ef_key_ref(struct ef_pkey *k);
/* Drops a reference; the last one frees the key, wiping private components. */
void ef_key_unref(struct ef_pkey *k);

/* Writes the private key as SAT does: DER EncryptedPrivateKeyInfo, PBES2,
 * PBKDF2 with hmacWithSHA1 (PRF omitted), 2048 iterations, a fresh random
 * 8-byte salt, des-ede3-cbc with a fresh random IV.  *out is malloc'd; free
 * it with ef_free_secret (it is not secret, but it is harmless). */
CK_RV ef_key_export_sat(const struct ef_pkey *k, const unsigned char *pin,
			size_t pin_len, unsigned char **out, size_t *out_len);

/* ---------------------------------------------------------------- hashes */

enum ef_hash { EF_HASH_NONE = 0, EF_HASH_SHA1, EF_HASH_SHA224, EF_HASH_SHA256,
	       EF_HASH_SHA384, EF_HASH_SHA512 };

size_t ef_hash_size(enum ef_hash h);

struct ef_digest;   /* a running hash */
CK_RV ef_digest_new(enum ef_hash h, struct ef_digest **out);
CK_RV ef_digest_update(struct ef_digest *d, const unsigned char *data, size_t len);
/* Writes ef_hash_size bytes and resets nothing: call once. */
CK_RV ef_digest_final(struct ef_digest *d, unsigned char *out);
void ef_digest_free(struct ef_digest *d);
CK_RV ef_digest_oneshot(enum ef_hash h, const unsigned char *data, size_t len,
			unsigned char *out);

/* ------------------------------------------------------------------- RSA */

/* EF_PAD_NONE: no RSA operation (the digest mechanisms).  Raw RSA is not
 * implemented: every RSA function refuses it with CKR_MECHANISM_INVALID. */
enum ef_pad { EF_PAD_PKCS1, EF_PAD_NONE, EF_PAD_PSS, EF_PAD_OAEP };

struct ef_rsa_params {
	enum ef_pad pad;
	/* PKCS1 sign/verify: EF_HASH_NONE signs the input as given (it is
	 * already a DigestInfo); a hash means the input is that hash's value
	 * and the DigestInfo is built here.  PSS/OAEP: the hash (required). */
	enum ef_hash hash;
	enum ef_hash mgf1;          /* PSS/OAEP */
	size_t salt_len;            /* PSS */
	const unsigned char *label; /* OAEP, may be NULL */
	size_t label_len;
};

/* sig must hold ef_key_size(k) bytes; *sig_len receives the length.
 * CKR_DATA_LEN_RANGE for input the padding cannot take. */
CK_RV ef_rsa_sign(struct ef_pkey *k, const struct ef_rsa_params *p,
		  const unsigned char *in, size_t in_len,
		  unsigned char *sig, size_t *sig_len);
/* CKR_OK, CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE. */
CK_RV ef_rsa_verify(struct ef_pkey *k, const struct ef_rsa_params *p,
		    const unsigned char *in, size_t in_len,
		    const unsigned char *sig, size_t sig_len);
/* out must hold ef_key_size(k) bytes. */
CK_RV ef_rsa_encrypt(struct ef_pkey *k, const struct ef_rsa_params *p,
		     const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len);
/* out must hold ef_key_size(k) bytes.  CKR_ENCRYPTED_DATA_INVALID on a
 * padding error, CKR_ENCRYPTED_DATA_LEN_RANGE on a wrong length. */
CK_RV ef_rsa_decrypt(struct ef_pkey *k, const struct ef_rsa_params *p,
		     const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t *out_len);

/* ---------------------------------------------------------------- misc */

CK_RV ef_random(unsigned char *out, size_t len);
void ef_cleanse(void *p, size_t len);
/* Wipes then frees a malloc'd buffer of len bytes (NULL is fine). */
void ef_free_secret(void *p, size_t len);
/* A buffer for key material or a password: zeroed, on pages of its own
 * that are left out of core dumps (MADV_DONTDUMP); NULL when out of
 * memory.  ef_secret_free wipes all of it and unmaps it (NULL is fine). */
void *ef_secret_alloc(size_t len);
void ef_secret_free(void *p);

#endif
