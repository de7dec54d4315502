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
#include "ckr_names.h"

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
	unsigned long cap_iter; /* PBKDF2 iterations of the capped key (issue 9) */
	int wait_logins;        /* logins to the capped key while others are timed */
	double wait_idle;       /* seconds of the same calls with no login running */
	size_t scale_sizes[3];  /* unpaired bundles, one child process each */
	size_t n_broken;        /* broken .cer files in the warnings folder */
	size_t mem_limit_mb;    /* RLIMIT_AS of those children */
	int child_timeout;      /* seconds before such a child is stopped */
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
/* The value after "key" on the first line of a text file that starts with
 * it ("key: value" or "KEY=value", quotes dropped); out untouched if none. */
void bench_file_field(const char *path, const char *key, char *out, size_t n);
/* VmRSS, VmHWM... of /proc/self/status in kB, -1 if not found. */
long bench_status_kb(const char *field);
/* Lines of a file that contain needle ("" counts every line). */
size_t bench_count_lines(const char *path, const char *needle);

/* ---- measurements in a child process ------------------------------------ */

/* How a child ended: fn returned true or false, it ran out of time, or a
 * signal (other than the timeout's) stopped it. */
enum bench_end { BENCH_END_OK, BENCH_END_FAILED, BENCH_END_TIMEOUT, BENCH_END_SIGNAL };
/* Runs fn(arg, out) in a forked child under an address-space limit
 * (mem_mb, 0: none) and a timeout, with its stderr sent to err_path (NULL:
 * inherited).  out (len bytes) is shared with the child while it runs, so
 * what it wrote before a timeout is kept.  A measurement that may need
 * gigabytes on unfixed code gets "exceeded", never a thrashing machine. */
enum bench_end bench_child(bool (*fn)(void *arg, void *out), void *arg, void *out, size_t len,
			   size_t mem_mb, int timeout_s, const char *err_path);

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
/* Issue 9 item 2: unpaired names at 1k-10k bundles, broken certificates. */
bool bench_scale(const struct bench_opts *o);
/* Issue 9 item 1 (bench-wait.c): calls on one token while another's key
 * at the iteration cap is logged in to; a login beside capped bogus keys. */
bool bench_wait(const struct bench_opts *o, const struct bench_key *k);

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
/* key encrypted with BENCH_PIN in SAT's scheme, with iter PBKDF2
 * iterations (SAT: 2048); DER, OPENSSL_free it.  Costs one KDF. */
unsigned char *gen_encrypt_key(EVP_PKEY *key, unsigned long iter, int *len);
/* A 111-byte .key that parses as SAT's scheme with iter iterations but
 * holds no key: opening it costs one KDF and fails. */
bool gen_bogus_key(const char *path, unsigned long iter);
void gen_free(struct gen *g);
/* Bundle i's certificate (DER, OPENSSL_free it): its own RFC, CURP and
 * número (returned), key i % n_keys, issued by the CA. */
bool gen_leaf(const struct gen *g, size_t i, char rfc[16], char numero[24],
	      unsigned char **der, int *der_len);
/* How the two files of a bundle are named in the folder: RFC.cer +
 * RFC.key, SAT's download names, or names that do not pair at all
 * (c00001.cer + k00001.key). */
enum layout { LAYOUT_SAME, LAYOUT_SAT, LAYOUT_UNPAIRED, N_LAYOUT };
bool write_bundle(const struct gen *g, const char *dir, enum layout l, size_t i,
		  const char *rfc, const char *numero, const unsigned char *der, int len);

/* A target's verdict, printed at the end. */
void bench_target(const char *name, bool measured, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The SoftHSM version seen, for the machine description ("" if none). */
extern char bench_softhsm_version[32];

#endif
