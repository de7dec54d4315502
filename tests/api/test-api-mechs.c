/*
 * test-api-mechs.c - what the private key may be used for (doc/DESIGN.md §8,
 * issue 9 item 4), black-box through the function list:
 *   - by default no PKCS#1 v1.5 decryption and no raw RSA (CKM_RSA_X_509)
 *     at all: the mechanism list and info say so, and C_DecryptInit /
 *     C_SignInit refuse them; CKM_RSA_PKCS still signs;
 *   - OAEP decryption of OpenSSL ciphertexts on an e.firma (dataEncipherment);
 *     refused on a CSD and on a certificate without keyUsage;
 *   - allow-pkcs1-decrypt (pReserved word, [module] key of the file, and
 *     a pReserved word beside a file source) turns PKCS#1 v1.5 decryption
 *     on; raw RSA stays off, and a CSD still refuses;
 *   - a certificate whose key has fewer than 1024 bits gives no token (one
 *     warning); 1024 bits is accepted.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rsa.h>

#include "../tap.h"
#include "api-util.h"

struct tok {
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub;
	EVP_PKEY *pubkey;   /* from the .cer, by OpenSSL */
};

/* conf: the pReserved string; NULL: the bundle alone. */
static bool tok_open(struct tok *t, const struct api_bundle *b, const char *conf)
{
	memset(t, 0, sizeof *t);
	t->pubkey = api_cert_pubkey(b->cer);
	CK_RV rv = conf ? api_init(conf) : api_init_bundle(b);
	if (rv != CKR_OK || api_first_token_slot(&t->slot) != CKR_OK ||
	    api_open(t->slot, false, &t->s) != CKR_OK || api_login(t->s, b->pin) != CKR_OK)
		return false;
	t->pub = api_one(t->s, CKO_PUBLIC_KEY);
	t->priv = api_one(t->s, CKO_PRIVATE_KEY);
	return t->pubkey && t->pub != CK_INVALID_HANDLE && t->priv != CK_INVALID_HANDLE;
}

static void tok_close(struct tok *t)
{
	EVP_PKEY_free(t->pubkey);
	api_finalize();
}

static bool listed(CK_SLOT_ID slot, CK_MECHANISM_TYPE m)
{
	CK_MECHANISM_TYPE list[64];
	CK_ULONG n = 64;
	if (P->C_GetMechanismList(slot, list, &n) != CKR_OK)
		return false;
	for (CK_ULONG i = 0; i < n; i++)
		if (list[i] == m)
			return true;
	return false;
}

static CK_FLAGS flags_of(CK_SLOT_ID slot, CK_MECHANISM_TYPE m)
{
	CK_MECHANISM_INFO mi;
	return P->C_GetMechanismInfo(slot, m, &mi) == CKR_OK ? mi.flags : 0;
}

static bool any_decrypt(CK_SLOT_ID slot)
{
	CK_MECHANISM_TYPE list[64];
	CK_ULONG n = 64;
	if (P->C_GetMechanismList(slot, list, &n) != CKR_OK)
		return true;
	for (CK_ULONG i = 0; i < n; i++)
		if (flags_of(slot, list[i]) & CKF_DECRYPT)
			return true;
	return false;
}

static bool allows(struct tok *t, CK_OBJECT_HANDLE o, CK_MECHANISM_TYPE m)
{
	unsigned char *v = NULL;
	CK_ULONG len = 0;
	bool found = false;
	if (api_attr(t->s, o, CKA_ALLOWED_MECHANISMS, &v, &len) != CKR_OK)
		return false;
	for (CK_ULONG i = 0; i < len / sizeof(CK_MECHANISM_TYPE); i++)
		found |= ((CK_MECHANISM_TYPE *)(void *)v)[i] == m;
	free(v);
	return found;
}

