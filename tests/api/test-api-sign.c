/*
 * test-api-sign.c - the cryptographic operations, black-box through the
 * function list; every signature the module makes is verified by OpenSSL
 * against the .cer, never by the module:
 *   - for every SAT bundle with a certificate, generated bundles (OpenSSL's
 *     own PBES2 key with a random salt, a CSD) and the PEM / unencrypted
 *     variants: CKM_SHA1..SHA512_RSA_PKCS single and multi-part (three
 *     C_SignUpdate then C_SignFinal, as Firefox), CKM_RSA_PKCS over a 51-byte
 *     SHA-256 DigestInfo, CKM_RSA_X_509 refused, CKM_RSA_PKCS_PSS
 *     ({SHA256, MGF1_SHA256, 32} as Chromium; SHA384 with MGF1_SHA1; salt 0;
 *     the largest salt k - hLen - 2), CKM_SHA*_RSA_PKCS_PSS single and
 *     multi-part;
 *   - length queries (C_Sign, C_SignFinal, C_Decrypt, C_Digest) keep the
 *     operation alive; other errors end it; bad mechanism parameters;
 *     keys that may not sign; signing after logout;
 *   - C_Verify of OpenSSL-made signatures (good, tampered);
 *   - C_Decrypt of OpenSSL-encrypted data (PKCS#1 v1.5 with
 *     allow-pkcs1-decrypt=1, OAEP SHA-1/SHA-256 with and without a label) on
 *     an e.firma; C_Encrypt checked by OpenSSL with the private key read
 *     from the .key; a CSD refuses to decrypt (the defaults are in
 *     test-api-mechs.c);
 *   - C_Digest single and multi-part against OpenSSL;
 *   - C_GenerateRandom, C_SeedRandom, C_SessionCancel (3.0).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "../tap.h"
#include "api-util.h"

struct tok {
	const char *name;
	struct api_bundle b;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub, cert;
	EVP_PKEY *pubkey;   /* from the .cer, by OpenSSL */
	EVP_PKEY *privkey;  /* from the .key, by OpenSSL (for encryption checks) */
};

static const CK_MECHANISM_TYPE hash_sign_mechs[] = {
	CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
	CKM_SHA512_RSA_PKCS,
};
static const CK_MECHANISM_TYPE pss_sign_mechs[] = {
	CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
	CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
};

static CK_MECHANISM_TYPE hash_of(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA1_RSA_PKCS_PSS: return CKM_SHA_1;
	case CKM_SHA224_RSA_PKCS_PSS: return CKM_SHA224;
	case CKM_SHA256_RSA_PKCS_PSS: return CKM_SHA256;
	case CKM_SHA384_RSA_PKCS_PSS: return CKM_SHA384;
	case CKM_SHA512_RSA_PKCS_PSS: return CKM_SHA512;
	default: return m;
	}
}

static CK_RSA_PKCS_MGF_TYPE mgf_of(CK_MECHANISM_TYPE hash)
{
	switch (hash) {
	case CKM_SHA_1: return CKG_MGF1_SHA1;
	case CKM_SHA224: return CKG_MGF1_SHA224;
	case CKM_SHA256: return CKG_MGF1_SHA256;
	case CKM_SHA384: return CKG_MGF1_SHA384;
	default: return CKG_MGF1_SHA512;
	}
}

/* ------------------------------------------------------------- helpers */

static CK_RV sign1(struct tok *t, CK_MECHANISM *m, const void *data, size_t len,
		   unsigned char *sig, CK_ULONG *siglen)
{
	CK_RV rv = P->C_SignInit(t->s, m, t->priv);
	if (rv != CKR_OK)
		return rv;
	return P->C_Sign(t->s, (CK_BYTE_PTR)data, len, sig, siglen);
}

/* Three C_SignUpdate calls then C_SignFinal, the way NSS feeds a TLS
 * CertificateVerify. */
static CK_RV sign3(struct tok *t, CK_MECHANISM *m, const unsigned char *data, size_t len,
		   unsigned char *sig, CK_ULONG *siglen)
{
	size_t a = len / 3, b = len / 3;
	CK_RV rv = P->C_SignInit(t->s, m, t->priv);
	if (rv == CKR_OK)
		rv = P->C_SignUpdate(t->s, (CK_BYTE_PTR)data, a);
	if (rv == CKR_OK)
		rv = P->C_SignUpdate(t->s, (CK_BYTE_PTR)data + a, b);
	if (rv == CKR_OK)
		rv = P->C_SignUpdate(t->s, (CK_BYTE_PTR)data + a + b, len - a - b);
	if (rv == CKR_OK)
		rv = P->C_SignFinal(t->s, sig, siglen);
	return rv;
}

static size_t md_of(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
	unsigned int n = 0;
	EVP_Digest(data, len, out, &n, md, NULL);
	return n;
}

/* conf: the pReserved string; NULL: the bundle alone (api_init_bundle). */
static bool tok_open_conf(struct tok *t, const struct api_bundle *b, bool login, const char *conf)
{
	memset(t, 0, sizeof *t);
	t->b = *b;
	t->name = t->b.name;
	t->pubkey = api_cert_pubkey(b->cer);
	t->privkey = api_load_key(b->key, b->pin, strlen(b->pin));
	CK_RV rv = conf ? api_init(conf) : api_init_bundle(b);
	if (rv != CKR_OK || api_first_token_slot(&t->slot) != CKR_OK ||
	    api_open(t->slot, false, &t->s) != CKR_OK)
		return false;
	t->pub = api_one(t->s, CKO_PUBLIC_KEY);
	t->cert = api_leaf_cert(t->s);
	if (login) {
		if (api_login(t->s, b->pin) != CKR_OK)
			return false;
		t->priv = api_one(t->s, CKO_PRIVATE_KEY);
	}
	return t->pubkey && (!login || t->priv != CK_INVALID_HANDLE);
}

static bool tok_open(struct tok *t, const struct api_bundle *b, bool login)
{
	return tok_open_conf(t, b, login, NULL);
}

static void tok_close(struct tok *t)
{
	EVP_PKEY_free(t->pubkey);
	EVP_PKEY_free(t->privkey);
	api_finalize();
}

/* ------------------------------------------------------ the sign matrix */

