/*
 * bench-gen.c - SAT-like bundle folders made with the OpenSSL C API (one CA,
 * a few keys, one certificate per bundle): thousands in a couple of
 * seconds, where as many openssl(1) runs would take minutes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	bool ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static bool name_add(X509_NAME *n, int nid, const char *v)
{
	return X509_NAME_add_entry_by_NID(n, nid, MBSTRING_ASC, (const unsigned char *)v, -1, -1,
					  0) == 1;
}

/* The SAT serial: the 20 ASCII digits of the número read as an integer. */
static bool set_serial(X509 *x, const char *numero)
{
	BIGNUM *bn = BN_bin2bn((const unsigned char *)numero, (int)strlen(numero), NULL);
	ASN1_INTEGER *i = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	bool ok = i && X509_set_serialNumber(x, i) == 1;
	ASN1_INTEGER_free(i);
	BN_free(bn);
	return ok;
}

static X509 *new_cert(const char *numero, EVP_PKEY *pub, int days)
{
	X509 *x = X509_new();
	if (!x || !X509_set_version(x, 2) || !set_serial(x, numero) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) ||
	    !X509_set_pubkey(x, pub)) {
		X509_free(x);
		return NULL;
	}
	return x;
}

bool gen_init(struct gen *g, int n_keys)
{
	memset(g, 0, sizeof(*g));
	g->ca_key = EVP_RSA_gen(2048);
	if (!g->ca_key || !(g->ca = new_cert("30001000000000000001", g->ca_key, 3650)))
		return false;
	X509_NAME *n = X509_get_subject_name(g->ca);
	if (!name_add(n, NID_commonName, "AC DE PRUEBAS EFIRMA-BENCH") ||
	    !name_add(n, NID_organizationName, "efirma-pkcs11 bench") ||
	    !name_add(n, NID_countryName, "MX") || !X509_set_issuer_name(g->ca, n) ||
	    !add_ext(g->ca, g->ca, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(g->ca, g->ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(g->ca, g->ca, NID_subject_key_identifier, "hash") ||
	    !X509_sign(g->ca, g->ca_key, EVP_sha256()))
		return false;
	for (g->n_keys = 0; g->n_keys < n_keys; g->n_keys++) {
		int i = g->n_keys;
		if (!(g->keys[i] = EVP_RSA_gen(2048)) ||
		    !(g->keyder[i] = gen_encrypt_key(g->keys[i], 2048, &g->keylen[i])))
			return false;
	}
	return true;
}

unsigned char *gen_encrypt_key(EVP_PKEY *key, unsigned long iter, int *len)
{
	/* SAT's scheme: PBES2, PBKDF2-HMAC-SHA1, des-ede3-cbc. */
	X509_ALGOR *pbe = PKCS5_pbe2_set_iv_ex(EVP_des_ede3_cbc(), (int)iter, NULL, 8, NULL,
					       NID_hmacWithSHA1, NULL);
	PKCS8_PRIV_KEY_INFO *p8 = pbe ? EVP_PKEY2PKCS8(key) : NULL;
	X509_SIG *sig = p8 ? PKCS8_set0_pbe(BENCH_PIN, (int)strlen(BENCH_PIN), p8, pbe) : NULL;
	unsigned char *der = NULL;
	if (!sig)
		X509_ALGOR_free(pbe);   /* PKCS8_set0_pbe took it otherwise */
	*len = sig ? i2d_X509_SIG(sig, &der) : 0;
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (*len <= 0) {
		OPENSSL_free(der);
		return NULL;
	}
	return der;
}

bool gen_bogus_key(const char *path, unsigned long iter)
{
	/* EncryptedPrivateKeyInfo { PBES2 { PBKDF2 { salt, iter },
	 * des-ede3-cbc { IV } }, 32 bytes of noise }: 111 bytes, the size of
	 * the hostile files of issue 9, that any reader must run the KDF on
	 * before it can tell they hold nothing. */
	static const unsigned char pbes2[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d };
	static const unsigned char pbkdf2[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c };
	static const unsigned char des3[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07 };
	unsigned char b[111], *w = b, num[5];
	size_t ilen = 0;
	if (iter == 0 || iter > 0x7fffffffUL)
		return false;
	/* The minimal DER INTEGER of iter; the salt takes up the rest, so
	 * every length below stays the same. */
	for (int shift = 24; shift >= 0; shift -= 8)
		if (ilen || (iter >> shift) & 0xff)
			num[ilen++] = (unsigned char)(iter >> shift);
	if (num[0] & 0x80) {
		memmove(num + 1, num, ilen++);
		num[0] = 0;
	}
	size_t salt = 19 - ilen;
	*w++ = 0x30; *w++ = 109;                    /* 75 + 34 */
	*w++ = 0x30; *w++ = 73;                     /* AlgorithmIdentifier */
	memcpy(w, pbes2, sizeof(pbes2)); w += sizeof(pbes2);
	*w++ = 0x30; *w++ = 60;                     /* PBES2-params */
	*w++ = 0x30; *w++ = 36;                     /* keyDerivationFunc */
	memcpy(w, pbkdf2, sizeof(pbkdf2)); w += sizeof(pbkdf2);
	*w++ = 0x30; *w++ = 23;                     /* PBKDF2-params */
	*w++ = 0x04; *w++ = (unsigned char)salt;
	RAND_bytes(w, (int)salt); w += salt;
	*w++ = 0x02; *w++ = (unsigned char)ilen;    /* iterationCount */
	memcpy(w, num, ilen); w += ilen;
	*w++ = 0x30; *w++ = 20;                     /* encryptionScheme */
	memcpy(w, des3, sizeof(des3)); w += sizeof(des3);
	*w++ = 0x04; *w++ = 8;                      /* IV */
	RAND_bytes(w, 8); w += 8;
	*w++ = 0x04; *w++ = 32;                     /* encryptedData */
	RAND_bytes(w, 32); w += 32;
	return w - b == (long)sizeof(b) && bench_write_file(path, b, sizeof(b));
}

void gen_free(struct gen *g)
{
	EVP_PKEY_free(g->ca_key);
	X509_free(g->ca);
	for (int i = 0; i < GEN_KEYS; i++) {
		EVP_PKEY_free(g->keys[i]);
		OPENSSL_free(g->keyder[i]);
	}
	memset(g, 0, sizeof(*g));
}

/* An e.firma-like certificate for bundle i: its own RFC, CURP and número,
 * one of the few keys, issued by the bench CA. */
bool gen_leaf(const struct gen *g, size_t i, char rfc[16], char numero[24],
		     unsigned char **der, int *der_len)
{
	char curp[24], cn[64];
	bool ok = false;
	snprintf(rfc, 16, "%c%c%c%c%02u%02u%02u%c%c%u", 'A' + (int)(i / 17576 % 26),
		 'A' + (int)(i / 676 % 26), 'A' + (int)(i / 26 % 26), 'A' + (int)(i % 26),
		 (unsigned)(50 + i % 50), (unsigned)(1 + i % 12), (unsigned)(1 + i % 28),
		 'A' + (int)(i * 7 % 26), 'A' + (int)(i * 11 % 26), (unsigned)(i % 10));
	snprintf(curp, sizeof(curp), "%.4s%.6sHDFRRN0%u", rfc, rfc + 4, (unsigned)(i % 10));
	snprintf(numero, 24, "30001000000%09zu", 500000000 + i);
	snprintf(cn, sizeof(cn), "CONTRIBUYENTE DE PRUEBA %zu", i);
	X509 *x = new_cert(numero, g->keys[i % (size_t)g->n_keys], 1460);
	if (!x)
		return false;
	X509_NAME *n = X509_get_subject_name(x);
	if (name_add(n, NID_commonName, cn) && name_add(n, NID_name, cn) &&
	    name_add(n, NID_organizationName, cn) && name_add(n, NID_countryName, "MX") &&
	    name_add(n, NID_x500UniqueIdentifier, rfc) && name_add(n, NID_serialNumber, curp) &&
	    X509_set_issuer_name(x, X509_get_subject_name(g->ca)) &&
	    add_ext(x, g->ca, NID_key_usage,
		    "critical,digitalSignature,nonRepudiation,dataEncipherment,keyAgreement") &&
	    add_ext(x, g->ca, NID_ext_key_usage, "clientAuth,emailProtection") &&
	    add_ext(x, g->ca, NID_authority_key_identifier, "keyid:always") &&
	    X509_sign(x, g->ca_key, EVP_sha256())) {
		*der = NULL;
		*der_len = i2d_X509(x, der);
		ok = *der_len > 0;
	}
	X509_free(x);
	return ok;
}

/* Writes bundle i into the folder, named as the layout says: the same
 * stem for both files, as SAT's downloads come (the .cer named after the
 * número, the .key "Claveprivada_FIEL_<RFC>_<date>.key"), or names that
 * share nothing (c00001.cer + k00001.key). */
bool write_bundle(const struct gen *g, const char *dir, enum layout l, size_t i,
			 const char *rfc, const char *numero, const unsigned char *der, int len)
{
	char cer[1400], key[1400];
	int a, b;
	if (l == LAYOUT_SAME) {
		a = snprintf(cer, sizeof(cer), "%s/%s.cer", dir, rfc);
		b = snprintf(key, sizeof(key), "%s/%s.key", dir, rfc);
	} else if (l == LAYOUT_SAT) {
		a = snprintf(cer, sizeof(cer), "%s/%s.cer", dir, numero);
		b = snprintf(key, sizeof(key), "%s/Claveprivada_FIEL_%s_20230509_114423.key", dir,
			     rfc);
	} else {
		a = snprintf(cer, sizeof(cer), "%s/c%05zu.cer", dir, i + 1);
		b = snprintf(key, sizeof(key), "%s/k%05zu.key", dir, i + 1);
	}
	if (a < 0 || b < 0 || (size_t)a >= sizeof(cer) || (size_t)b >= sizeof(key))
		return false;
	int k = (int)(i % (size_t)g->n_keys);
	return bench_write_file(cer, der, (size_t)len) &&
	       bench_write_file(key, g->keyder[k], (size_t)g->keylen[k]);
}