/* OpenSSL encrypts 32 random bytes to the .cer's key; the module decrypts. */
static CK_RV decrypt_roundtrip(struct tok *t, CK_MECHANISM *m, int padding)
{
	unsigned char secret[32], ct[1024], pt[1024];
	api_random(secret, sizeof secret);
	size_t cl = api_encrypt(t->pubkey, padding, EVP_sha256(), EVP_sha256(), NULL, 0,
				secret, sizeof secret, ct, sizeof ct);
	if (cl == 0)
		return CKR_GENERAL_ERROR;
	CK_RV rv = P->C_DecryptInit(t->s, m, t->priv);
	if (rv != CKR_OK)
		return rv;
	CK_ULONG pl = sizeof pt;
	rv = P->C_Decrypt(t->s, ct, cl, pt, &pl);
	if (rv == CKR_OK && (pl != sizeof secret || memcmp(pt, secret, pl) != 0))
		rv = CKR_GENERAL_ERROR;
	return rv;
}

static CK_RSA_PKCS_OAEP_PARAMS oaep_p = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
static CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &oaep_p, sizeof oaep_p };
static CK_MECHANISM pkcs1 = { CKM_RSA_PKCS, NULL, 0 };
static CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };

/* Raw RSA is refused for every use, with the switch or without. */
static void no_raw_rsa(struct tok *t, const char *nm)
{
	ok(!listed(t->slot, CKM_RSA_X_509), "%s: CKM_RSA_X_509 not in the mechanism list", nm);
	CK_MECHANISM_INFO mi;
	is_ul(P->C_GetMechanismInfo(t->slot, CKM_RSA_X_509, &mi), CKR_MECHANISM_INVALID,
	      "%s: C_GetMechanismInfo(CKM_RSA_X_509) -> CKR_MECHANISM_INVALID", nm);
	is_ul(P->C_SignInit(t->s, &raw, t->priv), CKR_MECHANISM_INVALID,
	      "%s: C_SignInit(CKM_RSA_X_509) -> CKR_MECHANISM_INVALID", nm);
	CK_RV rv = P->C_DecryptInit(t->s, &raw, t->priv);
	ok(rv == CKR_MECHANISM_INVALID || rv == CKR_KEY_FUNCTION_NOT_PERMITTED,
	   "%s: C_DecryptInit(CKM_RSA_X_509) refused (%s)", nm, ef_rv_name(rv));
	is_ul(P->C_VerifyInit(t->s, &raw, t->pub), CKR_MECHANISM_INVALID,
	      "%s: C_VerifyInit(CKM_RSA_X_509) -> CKR_MECHANISM_INVALID", nm);
	rv = P->C_EncryptInit(t->s, &raw, t->pub);
	ok(rv == CKR_MECHANISM_INVALID || rv == CKR_KEY_FUNCTION_NOT_PERMITTED,
	   "%s: C_EncryptInit(CKM_RSA_X_509) refused (%s)", nm, ef_rv_name(rv));
	ok(!allows(t, t->priv, CKM_RSA_X_509) && !allows(t, t->pub, CKM_RSA_X_509),
	   "%s: CKA_ALLOWED_MECHANISMS of both keys without CKM_RSA_X_509", nm);
}

/* CKM_RSA_PKCS keeps signing (NSS signs TLS 1.2 with it). */
static void pkcs1_signs(struct tok *t, const char *nm)
{
	static const unsigned char di_sha256[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
						     0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
						     0x00, 0x04, 0x20 };
	unsigned char di[51], sig[1024];
	CK_ULONG sl = sizeof sig;
	memcpy(di, di_sha256, 19);
	api_random(di + 19, 32);
	CK_RV rv = P->C_SignInit(t->s, &pkcs1, t->priv);
	if (rv == CKR_OK)
		rv = P->C_Sign(t->s, di, sizeof di, sig, &sl);
	ok(rv == CKR_OK && api_verify_recover(t->pubkey, RSA_PKCS1_PADDING, di, sizeof di, sig, sl),
	   "%s: CKM_RSA_PKCS signs a DigestInfo, verified by OpenSSL (%s)", nm, ef_rv_name(rv));
	ok((flags_of(t->slot, CKM_RSA_PKCS) & (CKF_SIGN | CKF_VERIFY)) == (CKF_SIGN | CKF_VERIFY),
	   "%s: CKM_RSA_PKCS info has CKF_SIGN|CKF_VERIFY", nm);
}

/* ------------------------------------------------------------- default */