static void sign_matrix(struct tok *t)
{
	unsigned char msg[1000], sig[512], h[64];
	CK_ULONG sl;
	CK_RV rv;

	api_random(msg, sizeof msg);
	for (size_t i = 0; i < sizeof hash_sign_mechs / sizeof hash_sign_mechs[0]; i++) {
		CK_MECHANISM m = { hash_sign_mechs[i], NULL, 0 };
		const EVP_MD *md = api_md_for_mech(m.mechanism);
		sl = sizeof sig;
		rv = sign1(t, &m, msg, sizeof msg, sig, &sl);
		ok(rv == CKR_OK && sl == 256 && api_verify_pkcs1(t->pubkey, md, msg, sizeof msg, sig, sl),
		   "%s: %s single-part verified by OpenSSL (%s)", t->name, EVP_MD_get0_name(md), ef_rv_name(rv));
		sl = sizeof sig;
		rv = sign3(t, &m, msg, sizeof msg, sig, &sl);
		ok(rv == CKR_OK && sl == 256 && api_verify_pkcs1(t->pubkey, md, msg, sizeof msg, sig, sl),
		   "%s: %s-RSA-PKCS multi-part (3 updates) verified by OpenSSL (%s)", t->name,
		   EVP_MD_get0_name(md), ef_rv_name(rv));
	}

	/* CKM_RSA_PKCS over a SHA-256 DigestInfo, as NSS does for TLS 1.2 */
	static const unsigned char di_sha256[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
						      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	unsigned char di[51];
	memcpy(di, di_sha256, 19);
	md_of(EVP_sha256(), msg, sizeof msg, di + 19);
	CK_MECHANISM rp = { CKM_RSA_PKCS, NULL, 0 };
	sl = sizeof sig;
	rv = sign1(t, &rp, di, sizeof di, sig, &sl);
	ok(rv == CKR_OK && api_verify_recover(t->pubkey, RSA_PKCS1_PADDING, di, sizeof di, sig, sl) &&
	   api_verify_pkcs1(t->pubkey, EVP_sha256(), msg, sizeof msg, sig, sl),
	   "%s: CKM_RSA_PKCS over a 51-byte DigestInfo verified by OpenSSL (%s)", t->name, ef_rv_name(rv));

	/* CKM_RSA_X_509: raw RSA with the private key is a decryption oracle
	 * (doc/DESIGN.md §8); no key offers it */
	CK_MECHANISM rx = { CKM_RSA_X_509, NULL, 0 };
	is_ul(P->C_SignInit(t->s, &rx, t->priv), CKR_MECHANISM_INVALID,
	      "%s: C_SignInit(CKM_RSA_X_509) -> CKR_MECHANISM_INVALID", t->name);

	/* CKM_RSA_PKCS_PSS over a precomputed hash */
	static const struct {
		CK_MECHANISM_TYPE hash;
		CK_RSA_PKCS_MGF_TYPE mgf;
		long salt; /* -1: the largest, k - hLen - 2 */
	} pss[] = {
		{ CKM_SHA256, CKG_MGF1_SHA256, 32 }, /* Chromium, older NSS */
		{ CKM_SHA384, CKG_MGF1_SHA1, 48 },
		{ CKM_SHA384, CKG_MGF1_SHA384, 0 },
		{ CKM_SHA384, CKG_MGF1_SHA384, -1 },
		{ CKM_SHA_1, CKG_MGF1_SHA1, 20 },
		{ CKM_SHA224, CKG_MGF1_SHA224, 28 },
		{ CKM_SHA512, CKG_MGF1_SHA512, 64 },
		{ CKM_SHA512, CKG_MGF1_SHA256, -1 },
		{ CKM_SHA256, CKG_MGF1_SHA512, 0 },
	};
	for (size_t i = 0; i < sizeof pss / sizeof pss[0]; i++) {
		const EVP_MD *md = api_md_for_mech(pss[i].hash);
		const EVP_MD *mgf = api_md_for_mgf(pss[i].mgf);
		size_t hl = md_of(md, msg, sizeof msg, h);
		CK_RSA_PKCS_PSS_PARAMS pp = { pss[i].hash, pss[i].mgf,
					      pss[i].salt < 0 ? 256 - hl - 2 : (CK_ULONG)pss[i].salt };
		CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &pp, sizeof pp };
		sl = sizeof sig;
		rv = sign1(t, &m, h, hl, sig, &sl);
		ok(rv == CKR_OK && sl == 256 &&
		   api_verify_pss_hash(t->pubkey, md, mgf, (int)pp.sLen, h, hl, sig, sl),
		   "%s: CKM_RSA_PKCS_PSS {%s, MGF1-%s, salt %lu} verified by OpenSSL (%s)", t->name,
		   EVP_MD_get0_name(md), EVP_MD_get0_name(mgf), (unsigned long)pp.sLen, ef_rv_name(rv));
	}

	/* CKM_SHA*_RSA_PKCS_PSS, single and multi-part */
	for (size_t i = 0; i < sizeof pss_sign_mechs / sizeof pss_sign_mechs[0]; i++) {
		CK_MECHANISM_TYPE hm = hash_of(pss_sign_mechs[i]);
		const EVP_MD *md = api_md_for_mech(hm);
		CK_RSA_PKCS_PSS_PARAMS pp = { hm, mgf_of(hm), (CK_ULONG)EVP_MD_get_size(md) };
		CK_MECHANISM m = { pss_sign_mechs[i], &pp, sizeof pp };
		sl = sizeof sig;
		rv = sign1(t, &m, msg, sizeof msg, sig, &sl);
		ok(rv == CKR_OK && api_verify_pss(t->pubkey, md, md, (int)pp.sLen, msg, sizeof msg, sig, sl),
		   "%s: %s-RSA-PKCS-PSS single-part verified by OpenSSL (%s)", t->name,
		   EVP_MD_get0_name(md), ef_rv_name(rv));
		sl = sizeof sig;
		rv = sign3(t, &m, msg, sizeof msg, sig, &sl);
		ok(rv == CKR_OK && api_verify_pss(t->pubkey, md, md, (int)pp.sLen, msg, sizeof msg, sig, sl),
		   "%s: %s-RSA-PKCS-PSS multi-part (3 updates, as Firefox) verified by OpenSSL (%s)", t->name,
		   EVP_MD_get0_name(md), ef_rv_name(rv));
	}
	/* SHA256-RSA-PKCS-PSS with MGF1-SHA1 and salt 0 */
	CK_RSA_PKCS_PSS_PARAMS pz = { CKM_SHA256, CKG_MGF1_SHA1, 0 };
	CK_MECHANISM mz = { CKM_SHA256_RSA_PKCS_PSS, &pz, sizeof pz };
	sl = sizeof sig;
	rv = sign3(t, &mz, msg, sizeof msg, sig, &sl);
	ok(rv == CKR_OK && api_verify_pss(t->pubkey, EVP_sha256(), EVP_sha1(), 0, msg, sizeof msg, sig, sl),
	   "%s: SHA256-RSA-PKCS-PSS {MGF1-SHA1, salt 0} multi-part verified by OpenSSL (%s)", t->name,
	   ef_rv_name(rv));
}

