/*
 * bench.h - shared pieces of efirma-bench (tests/bench/): options, timing
 * and statistics, temporary folders, PKCS#11 module loading.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The benchmark treats every PKCS#11 module (ours and SoftHSM2) as a
 * client does: dlopen() + C_GetFunctionList, then only the function list.
 */
#ifndef EF_BENCH_H
#define EF_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "efirma-pkcs11.h"

/* The password of the SAT test bundles (tests/data/sat/SOURCE.md). */
#define BENCH_PIN "12345678a"
#define BENCH_BUNDLE "fiel-pf-CACX7605101P8-2023"
#define BENCH_MAX_THREADS 2

struct bench_opts {
	bool smoke;             /* tiny counts: checks that it runs, not speed */
	const char *module;     /* the built efirma-pkcs11.so */
	const char *data;       /* tests/data */
	const char *softhsm;    /* libsofthsm2.so, NULL: look in the usual places */
	int rounds;             /* signing rounds (each runs every cell once) */
	double slice;           /* seconds per cell and round */
	int cold;               /* cold-start cycles */
	int disc_reps;          /* discovery repetitions per size */
	size_t disc_sizes[3];   /* bundles in the scanned folder */
	FILE *summary;          /* machine-readable results, or NULL */
};

/* ---- timing and statistics ------------------------------------------ */

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

struct bench_samples {
	double *v;
	size_t n, cap;
};
bool bench_push(struct bench_samples *s, double x);
bool bench_append(struct bench_samples *s, const struct bench_samples *from);
void bench_samples_free(struct bench_samples *s);
/* Sorts the samples; the p-th percentile (0..100) by nearest rank, 0 if
 * empty. */
double bench_pct(struct bench_samples *s, double p);
double bench_median(struct bench_samples *s);

/* ---- files and folders ----------------------------------------------- */

/* A fresh folder under $TMPDIR (or /tmp), removed by bench_cleanup(). */
const char *bench_tmpdir(void);
void bench_cleanup(void);
unsigned char *bench_read_file(const char *path, size_t *len);
bool bench_write_file(const char *path, const void *data, size_t len);
/* "<data>/sat/<rel>" in a static rotating buffer. */
const char *bench_sat(const struct bench_opts *o, const char *rel);

/* ---- PKCS#11 modules -------------------------------------------------- */

struct bench_p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
};
bool bench_p11_load(const char *path, struct bench_p11 *m);
void bench_p11_unload(struct bench_p11 *m);
/* C_Initialize with CKF_OS_LOCKING_OK and pReserved (may be NULL). */
CK_RV bench_p11_init(const struct bench_p11 *m, const char *reserved);
/* The first slot with a token whose label is label (NULL: any). */
CK_RV bench_p11_slot(const struct bench_p11 *m, const char *label, CK_SLOT_ID *slot);
/* The one object of this class in the session (after login for keys). */
CK_RV bench_p11_find(const struct bench_p11 *m, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
		     CK_OBJECT_HANDLE *obj);
const char *bench_rv(CK_RV rv);

/* ---- the test key ------------------------------------------------------ */

struct bench_key {
	char cer[1024];
	char key[1024];
	EVP_PKEY *priv;   /* decrypted with OpenSSL alone */
	EVP_PKEY *pub;    /* from the .cer: every signature is checked with it */
};
bool bench_key_load(const struct bench_opts *o, struct bench_key *k);
void bench_key_free(struct bench_key *k);

/* ---- the measurements (bench-sign.c, bench-start.c) ------------------- */

/* Signing: prints its tables and records the targets; false on a
 * failure that makes the numbers meaningless (a wrong signature). */
bool bench_sign(const struct bench_opts *o, const struct bench_key *k);
bool bench_cold(const struct bench_opts *o, const struct bench_key *k);
bool bench_discovery(const struct bench_opts *o);

/* ---- generated bundle folders (bench-gen.c) --------------------------- */

#define GEN_KEYS 4

struct gen {
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *keys[GEN_KEYS];
	unsigned char *keyder[GEN_KEYS];   /* SAT-scheme encrypted PKCS #8 */
	int keylen[GEN_KEYS];
	int n_keys;
};
/* A CA and n_keys (<= GEN_KEYS) RSA-2048 keys, encrypted with BENCH_PIN. */
bool gen_init(struct gen *g, int n_keys);
void gen_free(struct gen *g);
/* Bundle i's certificate (DER, OPENSSL_free it): its own RFC, CURP and
 * número (returned), key i % n_keys, issued by the CA. */
bool gen_leaf(const struct gen *g, size_t i, char rfc[16], char numero[24],
	      unsigned char **der, int *der_len);
/* How the two files of a bundle are named in the folder. */
enum layout { LAYOUT_SAME, LAYOUT_SAT, N_LAYOUT };
bool write_bundle(const struct gen *g, const char *dir, enum layout l, size_t i,
		  const char *rfc, const char *numero, const unsigned char *der, int len);

/* A target's verdict, printed at the end. */
void bench_target(const char *name, bool measured, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The SoftHSM version seen, for the machine description ("" if none). */
extern char bench_softhsm_version[32];

#endif