static void test_default_efirma(const struct api_bundle *b)
{
	struct tok t;
	const char *nm = "e.firma, default";

	tap_diag("---- %s", nm);
	if (!ok(tok_open(&t, b, NULL), "%s: token, login", nm))
		goto out;
	ok(listed(t.slot, CKM_RSA_PKCS) && listed(t.slot, CKM_RSA_PKCS_OAEP),
	   "%s: CKM_RSA_PKCS and CKM_RSA_PKCS_OAEP listed", nm);
	CK_FLAGS f = flags_of(t.slot, CKM_RSA_PKCS);
	ok(!(f & CKF_DECRYPT), "%s: CKM_RSA_PKCS info without CKF_DECRYPT (flags 0x%lx)", nm,
	   (unsigned long)f);
	f = flags_of(t.slot, CKM_RSA_PKCS_OAEP);
	ok((f & (CKF_ENCRYPT | CKF_DECRYPT)) == (CKF_ENCRYPT | CKF_DECRYPT),
	   "%s: CKM_RSA_PKCS_OAEP info with CKF_ENCRYPT|CKF_DECRYPT (flags 0x%lx)", nm, (unsigned long)f);
	is_ul(P->C_DecryptInit(t.s, &pkcs1, t.priv), CKR_MECHANISM_INVALID,
	      "%s: C_DecryptInit(CKM_RSA_PKCS) -> CKR_MECHANISM_INVALID", nm);
	unsigned char buf[256];
	CK_ULONG bl = sizeof buf;
	memset(buf, 0, sizeof buf);
	is_ul(P->C_Decrypt(t.s, buf, sizeof buf, buf, &bl), CKR_OPERATION_NOT_INITIALIZED,
	      "%s: ... and no operation was started", nm);
	no_raw_rsa(&t, nm);
	pkcs1_signs(&t, nm);
	ok(api_attr_bool(t.s, t.priv, CKA_DECRYPT) == 1, "%s: private key CKA_DECRYPT = TRUE (OAEP)", nm);
	ok(allows(&t, t.priv, CKM_RSA_PKCS_OAEP), "%s: CKA_ALLOWED_MECHANISMS has OAEP", nm);
	is_ul(decrypt_roundtrip(&t, &oaep, RSA_PKCS1_OAEP_PADDING), CKR_OK,
	      "%s: OAEP SHA-256 ciphertext by OpenSSL decrypts to the secret", nm);
out:
	tok_close(&t);
}

/* A token whose certificate allows no encipherment: no decryption at all. */
static void test_no_encipherment(const struct api_bundle *b, const char *conf, const char *nm)
{
	struct tok t;

	tap_diag("---- %s", nm);
	if (!ok(tok_open(&t, b, conf), "%s: token, login", nm))
		goto out;
	ok(!listed(t.slot, CKM_RSA_PKCS_OAEP), "%s: CKM_RSA_PKCS_OAEP not listed", nm);
	ok(!any_decrypt(t.slot), "%s: no mechanism claims CKF_DECRYPT", nm);
	is_ul(api_attr_bool(t.s, t.priv, CKA_DECRYPT), 0, "%s: private key CKA_DECRYPT = FALSE", nm);
	is_ul(api_attr_bool(t.s, t.pub, CKA_ENCRYPT), 0, "%s: public key CKA_ENCRYPT = FALSE", nm);
	is_ul(P->C_DecryptInit(t.s, &oaep, t.priv), CKR_KEY_FUNCTION_NOT_PERMITTED,
	      "%s: C_DecryptInit(OAEP) -> CKR_KEY_FUNCTION_NOT_PERMITTED", nm);
	is_ul(P->C_DecryptInit(t.s, &pkcs1, t.priv), CKR_KEY_FUNCTION_NOT_PERMITTED,
	      "%s: C_DecryptInit(CKM_RSA_PKCS) -> CKR_KEY_FUNCTION_NOT_PERMITTED", nm);
	no_raw_rsa(&t, nm);
	pkcs1_signs(&t, nm);
out:
	tok_close(&t);
}

/* ----------------------------------------------------------- the switch */

