/*
 * api-util.h - shared helpers of the API tests (tests/api/test-api-*.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The API tests treat the module as a black box, exactly as a PKCS#11
 * application does: dlopen() + C_GetFunctionList / C_GetInterface, then
 * only the function list.  Everything the tests check the module against
 * (CKA_ID, DER encodings, signatures, ciphertexts) is computed here with
 * plain OpenSSL from the bundle files, never with the module itself.
 *
 * Environment (set by "make check"): EF_TEST_MODULE (the .so), EF_TEST_DATA
 * (tests/data; the SAT bundles under sat/), EF_TEST_BUILDDIR.
 */
#ifndef EF_API_UTIL_H
#define EF_API_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "efirma-pkcs11.h"
#include "ckr_names.h"	/* ef_rv_name, for diagnostics */

/* The password of every SAT test bundle. */
#define API_PIN "12345678a"

/* The loaded module: the 2.40 table from C_GetFunctionList and, when the
 * module offers it, the 3.0 table from C_GetInterface("PKCS 11", {3,0}). */
extern CK_FUNCTION_LIST_PTR P;
extern CK_FUNCTION_LIST_3_0_PTR P3;
extern CK_C_GetInterfaceList api_get_interface_list;
extern CK_C_GetInterface api_get_interface;

/* One SAT-format bundle on disk. */
struct api_bundle {
	char name[128];   /* directory name, e.g. "fiel-pf-CACX7605101P8-2023" */
	char cer[1024];
	char key[1024];
	char pin[64];     /* its password (password.txt), NUL-terminated */
};

/* ---- environment ---------------------------------------------------- */

/* Points XDG_CONFIG_HOME at an empty temporary folder and clears
 * EFIRMA_PKCS11_CONF so that a developer's own configuration is never
 * read.  Call first thing in main(). */
void api_setup_env(void);
/* Removes the temporary folders made by this process (atexit). */
const char *api_module_path(void);
/* $EF_TEST_DATA/sat, or the shared copy while tests/data is not there. */
const char *api_sat_dir(void);
/* "<sat>/<rel>" in a static rotating buffer (8 slots). */
const char *api_sat(const char *rel);
/* A fresh temporary folder, removed at exit. */
const char *api_tmpdir(void);

/* Fills *b from a bundle folder of the SAT set (first .cer that is not
 * .pem, the .key with the same stem or the only .key, password.txt). */
bool api_bundle_from_dir(const char *dir, struct api_bundle *b);
/* All bundles of the SAT set that have a certificate, sorted by name.
 * Returns the count; *out is malloc'd. */
size_t api_sat_bundles(struct api_bundle **out);
/* Loads one SAT bundle by folder name ("fiel-pf-CACX7605101P8-2023"). */
bool api_sat_bundle(const char *name, struct api_bundle *b);

/* ---- module loading ------------------------------------------------- */

/* dlopen()s the module and fills P (and P3 when available).  Returns
 * false, with a diagnostic, if the module cannot be loaded. */
bool api_load(void);
/* C_Initialize with CKF_OS_LOCKING_OK and the configuration string as
 * pReserved (NULL: no pReserved). */
CK_RV api_init(const char *conf);
/* "cert=.. key=.. ca=<sat>/ca" for one bundle. */
CK_RV api_init_bundle(const struct api_bundle *b);
/* Writes a configuration file with one [bundle] section per entry and
 * the SAT test CAs, and initialises with conf=PATH. */
CK_RV api_init_bundles(const struct api_bundle *b, size_t n);
CK_RV api_finalize(void);

/* ---- slots, sessions, objects --------------------------------------- */

/* The slot whose token label (blank padding removed) equals label. */
CK_RV api_find_slot(const char *label, CK_SLOT_ID *slot);
/* The first slot that holds a token. */
CK_RV api_first_token_slot(CK_SLOT_ID *slot);
CK_RV api_open(CK_SLOT_ID slot, bool rw, CK_SESSION_HANDLE *s);
CK_RV api_login(CK_SESSION_HANDLE s, const char *pin);
/* Runs a search; returns the number of handles found (up to max), or
 * (CK_ULONG)-1 when a call failed (the rv is stored in *rv if non-NULL). */
CK_ULONG api_find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		  CK_OBJECT_HANDLE *out, CK_ULONG max, CK_RV *rv);
CK_ULONG api_find_class(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
			CK_OBJECT_HANDLE *out, CK_ULONG max);
/* The end-entity certificate (CKA_CERTIFICATE_CATEGORY 1, or the one
 * certificate that has a key), the public and the private key. */
CK_OBJECT_HANDLE api_leaf_cert(CK_SESSION_HANDLE s);
CK_OBJECT_HANDLE api_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls);

/* Reads one attribute into a malloc'd buffer (length query first). */
CK_RV api_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
	       unsigned char **val, CK_ULONG *len);
/* CK_ULONG / CK_BBOOL attributes; return the fallback on any error. */
CK_ULONG api_attr_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
			CK_ATTRIBUTE_TYPE t, CK_ULONG fallback);
int api_attr_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);

/* ---- independent OpenSSL side ---------------------------------------- */