static void run_matrix(const struct api_bundle *b)
{
	struct tok t;
	tap_diag("---- sign matrix: %s", b->name);
	if (ok(tok_open(&t, b, true), "%s: token, login, private key", b->name))
		sign_matrix(&t);
	tok_close(&t);
}

/* ----------------------------------------------- length queries, errors */

static void test_sign_errors(const struct api_bundle *b)
{
	struct tok t;
	unsigned char msg[300], sig[512], h[32];
	CK_ULONG sl;
	CK_RV rv;
	CK_MECHANISM m256 = { CKM_SHA256_RSA_PKCS, NULL, 0 };

	tap_diag("---- sign: length queries and errors on %s", b->name);
	if (!ok(tok_open(&t, b, true), "token, login"))
		goto out;
	api_random(msg, sizeof msg);

	/* [PKCS#11 2.40 5.2] length query: NULL -> CKR_OK + length; short ->
	 * CKR_BUFFER_TOO_SMALL; neither ends the operation. */
	is_ul(P->C_SignInit(t.s, &m256, t.priv), CKR_OK, "C_SignInit(SHA256-RSA-PKCS)");
	sl = 0;
	is_ul(P->C_Sign(t.s, msg, 100, NULL, &sl), CKR_OK, "C_Sign(NULL buffer) -> CKR_OK");
	is_ul(sl, 256, "... length 256");
	sl = 10;
	is_ul(P->C_Sign(t.s, msg, 100, sig, &sl), CKR_BUFFER_TOO_SMALL, "C_Sign(10-byte buffer) -> CKR_BUFFER_TOO_SMALL");
	is_ul(sl, 256, "... length 256");
	sl = sizeof sig;
	rv = P->C_Sign(t.s, msg, 100, sig, &sl);
	ok(rv == CKR_OK && sl == 256 && api_verify_pkcs1(t.pubkey, EVP_sha256(), msg, 100, sig, sl),
	   "the real C_Sign still works and verifies (%s)", ef_rv_name(rv));
	is_ul(P->C_Sign(t.s, msg, 100, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
	      "C_Sign after a completed signature -> CKR_OPERATION_NOT_INITIALIZED");

	is_ul(P->C_SignInit(t.s, &m256, t.priv), CKR_OK, "C_SignInit for C_SignFinal queries");
	P->C_SignUpdate(t.s, msg, 100);
	P->C_SignUpdate(t.s, msg + 100, 100);
	P->C_SignUpdate(t.s, msg + 200, 100);
	sl = 0;
	is_ul(P->C_SignFinal(t.s, NULL, &sl), CKR_OK, "C_SignFinal(NULL buffer) -> CKR_OK");
	is_ul(sl, 256, "... length 256");
	sl = 10;
	is_ul(P->C_SignFinal(t.s, sig, &sl), CKR_BUFFER_TOO_SMALL, "C_SignFinal(10 bytes) -> CKR_BUFFER_TOO_SMALL");
	is_ul(sl, 256, "... length 256");
	sl = sizeof sig;
	rv = P->C_SignFinal(t.s, sig, &sl);
	ok(rv == CKR_OK && api_verify_pkcs1(t.pubkey, EVP_sha256(), msg, 300, sig, sl),
	   "the real C_SignFinal works and verifies (%s)", ef_rv_name(rv));

	/* PSS length query then sign, the Firefox path */
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM mp = { CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof pp };
	is_ul(P->C_SignInit(t.s, &mp, t.priv), CKR_OK, "C_SignInit(SHA256-RSA-PKCS-PSS)");
	P->C_SignUpdate(t.s, msg, 64);
	P->C_SignUpdate(t.s, msg + 64, 34);
	P->C_SignUpdate(t.s, msg + 98, 32);
	sl = 0;
	is_ul(P->C_SignFinal(t.s, NULL, &sl), CKR_OK, "PSS C_SignFinal(NULL) -> CKR_OK");
	sl = sizeof sig;
	rv = P->C_SignFinal(t.s, sig, &sl);
	ok(rv == CKR_OK && api_verify_pss(t.pubkey, EVP_sha256(), EVP_sha256(), 32, msg, 130, sig, sl),
	   "... then C_SignFinal verifies (%s)", ef_rv_name(rv));

	/* errors end the operation */
	CK_MECHANISM rp = { CKM_RSA_PKCS, NULL, 0 };
	is_ul(P->C_SignInit(t.s, &rp, t.priv), CKR_OK, "C_SignInit(CKM_RSA_PKCS)");
	sl = sizeof sig;
	is_ul(P->C_Sign(t.s, msg, 300, sig, &sl), CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS over 300 bytes -> CKR_DATA_LEN_RANGE");
	sl = sizeof sig;
	is_ul(P->C_Sign(t.s, msg, 32, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
	      "... the error ended the operation: CKR_OPERATION_NOT_INITIALIZED");
	sl = sizeof sig;
	rv = sign1(&t, &rp, msg, 245, sig, &sl);
	ok(rv == CKR_OK && api_verify_recover(t.pubkey, RSA_PKCS1_PADDING, msg, 245, sig, sl),
	   "CKM_RSA_PKCS over k-11 = 245 bytes works (%s)", ef_rv_name(rv));
	sl = sizeof sig;
	is_ul(sign1(&t, &rp, msg, 246, sig, &sl), CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS over 246 bytes -> CKR_DATA_LEN_RANGE");

	/* bad parameters */
	CK_MECHANISM bad = { CKM_RSA_PKCS_PSS, NULL, 0 };
	is_ul(P->C_SignInit(t.s, &bad, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_RSA_PKCS_PSS without parameter -> CKR_MECHANISM_PARAM_INVALID");
	bad.pParameter = &pp;
	bad.ulParameterLen = sizeof pp - 1;
	is_ul(P->C_SignInit(t.s, &bad, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_RSA_PKCS_PSS parameter of the wrong size -> CKR_MECHANISM_PARAM_INVALID");
	bad.ulParameterLen = sizeof pp + 8;
	is_ul(P->C_SignInit(t.s, &bad, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_RSA_PKCS_PSS parameter too long -> CKR_MECHANISM_PARAM_INVALID");
	CK_RSA_PKCS_PSS_PARAMS p1 = { CKM_SHA_1, CKG_MGF1_SHA1, 20 };
	CK_MECHANISM mm = { CKM_SHA256_RSA_PKCS_PSS, &p1, sizeof p1 };
	is_ul(P->C_SignInit(t.s, &mm, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_SHA256_RSA_PKCS_PSS with hashAlg SHA-1 -> CKR_MECHANISM_PARAM_INVALID");
	CK_RSA_PKCS_PSS_PARAMS pbadmgf = { CKM_SHA256, 0x99, 32 };
	CK_MECHANISM mbm = { CKM_RSA_PKCS_PSS, &pbadmgf, sizeof pbadmgf };
	is_ul(P->C_SignInit(t.s, &mbm, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_RSA_PKCS_PSS with an unknown MGF -> CKR_MECHANISM_PARAM_INVALID");
	CK_RSA_PKCS_PSS_PARAMS pbadh = { CKM_MD5, CKG_MGF1_SHA256, 16 };
	CK_MECHANISM mbh = { CKM_RSA_PKCS_PSS, &pbadh, sizeof pbadh };
	is_ul(P->C_SignInit(t.s, &mbh, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_RSA_PKCS_PSS with hashAlg MD5 -> CKR_MECHANISM_PARAM_INVALID");
	CK_RSA_PKCS_PSS_PARAMS pbig = { CKM_SHA512, CKG_MGF1_SHA512, 256 - 64 - 1 };
	CK_MECHANISM mbig = { CKM_RSA_PKCS_PSS, &pbig, sizeof pbig };
	md_of(EVP_sha256(), msg, 100, h);
	unsigned char h512[64];
	md_of(EVP_sha512(), msg, 100, h512);
	rv = P->C_SignInit(t.s, &mbig, t.priv);
	if (rv == CKR_OK) {
		sl = sizeof sig;
		rv = P->C_Sign(t.s, h512, 64, sig, &sl);
	}
	is_ul(rv, CKR_MECHANISM_PARAM_INVALID, "PSS salt k - hLen - 1 (too long) refused: %s",
	      ef_rv_name(rv));
	CK_MECHANISM mpss = { CKM_RSA_PKCS_PSS, &pp, sizeof pp };
	is_ul(P->C_SignInit(t.s, &mpss, t.priv), CKR_OK, "C_SignInit(CKM_RSA_PKCS_PSS {SHA256})");
	sl = sizeof sig;
	is_ul(P->C_Sign(t.s, h, 20, sig, &sl), CKR_DATA_LEN_RANGE,
	      "CKM_RSA_PKCS_PSS {SHA256} over 20 bytes -> CKR_DATA_LEN_RANGE");
	sl = sizeof sig;
	is_ul(P->C_Sign(t.s, h, 32, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
	      "... which ended the operation");

	CK_MECHANISM aes = { CKM_AES_CBC, NULL, 0 };
	is_ul(P->C_SignInit(t.s, &aes, t.priv), CKR_MECHANISM_INVALID, "C_SignInit(CKM_AES_CBC) -> CKR_MECHANISM_INVALID");
	CK_MECHANISM md5 = { CKM_MD5_RSA_PKCS, NULL, 0 };
	is_ul(P->C_SignInit(t.s, &md5, t.priv), CKR_MECHANISM_INVALID, "C_SignInit(CKM_MD5_RSA_PKCS) -> CKR_MECHANISM_INVALID");
	is_ul(P->C_SignInit(t.s, NULL, t.priv), CKR_ARGUMENTS_BAD, "C_SignInit(NULL mechanism) -> CKR_ARGUMENTS_BAD");
	sl = sizeof sig;
	is_ul(P->C_Sign(t.s, msg, 10, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
	      "C_Sign without C_SignInit -> CKR_OPERATION_NOT_INITIALIZED");
	is_ul(P->C_SignUpdate(t.s, msg, 10), CKR_OPERATION_NOT_INITIALIZED,
	      "C_SignUpdate without C_SignInit -> CKR_OPERATION_NOT_INITIALIZED");

	is_ul(P->C_SignInit(t.s, &m256, t.priv), CKR_OK, "C_SignInit");
	is_ul(P->C_SignInit(t.s, &m256, t.priv), CKR_OPERATION_ACTIVE, "C_SignInit again -> CKR_OPERATION_ACTIVE");
	sl = sizeof sig;
	rv = P->C_Sign(t.s, msg, 50, sig, &sl);
	ok(rv == CKR_OK && api_verify_pkcs1(t.pubkey, EVP_sha256(), msg, 50, sig, sl),
	   "... the first operation continues and verifies (%s)", ef_rv_name(rv));

	/* CKM_RSA_PKCS is single-part only */
	rv = P->C_SignInit(t.s, &rp, t.priv);
	if (rv == CKR_OK)
		rv = P->C_SignUpdate(t.s, msg, 10);
	is_ul(rv, CKR_FUNCTION_NOT_SUPPORTED,
	      "C_SignUpdate with CKM_RSA_PKCS (single-part only) refused: %s", ef_rv_name(rv));
	sl = sizeof sig;
	P->C_Sign(t.s, msg, 10, sig, &sl); /* end whatever is left */

	/* keys that cannot sign */
	rv = P->C_SignInit(t.s, &m256, t.pub);
	ok(rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_KEY_TYPE_INCONSISTENT,
	   "C_SignInit with the public key -> CKR_KEY_FUNCTION_NOT_PERMITTED or CKR_KEY_TYPE_INCONSISTENT: %s",
	   ef_rv_name(rv));
	rv = P->C_SignInit(t.s, &m256, t.cert);
	ok(rv == CKR_KEY_HANDLE_INVALID || rv == CKR_KEY_TYPE_INCONSISTENT || rv == CKR_KEY_FUNCTION_NOT_PERMITTED,
	   "C_SignInit with the certificate -> refused: %s", ef_rv_name(rv));
	rv = P->C_SignInit(t.s, &m256, 0xdeadbeef);
	ok(rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID,
	   "C_SignInit with a bad handle -> CKR_KEY_HANDLE_INVALID: %s", ef_rv_name(rv));

	/* after logout the private handle is gone */
	P->C_Logout(t.s);
	rv = P->C_SignInit(t.s, &m256, t.priv);
	ok(rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID,
	   "C_SignInit with the private handle after logout -> refused: %s", ef_rv_name(rv));
	if (rv == CKR_OK) {
		sl = sizeof sig;
		P->C_Sign(t.s, msg, 10, sig, &sl);
	}
out:
	tok_close(&t);
}

/* ---------------------------------------------------------------- verify */

static size_t ossl_sign_pss(EVP_PKEY *k, const void *msg, size_t len, unsigned char *sig, size_t sz)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	size_t sl = sz;
	bool r = c && EVP_DigestSignInit(c, &pc, EVP_sha256(), NULL, k) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		 EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) > 0 &&
		 EVP_DigestSign(c, sig, &sl, msg, len) == 1;
	EVP_MD_CTX_free(c);
	return r ? sl : 0;
}

static void test_verify(const struct api_bundle *b)
{
	struct tok t;
	unsigned char msg[200], sig[512];
	size_t sl;
	CK_RV rv;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };

	tap_diag("---- verify by the module of OpenSSL signatures");
	/* no login: verification uses the public key only */
	if (!ok(tok_open(&t, b, false) && t.privkey, "token (not logged in) and the OpenSSL private key"))
		goto out;
	api_random(msg, sizeof msg);
	sl = api_sign_pkcs1(t.privkey, EVP_sha256(), msg, sizeof msg, sig, sizeof sig);
	ok(sl == 256, "OpenSSL made a signature");
	is_ul(P->C_VerifyInit(t.s, &m, t.pub), CKR_OK, "C_VerifyInit(public key) without login");
	is_ul(P->C_Verify(t.s, msg, sizeof msg, sig, sl), CKR_OK, "C_Verify accepts the OpenSSL signature");
	P->C_VerifyInit(t.s, &m, t.pub);
	P->C_VerifyUpdate(t.s, msg, 50);
	P->C_VerifyUpdate(t.s, msg + 50, 50);
	P->C_VerifyUpdate(t.s, msg + 100, 100);
	is_ul(P->C_VerifyFinal(t.s, sig, sl), CKR_OK, "multi-part verify accepts it too");
	sig[100] ^= 1;
	P->C_VerifyInit(t.s, &m, t.pub);
	is_ul(P->C_Verify(t.s, msg, sizeof msg, sig, sl), CKR_SIGNATURE_INVALID, "tampered signature -> CKR_SIGNATURE_INVALID");
	is_ul(P->C_Verify(t.s, msg, sizeof msg, sig, sl), CKR_OPERATION_NOT_INITIALIZED,
	      "... the operation ended");
	sig[100] ^= 1;
	msg[0] ^= 1;
	P->C_VerifyInit(t.s, &m, t.pub);
	is_ul(P->C_Verify(t.s, msg, sizeof msg, sig, sl), CKR_SIGNATURE_INVALID, "tampered data -> CKR_SIGNATURE_INVALID");
	msg[0] ^= 1;
	P->C_VerifyInit(t.s, &m, t.pub);
	rv = P->C_Verify(t.s, msg, sizeof msg, sig, 255);
	ok(rv == CKR_SIGNATURE_LEN_RANGE || rv == CKR_SIGNATURE_INVALID,
	   "short signature -> CKR_SIGNATURE_LEN_RANGE: %s", ef_rv_name(rv));

	sl = ossl_sign_pss(t.privkey, msg, sizeof msg, sig, sizeof sig);
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM mp = { CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof pp };
	is_ul(P->C_VerifyInit(t.s, &mp, t.pub), CKR_OK, "C_VerifyInit(SHA256-RSA-PKCS-PSS)");
	is_ul(P->C_Verify(t.s, msg, sizeof msg, sig, sl), CKR_OK, "PSS signature made by OpenSSL verifies");
	sig[5] ^= 0x80;
	P->C_VerifyInit(t.s, &mp, t.pub);
	is_ul(P->C_Verify(t.s, msg, sizeof msg, sig, sl), CKR_SIGNATURE_INVALID, "tampered PSS -> CKR_SIGNATURE_INVALID");
out:
	tok_close(&t);
}

/* ------------------------------------------------------ decrypt, encrypt */

static CK_RV decrypt(struct tok *t, CK_MECHANISM *m, const unsigned char *ct, size_t clen,
		     unsigned char *out, CK_ULONG *olen)
{
	CK_RV rv = P->C_DecryptInit(t->s, m, t->priv);
	if (rv != CKR_OK)
		return rv;
	return P->C_Decrypt(t->s, (CK_BYTE_PTR)ct, clen, out, olen);
}

static void test_decrypt(const struct api_bundle *b)
{
	struct tok t;
	unsigned char secret[32], ct[512], pt[512];
	size_t cl;
	CK_ULONG pl;
	CK_RV rv;

	tap_diag("---- decrypt / encrypt on the e.firma %s, allow-pkcs1-decrypt=1", b->name);
	char conf[4096];
	snprintf(conf, sizeof conf, "cert=%s key=%s allow-pkcs1-decrypt=1", b->cer, b->key);
	if (!ok(tok_open_conf(&t, b, true, conf) && t.privkey, "token, login, OpenSSL private key"))
		goto out;
	api_random(secret, sizeof secret);

	CK_MECHANISM rp = { CKM_RSA_PKCS, NULL, 0 };
	cl = api_encrypt(t.pubkey, RSA_PKCS1_PADDING, NULL, NULL, NULL, 0, secret, 32, ct, sizeof ct);
	ok(cl == 256, "OpenSSL encrypted 32 bytes with PKCS#1 v1.5");
	is_ul(P->C_DecryptInit(t.s, &rp, t.priv), CKR_OK, "C_DecryptInit(CKM_RSA_PKCS)");
	pl = 0;
	is_ul(P->C_Decrypt(t.s, ct, cl, NULL, &pl), CKR_OK, "C_Decrypt(NULL buffer) -> CKR_OK");
	ok(pl >= 32 && pl <= 256, "... a length that fits the plaintext (%lu)", (unsigned long)pl);
	pl = sizeof pt;
	rv = P->C_Decrypt(t.s, ct, cl, pt, &pl);
	ok(rv == CKR_OK && pl == 32 && memcmp(pt, secret, 32) == 0,
	   "the operation survived the NULL query: C_Decrypt gives the 32 bytes (%s)", ef_rv_name(rv));
	is_ul(P->C_DecryptInit(t.s, &rp, t.priv), CKR_OK, "C_DecryptInit(CKM_RSA_PKCS) again");
	pl = 1;
	rv = P->C_Decrypt(t.s, ct, cl, pt, &pl);
	is_ul(rv, CKR_BUFFER_TOO_SMALL, "C_Decrypt(1-byte buffer) -> CKR_BUFFER_TOO_SMALL");
	ok(pl >= 32 && pl != CK_UNAVAILABLE_INFORMATION, "... with the needed length (%lu)", (unsigned long)pl);
	pl = sizeof pt;
	rv = P->C_Decrypt(t.s, ct, cl, pt, &pl);
	ok(rv == CKR_OK && pl == 32 && memcmp(pt, secret, 32) == 0,
	   "the operation survived the short buffer: C_Decrypt gives the 32 bytes (%s)", ef_rv_name(rv));

	static const struct {
		CK_MECHANISM_TYPE hash;
		CK_RSA_PKCS_MGF_TYPE mgf;
		const char *label;
	} oaep[] = {
		{ CKM_SHA_1, CKG_MGF1_SHA1, NULL },
		{ CKM_SHA256, CKG_MGF1_SHA256, NULL },
		{ CKM_SHA_1, CKG_MGF1_SHA1, "etiqueta" },
		{ CKM_SHA256, CKG_MGF1_SHA256, "etiqueta SHA-256" },
		{ CKM_SHA256, CKG_MGF1_SHA1, NULL },
	};
	for (size_t i = 0; i < sizeof oaep / sizeof oaep[0]; i++) {
		const EVP_MD *md = api_md_for_mech(oaep[i].hash), *mgf = api_md_for_mgf(oaep[i].mgf);
		size_t ll = oaep[i].label ? strlen(oaep[i].label) : 0;
		cl = api_encrypt(t.pubkey, RSA_PKCS1_OAEP_PADDING, md, mgf, oaep[i].label, ll, secret, 32,
				 ct, sizeof ct);
		CK_RSA_PKCS_OAEP_PARAMS op = { oaep[i].hash, oaep[i].mgf, CKZ_DATA_SPECIFIED,
					       (void *)oaep[i].label, ll };
		CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
		pl = sizeof pt;
		rv = decrypt(&t, &m, ct, cl, pt, &pl);
		ok(cl == 256 && rv == CKR_OK && pl == 32 && memcmp(pt, secret, 32) == 0,
		   "OAEP {%s, MGF1-%s, label %s}: OpenSSL ciphertext decrypts (%s)", EVP_MD_get0_name(md),
		   EVP_MD_get0_name(mgf), oaep[i].label ? oaep[i].label : "none", ef_rv_name(rv));
		if (oaep[i].label) {
			op.ulSourceDataLen = ll - 1;
			pl = sizeof pt;
			rv = decrypt(&t, &m, ct, cl, pt, &pl);
			is_ul(rv, CKR_ENCRYPTED_DATA_INVALID, "... with the wrong label refused: %s",
			      ef_rv_name(rv));
		}
	}
	CK_RSA_PKCS_OAEP_PARAMS opb = { CKM_SHA256, CKG_MGF1_SHA256, 7, NULL, 0 };
	CK_MECHANISM mob = { CKM_RSA_PKCS_OAEP, &opb, sizeof opb };
	is_ul(P->C_DecryptInit(t.s, &mob, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "OAEP with an unknown source type -> CKR_MECHANISM_PARAM_INVALID");
	CK_MECHANISM mon = { CKM_RSA_PKCS_OAEP, NULL, 0 };
	is_ul(P->C_DecryptInit(t.s, &mon, t.priv), CKR_MECHANISM_PARAM_INVALID,
	      "OAEP without parameter -> CKR_MECHANISM_PARAM_INVALID");

	/* raw RSA stays off with the switch on */
	CK_MECHANISM rx = { CKM_RSA_X_509, NULL, 0 };
	is_ul(P->C_DecryptInit(t.s, &rx, t.priv), CKR_MECHANISM_INVALID,
	      "C_DecryptInit(CKM_RSA_X_509) -> CKR_MECHANISM_INVALID");

	/* malformed ciphertexts end the operation */
	pl = sizeof pt;
	rv = decrypt(&t, &rp, ct, 255, pt, &pl);
	is_ul(rv, CKR_ENCRYPTED_DATA_LEN_RANGE, "255-byte ciphertext -> CKR_ENCRYPTED_DATA_LEN_RANGE");
	pl = sizeof pt;
	is_ul(P->C_Decrypt(t.s, ct, 256, pt, &pl), CKR_OPERATION_NOT_INITIALIZED, "... the operation ended");
	api_random(ct, 256);
	ct[0] = 0;
	pl = sizeof pt;
	rv = decrypt(&t, &rp, ct, 256, pt, &pl);
	ok(rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE,
	   "random ciphertext with PKCS#1 v1.5 -> CKR_ENCRYPTED_DATA_INVALID: %s", ef_rv_name(rv));

	/* encryption with the public key: checked by OpenSSL with the private key */
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM mo = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
	CK_MECHANISM *encs[] = { &mo, &rp };
	for (size_t i = 0; i < 2; i++) {
		CK_ULONG el = sizeof ct;
		rv = P->C_EncryptInit(t.s, encs[i], t.pub);
		is_ul(rv, CKR_OK, "C_EncryptInit(%s) with the public key", i ? "RSA_PKCS" : "OAEP SHA-256");
		el = 0;
		rv = P->C_Encrypt(t.s, secret, 32, NULL, &el);
		ok(rv == CKR_OK && el == 256, "C_Encrypt(NULL) -> length 256 (%s, %lu)", ef_rv_name(rv), (unsigned long)el);
		el = sizeof ct;
		rv = P->C_Encrypt(t.s, secret, 32, ct, &el);
		ok(rv == CKR_OK && el == 256, "C_Encrypt -> 256 bytes (%s)", ef_rv_name(rv));
		size_t dl = i ? api_decrypt(t.privkey, RSA_PKCS1_PADDING, NULL, NULL, NULL, 0, ct, el, pt, sizeof pt)
			      : api_decrypt(t.privkey, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), EVP_sha256(), NULL, 0,
					    ct, el, pt, sizeof pt);
		ok(dl == 32 && memcmp(pt, secret, 32) == 0, "OpenSSL decrypts the module's ciphertext");
		pl = sizeof pt;
		rv = decrypt(&t, encs[i], ct, el, pt, &pl);
		ok(rv == CKR_OK && pl == 32 && memcmp(pt, secret, 32) == 0, "module decrypt round trip (%s)", ef_rv_name(rv));
	}
out:
	tok_close(&t);
}

static void test_csd_no_decrypt(const struct api_bundle *b)
{
	struct tok t;
	tap_diag("---- decrypt refused on the CSD %s", b->name);
	if (!ok(tok_open(&t, b, true), "CSD token, login"))
		goto out;
	CK_MECHANISM rp = { CKM_RSA_PKCS, NULL, 0 };
	is_ul(P->C_DecryptInit(t.s, &rp, t.priv), CKR_KEY_FUNCTION_NOT_PERMITTED,
	      "CSD: C_DecryptInit(CKM_RSA_PKCS) -> CKR_KEY_FUNCTION_NOT_PERMITTED");
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM mo = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
	is_ul(P->C_DecryptInit(t.s, &mo, t.priv), CKR_KEY_FUNCTION_NOT_PERMITTED,
	      "CSD: C_DecryptInit(OAEP) -> CKR_KEY_FUNCTION_NOT_PERMITTED");
	CK_MECHANISM rx = { CKM_RSA_X_509, NULL, 0 };
	CK_RV rv = P->C_DecryptInit(t.s, &rx, t.priv);
	ok(rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_MECHANISM_INVALID,
	   "CSD: C_DecryptInit(CKM_RSA_X_509) refused: %s", ef_rv_name(rv));
	unsigned char msg[64], sig[512];
	CK_ULONG sl = sizeof sig;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	api_random(msg, sizeof msg);
	rv = sign1(&t, &m, msg, sizeof msg, sig, &sl);
	ok(rv == CKR_OK && api_verify_pkcs1(t.pubkey, EVP_sha256(), msg, sizeof msg, sig, sl),
	   "CSD still signs (verified by OpenSSL)");
out:
	tok_close(&t);
}

/* ---------------------------------------------------------------- digest */

static void test_digest(const struct api_bundle *b)
{
	struct tok t;
	static const CK_MECHANISM_TYPE dm[] = { CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512 };
	unsigned char msg[777], want[64], got[128];
	CK_ULONG gl;
	CK_RV rv;

	tap_diag("---- digest");
	if (!ok(tok_open(&t, b, false), "token, no login"))
		goto out;
	api_random(msg, sizeof msg);
	for (size_t i = 0; i < sizeof dm / sizeof dm[0]; i++) {
		const EVP_MD *md = api_md_for_mech(dm[i]);
		const char *n = EVP_MD_get0_name(md);
		size_t wl = md_of(md, msg, sizeof msg, want);
		CK_MECHANISM m = { dm[i], NULL, 0 };
		is_ul(P->C_DigestInit(t.s, &m), CKR_OK, "C_DigestInit(%s)", n);
		gl = 0;
		is_ul(P->C_Digest(t.s, msg, sizeof msg, NULL, &gl), CKR_OK, "%s: C_Digest(NULL) -> CKR_OK", n);
		is_ul(gl, wl, "%s: ... length %zu", n, wl);
		gl = wl - 1;
		is_ul(P->C_Digest(t.s, msg, sizeof msg, got, &gl), CKR_BUFFER_TOO_SMALL,
		      "%s: short buffer -> CKR_BUFFER_TOO_SMALL", n);
		gl = sizeof got;
		rv = P->C_Digest(t.s, msg, sizeof msg, got, &gl);
		ok(rv == CKR_OK && gl == wl && memcmp(got, want, wl) == 0, "%s: single-part = OpenSSL (%s)", n, ef_rv_name(rv));
		P->C_DigestInit(t.s, &m);
		P->C_DigestUpdate(t.s, msg, 100);
		P->C_DigestUpdate(t.s, msg + 100, 0);
		P->C_DigestUpdate(t.s, msg + 100, 677);
		gl = 0;
		is_ul(P->C_DigestFinal(t.s, NULL, &gl), CKR_OK, "%s: C_DigestFinal(NULL) -> CKR_OK", n);
		gl = sizeof got;
		rv = P->C_DigestFinal(t.s, got, &gl);
		ok(rv == CKR_OK && gl == wl && memcmp(got, want, wl) == 0, "%s: multi-part = OpenSSL (%s)", n, ef_rv_name(rv));
	}
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	P->C_DigestInit(t.s, &m);
	is_ul(P->C_DigestInit(t.s, &m), CKR_OPERATION_ACTIVE, "C_DigestInit twice -> CKR_OPERATION_ACTIVE");
	gl = sizeof got;
	P->C_Digest(t.s, msg, 1, got, &gl);
	gl = sizeof got;
	is_ul(P->C_Digest(t.s, msg, 1, got, &gl), CKR_OPERATION_NOT_INITIALIZED,
	      "C_Digest after completion -> CKR_OPERATION_NOT_INITIALIZED");
	CK_MECHANISM md5 = { CKM_MD5, NULL, 0 };
	is_ul(P->C_DigestInit(t.s, &md5), CKR_MECHANISM_INVALID, "C_DigestInit(CKM_MD5) -> CKR_MECHANISM_INVALID");
	/* a digest and a signature may run side by side in one session only
	 * if the module says so; at least the digest must not disturb a later
	 * sign operation */
out:
	tok_close(&t);
}

/* ----------------------------------------------------- random, cancel */

static void test_random_cancel(const struct api_bundle *b)
{
	struct tok t;
	unsigned char r1[32], r2[32], zero[32] = { 0 };

	tap_diag("---- random, C_SessionCancel");
	if (!ok(tok_open(&t, b, true), "token, login"))
		goto out;
	memset(r1, 0, sizeof r1);
	memset(r2, 0, sizeof r2);
	is_ul(P->C_GenerateRandom(t.s, r1, sizeof r1), CKR_OK, "C_GenerateRandom");
	is_ul(P->C_GenerateRandom(t.s, r2, sizeof r2), CKR_OK, "C_GenerateRandom again");
	ok(memcmp(r1, r2, 32) != 0 && memcmp(r1, zero, 32) != 0, "two calls give different, non-zero bytes");
	is_ul(P->C_GenerateRandom(t.s, r1, 0), CKR_OK, "C_GenerateRandom(0 bytes)");
	is_ul(P->C_SeedRandom(t.s, r1, sizeof r1), CKR_RANDOM_SEED_NOT_SUPPORTED,
	      "C_SeedRandom -> CKR_RANDOM_SEED_NOT_SUPPORTED");

	if (!ok(P3 && P3->C_SessionCancel, "3.0 list with C_SessionCancel"))
		goto out;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char msg[20] = "cancelar la firma", sig[512];
	CK_ULONG sl;
	is_ul(P->C_SignInit(t.s, &m, t.priv), CKR_OK, "C_SignInit");
	is_ul(P3->C_SessionCancel(t.s, CKF_SIGN), CKR_OK, "C_SessionCancel(CKF_SIGN)");
	sl = sizeof sig;
	is_ul(P->C_Sign(t.s, msg, sizeof msg, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
	      "C_Sign after cancel -> CKR_OPERATION_NOT_INITIALIZED");
	is_ul(P->C_SignInit(t.s, &m, t.priv), CKR_OK, "a new C_SignInit after the cancel");
	P->C_SignUpdate(t.s, msg, 5);
	is_ul(P3->C_SessionCancel(t.s, CKF_SIGN), CKR_OK, "C_SessionCancel of a multi-part sign");
	sl = sizeof sig;
	is_ul(P->C_SignFinal(t.s, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
	      "C_SignFinal after cancel -> CKR_OPERATION_NOT_INITIALIZED");
	sl = sizeof sig;
	CK_RV rv = sign1(&t, &m, msg, sizeof msg, sig, &sl);
	ok(rv == CKR_OK && api_verify_pkcs1(t.pubkey, EVP_sha256(), msg, sizeof msg, sig, sl),
	   "signing works after cancels (verified by OpenSSL)");
	CK_MECHANISM dm = { CKM_SHA256, NULL, 0 };
	P->C_DigestInit(t.s, &dm);
	is_ul(P3->C_SessionCancel(t.s, CKF_DIGEST), CKR_OK, "C_SessionCancel(CKF_DIGEST)");
	is_ul(P->C_DigestInit(t.s, &dm), CKR_OK, "C_DigestInit after cancel");
	P3->C_SessionCancel(t.s, CKF_DIGEST);
out:
	tok_close(&t);
}

/* ------------------------------------------------------ bundle variants */

static void variants(void)
{
	const char *dir = api_tmpdir();
	struct api_bundle b, v;

	tap_diag("---- generated bundles and file variants");
	if (!dir)
		return;
	if (ok(api_gen_bundle(dir, "gen-fiel", "PERSONA GENERADA PRUEBA", "GEPP800101AB1", "30001000000999907001",
			      false, API_PIN, 9, &b),
	       "generated e.firma bundle (OpenSSL PBES2, random salt)"))
		run_matrix(&b);
	if (ok(api_gen_bundle(dir, "gen-csd", "PERSONA GENERADA PRUEBA", "GEPP800101AB1", "30001000000999907002",
			      true, API_PIN, 9, &b),
	       "generated CSD bundle"))
		run_matrix(&b);

	if (api_sat_bundle("fiel-pm-AAA010101AAA-2017-expired", &b)) {
		char path[4096];
		/* PEM certificate */
		v = b;
		snprintf(path, sizeof path, "%s", b.cer);
		snprintf(v.cer, sizeof v.cer, "%.1000s.pem", path);
		snprintf(v.name, sizeof v.name, "AAA fiel, PEM certificate");
		run_matrix(&v);
		/* unencrypted PKCS#8 PEM key */
		v = b;
		snprintf(v.key, sizeof v.key, "%s", api_sat("fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.unencrypted-pkcs8.key.pem"));
		snprintf(v.name, sizeof v.name, "AAA fiel, unencrypted PKCS#8 PEM key");
		run_matrix(&v);
		/* encrypted PKCS#8 as PEM */
		v = b;
		snprintf(v.key, sizeof v.key, "%s/aaa-encrypted.key.pem", dir);
		if (ok(api_sh("openssl pkcs8 -topk8 -inform DER -in '%s' -passin pass:%s -v2 des3 "
			      "-passout pass:%s -out '%s' 2>/dev/null", b.key, API_PIN, API_PIN, v.key) == 0,
		       "encrypted PKCS#8 PEM made with openssl")) {
			snprintf(v.name, sizeof v.name, "AAA fiel, encrypted PKCS#8 PEM key");
			run_matrix(&v);
		}
	}
	if (api_sat_bundle("csd-pm-AAA010101AAA-2017-expired", &b)) {
		v = b;
		snprintf(v.key, sizeof v.key, "%s",
			 api_sat("csd-pm-AAA010101AAA-2017-expired/AAA010101AAA_csd01.unencrypted-pkcs8.der"));
		snprintf(v.name, sizeof v.name, "AAA csd, unencrypted PKCS#8 DER key");
		run_matrix(&v);
	}
}

/* The bundles of tests/gen-bundles.sh, row by row as its MANIFEST says. */
static void manifest_bundles(void)
{
	struct api_gen *g = NULL;
	size_t n = api_gen_bundles(&g);

	tap_diag("---- bundles from tests/gen-bundles.sh");
	if (n == 0) {
		ok(1, "generated bundles # SKIP no MANIFEST and no tests/gen-bundles.sh");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct api_bundle *b = &g[i].b;
		if (strcmp(g[i].expect, "ok") == 0) {
			run_matrix(b);
		} else if (strcmp(g[i].expect, "login-fails") == 0) {
			CK_SLOT_ID slot;
			CK_SESSION_HANDLE s;
			if (api_init_bundle(b) == CKR_OK && api_first_token_slot(&slot) == CKR_OK &&
			    api_open(slot, false, &s) == CKR_OK) {
				CK_RV rv = api_login(s, b->pin);
				is_ul(rv, CKR_DEVICE_ERROR, "%s: login fails: %s", b->name, ef_rv_name(rv));
				is_ul(api_find_class(s, CKO_PRIVATE_KEY, NULL, 0), 0, "%s: no private key", b->name);
			} else {
				ok(0, "%s: token present, session open", b->name);
			}
			api_finalize();
		} else if (strcmp(g[i].expect, "no-token") == 0) {
			CK_ULONG all = 0, present = 0;
			is_ul(api_init_bundle(b), CKR_OK, "%s: C_Initialize still succeeds", b->name);
			P->C_GetSlotList(CK_FALSE, NULL, &all);
			P->C_GetSlotList(CK_TRUE, NULL, &present);
			ok(all == 1 && present == 0, "%s: one slot, no token (%lu/%lu)", b->name,
			   (unsigned long)all, (unsigned long)present);
			api_finalize();
		}
	}
	free(g);
}

int main(void)
{
	struct api_bundle *all = NULL, fiel, csd;
	size_t n;

	api_setup_env();
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	n = api_sat_bundles(&all);
	ok(n >= 9, "%zu SAT bundles with a certificate", n);
	for (size_t i = 0; i < n; i++)
		TAP_PART(run_matrix(&all[i]));
	free(all);
	TAP_PART(variants());
	TAP_PART(manifest_bundles());
	if (api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel)) {
		TAP_PART(test_sign_errors(&fiel));
		TAP_PART(test_verify(&fiel));
		TAP_PART(test_decrypt(&fiel));
		TAP_PART(test_digest(&fiel));
		TAP_PART(test_random_cancel(&fiel));
	}
	if (api_sat_bundle("csd-pm-EKU9003173C9-2023", &csd))
		TAP_PART(test_csd_no_decrypt(&csd));
	return tap_done();
}