static void test_switch_on(const struct api_bundle *b, const char *conf, const char *nm)
{
	struct tok t;

	tap_diag("---- %s", nm);
	if (!ok(tok_open(&t, b, conf), "%s: token, login", nm))
		goto out;
	CK_FLAGS f = flags_of(t.slot, CKM_RSA_PKCS);
	ok((f & (CKF_DECRYPT | CKF_SIGN)) == (CKF_DECRYPT | CKF_SIGN),
	   "%s: CKM_RSA_PKCS info with CKF_DECRYPT and CKF_SIGN (flags 0x%lx)", nm, (unsigned long)f);
	is_ul(decrypt_roundtrip(&t, &pkcs1, RSA_PKCS1_PADDING), CKR_OK,
	      "%s: PKCS#1 v1.5 ciphertext by OpenSSL decrypts to the secret", nm);
	is_ul(decrypt_roundtrip(&t, &oaep, RSA_PKCS1_OAEP_PADDING), CKR_OK,
	      "%s: OAEP still decrypts", nm);
	no_raw_rsa(&t, nm);
	pkcs1_signs(&t, nm);
out:
	tok_close(&t);
}

static void test_switch(const struct api_bundle *fiel, const struct api_bundle *csd)
{
	const char *dir = api_tmpdir();
	char conf[8192], path[4096];
	FILE *f;

	snprintf(conf, sizeof conf, "cert=\"%s\" key=\"%s\" allow-pkcs1-decrypt=1", fiel->cer, fiel->key);
	test_switch_on(fiel, conf, "e.firma, pReserved allow-pkcs1-decrypt=1");

	if (!ok(dir != NULL, "temporary folder"))
		return;
	snprintf(path, sizeof path, "%s/pkcs1.conf", dir);
	f = fopen(path, "w");
	if (!ok(f != NULL, "write %s", path))
		return;
	fprintf(f, "[module]\nallow-pkcs1-decrypt = yes\n\n[bundle]\ncert = %s\nkey = %s\n",
		fiel->cer, fiel->key);
	fclose(f);
	snprintf(conf, sizeof conf, "conf=\"%s\"", path);
	test_switch_on(fiel, conf, "e.firma, [module] allow-pkcs1-decrypt = yes");

	/* The word beside a file named by EFIRMA_PKCS11_CONF: pReserved
	 * names no bundle, so the bundles come from the file. */
	snprintf(path, sizeof path, "%s/plain.conf", dir);
	f = fopen(path, "w");
	if (!ok(f != NULL, "write %s", path))
		return;
	fprintf(f, "[bundle]\ncert = %s\nkey = %s\n", fiel->cer, fiel->key);
	fclose(f);
	setenv("EFIRMA_PKCS11_CONF", path, 1);
	test_switch_on(fiel, "allow-pkcs1-decrypt=true", "e.firma, file + pReserved allow-pkcs1-decrypt=true");
	unsetenv("EFIRMA_PKCS11_CONF");

	snprintf(conf, sizeof conf, "cert=\"%s\" key=\"%s\" allow-pkcs1-decrypt=0", fiel->cer, fiel->key);
	struct tok t;
	if (ok(tok_open(&t, fiel, conf), "allow-pkcs1-decrypt=0: token, login"))
		is_ul(P->C_DecryptInit(t.s, &pkcs1, t.priv), CKR_MECHANISM_INVALID,
		      "allow-pkcs1-decrypt=0: C_DecryptInit(CKM_RSA_PKCS) -> CKR_MECHANISM_INVALID");
	tok_close(&t);

	/* The switch never overrides the certificate's keyUsage. */
	snprintf(conf, sizeof conf, "cert=\"%s\" key=\"%s\" allow-pkcs1-decrypt=1", csd->cer, csd->key);
	test_no_encipherment(csd, conf, "CSD, allow-pkcs1-decrypt=1");
}

/* --------------------------------------------------- generated bundles */

/* An RSA key of the given size in SAT's .key format, NAME-src.key. */
static bool gen_key(const char *dir, const char *name, int bits)
{
	return api_sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%d "
		      "-out '%s-src.pem' 2>/dev/null && "
		      "openssl pkcs8 -topk8 -in '%s-src.pem' -outform DER -v2 des3 -v2prf hmacWithSHA1 "
		      "-iter 2048 -passout pass:%s -out '%s-src.key' 2>/dev/null",
		      dir, bits, name, name, API_PIN, name) == 0;
}