unsigned char *api_read_file(const char *path, size_t *len);
bool api_write_file(const char *path, const void *data, size_t len);
bool api_copy_file(const char *src, const char *dst);
X509 *api_load_cert(const char *path);
EVP_PKEY *api_cert_pubkey(const char *path);
/* Decrypts the SAT .key (PKCS#8, DER or PEM) with the password bytes. */
EVP_PKEY *api_load_key(const char *path, const void *pass, size_t passlen);
/* SHA-1 of the subjectPublicKey BIT STRING contents: the CKA_ID rule. */
bool api_spki_sha1(X509 *x, unsigned char out[20]);
/* The holder's CN as UTF-8, malloc'd. */
char *api_cert_cn_utf8(X509 *x);
/* OpenSSL digest for a CKM_SHA* / CKG_MGF1_* value, or NULL. */
const EVP_MD *api_md_for_mech(CK_MECHANISM_TYPE m);
const EVP_MD *api_md_for_mgf(CK_RSA_PKCS_MGF_TYPE g);

/* Signature checks, all by OpenSSL against the public key. */
bool api_verify_pkcs1(EVP_PKEY *k, const EVP_MD *md, const void *msg, size_t len,
		      const unsigned char *sig, size_t siglen);
bool api_verify_pss(EVP_PKEY *k, const EVP_MD *md, const EVP_MD *mgf1, int saltlen,
		    const void *msg, size_t len, const unsigned char *sig, size_t siglen);
/* PSS over an already computed hash (CKM_RSA_PKCS_PSS). */
bool api_verify_pss_hash(EVP_PKEY *k, const EVP_MD *md, const EVP_MD *mgf1, int saltlen,
			 const unsigned char *hash, size_t hlen,
			 const unsigned char *sig, size_t siglen);
/* Recovers the signed block (padding: RSA_PKCS1_PADDING or RSA_NO_PADDING)
 * and compares it to data. */
bool api_verify_recover(EVP_PKEY *k, int padding, const void *data, size_t len,
			const unsigned char *sig, size_t siglen);
/* Encryption with the public key; padding RSA_PKCS1_PADDING or
 * RSA_PKCS1_OAEP_PADDING (then md/mgf1/label apply).  Returns the length
 * or 0 on error. */
size_t api_encrypt(EVP_PKEY *k, int padding, const EVP_MD *md, const EVP_MD *mgf1,
		   const void *label, size_t labellen, const void *in, size_t inlen,
		   unsigned char *out, size_t outsize);
size_t api_decrypt(EVP_PKEY *priv, int padding, const EVP_MD *md, const EVP_MD *mgf1,
		   const void *label, size_t labellen, const void *in, size_t inlen,
		   unsigned char *out, size_t outsize);
/* A PKCS#1 v1.5 signature made by OpenSSL with the private key. */
size_t api_sign_pkcs1(EVP_PKEY *priv, const EVP_MD *md, const void *msg, size_t len,
		      unsigned char *sig, size_t sigsize);

/* ---- generated bundles (openssl CLI) --------------------------------- */

/* Makes NAME.cer + NAME.key in dir: an RSA-2048 e.firma-like certificate
 * (x500UniqueIdentifier = rfc, CN = cn) and its key as SAT-scheme PKCS#8
 * (PBES2/PBKDF2-SHA1/2048/des-ede3-cbc) encrypted with the password
 * bytes pass[0..passlen).  csd: CSD key usage (no dataEncipherment). */
bool api_gen_bundle(const char *dir, const char *name, const char *cn,
		    const char *rfc, const char *numero, bool csd,
		    const void *pass, size_t passlen, struct api_bundle *b);
/* A certificate for an existing key file (keyonly vectors): decrypts it
 * with pass and issues a self-signed certificate for its public key. */
bool api_gen_cert_for_key(const char *dir, const char *name, const char *keyfile,
			  const void *pass, size_t passlen, struct api_bundle *b);
/* One row of the MANIFEST written by tests/gen-bundles.sh. */
struct api_gen {
	struct api_bundle b;   /* b.name = the row name; b.pin from its password file */
	char kind[16];         /* "efirma", "csd" or "-" */
	char numero[32];
	char rfc[64];
	char expect[16];       /* "ok", "login-fails", "no-token" */
};
/* The generated bundles: $EF_TEST_GEN/MANIFEST when "make check" made it,
 * else tests/gen-bundles.sh is run into a temporary folder.  Returns the
 * count (0: not available); *out is malloc'd. */
size_t api_gen_bundles(struct api_gen **out);

/* system() with printf formatting; returns the exit status (or -1). */
int api_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- diagnostics ---------------------------------------------------- */

/* Valid UTF-8 (the whole buffer, no NUL bytes). */
bool api_utf8_valid(const unsigned char *p, size_t len);
/* A fixed-size info field: no NUL anywhere, blank padded. */
bool api_blank_padded(const unsigned char *p, size_t len);
/* Copies a blank-padded field into a NUL-terminated string, trailing
 * blanks removed. */
void api_field(const unsigned char *p, size_t len, char *out, size_t outsize);
bool api_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen);
void api_random(void *buf, size_t len);

#endif