/* An e.firma-like certificate (keyUsage with dataEncipherment) for a new
 * key of that size. */
static bool gen_bundle(const char *dir, const char *name, int bits, struct api_bundle *b)
{
	char src[4096];
	snprintf(src, sizeof src, "%s/%s-src.key", dir, name);
	return gen_key(dir, name, bits) &&
	       api_gen_cert_for_key(dir, name, src, API_PIN, strlen(API_PIN), b);
}

static void test_no_key_usage(const char *dir)
{
	struct api_bundle b;
	memset(&b, 0, sizeof b);
	snprintf(b.name, sizeof b.name, "no keyUsage");
	snprintf(b.cer, sizeof b.cer, "%s/noku.cer", dir);
	snprintf(b.key, sizeof b.key, "%s/noku-src.key", dir);
	snprintf(b.pin, sizeof b.pin, "%s", API_PIN);
	/* A version 3 certificate with basicConstraints only. */
	bool made = gen_key(dir, "noku", 2048) &&
		    api_sh("cd '%s' && printf '[req]\\nprompt = no\\ndistinguished_name = dn\\n"
			   "x509_extensions = ext\\n[dn]\\nCN = SIN KEYUSAGE\\n"
			   "[ext]\\nbasicConstraints = critical,CA:FALSE\\n' > noku.cnf && "
			   "OPENSSL_CONF=noku.cnf openssl req -x509 -new -config noku.cnf -key noku-src.pem "
			   "-days 30 -outform DER -out noku.cer 2>/dev/null", dir) == 0;
	if (ok(made, "certificate without keyUsage made with openssl"))
		test_no_encipherment(&b, NULL, "certificate without keyUsage");
}

/* Runs C_Initialize and C_GetSlotList with stderr sent to a file; returns
 * how many lines of it name the short key. */
static int small_key_warnings(const struct api_bundle *b, const char *dir, CK_ULONG *all,
			      CK_ULONG *present)
{
	char path[4096], line[8192];
	snprintf(path, sizeof path, "%s/stderr.txt", dir);
	fflush(stderr);
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0)
		return -1;
	dup2(fd, 2);
	close(fd);
	*all = *present = 0;
	if (api_init_bundle(b) == CKR_OK) {
		P->C_GetSlotList(CK_FALSE, NULL, all);
		P->C_GetSlotList(CK_TRUE, NULL, present);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	api_finalize();
	int n = 0;
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strstr(line, "512 bits"))
			n++;
		else
			tap_diag("stderr: %s", line);
	}
	if (f)
		fclose(f);
	return n;
}

static void test_key_sizes(void)
{
	const char *dir = api_tmpdir();
	struct api_bundle b;
	CK_ULONG all, present;

	tap_diag("---- key sizes");
	if (!ok(dir != NULL, "temporary folder"))
		return;
	if (ok(gen_bundle(dir, "rsa512", 512, &b), "512-bit bundle made with openssl")) {
		int n = small_key_warnings(&b, dir, &all, &present);
		ok(all == 1 && present == 0, "512-bit key: one slot, no token (%lu/%lu)",
		   (unsigned long)all, (unsigned long)present);
		is_ul((CK_ULONG)n, 1, "512-bit key: one warning names the key size");
	}
	if (ok(gen_bundle(dir, "rsa1024", 1024, &b), "1024-bit bundle made with openssl")) {
		struct tok t;
		if (ok(tok_open(&t, &b, NULL), "1024-bit key: token, login"))
			pkcs1_signs(&t, "1024-bit key");
		tok_close(&t);
	}
	test_no_key_usage(dir);
}

int main(void)
{
	struct api_bundle fiel, csd;

	api_setup_env();
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel) &&
		api_sat_bundle("csd-pm-EKU9003173C9-2023", &csd), "SAT e.firma and CSD bundles"))
		return tap_done();
	TAP_PART(test_default_efirma(&fiel));
	TAP_PART(test_no_encipherment(&csd, NULL, "CSD, default"));
	TAP_PART(test_switch(&fiel, &csd));
	TAP_PART(test_key_sizes());
	return tap_done();
}
