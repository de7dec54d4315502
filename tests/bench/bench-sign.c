/*
 * bench-sign.c - signing throughput and latency: the module, OpenSSL's EVP
 * API on the same key, and SoftHSM2 with the same key imported.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every round runs each (operation, thread count) cell once per backend,
 * one short slice each, in an order that rotates from round to round: on a
 * shared machine a burst of load then hits the three alike, and the ratios
 * are taken per round (paired) before the median over rounds.
 */
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

char bench_softhsm_version[32];

enum op { OP_SHA256_PKCS, OP_RAW_PKCS, OP_PSS_HASH, OP_SHA256_PSS, N_OPS };
enum bk { BK_MODULE, BK_OPENSSL, BK_SOFTHSM, N_BK };

static const char *const op_name[N_OPS] = {
	"CKM_SHA256_RSA_PKCS",
	"CKM_RSA_PKCS (DigestInfo)",
	"CKM_RSA_PKCS_PSS (hash)",
	"CKM_SHA256_RSA_PKCS_PSS",
};
static const char *const op_tag[N_OPS] = { "sha256-pkcs", "rsa-pkcs", "pss-hash", "sha256-pss" };
static const char *const bk_name[N_BK] = { "module", "openssl", "softhsm" };

struct backend {
	bool ready;
	struct bench_p11 p11;                   /* module, SoftHSM */
	CK_SESSION_HANDLE sess[BENCH_MAX_THREADS];
	CK_OBJECT_HANDLE key;
	EVP_PKEY *pkey;                         /* OpenSSL: shared by the threads */
};

/* What is signed: a 1 KiB message for the hash-and-sign mechanisms, its
 * SHA-256 for PSS over a hash, the DigestInfo of it for CKM_RSA_PKCS
 * (TLS 1.2 with PKCS #1 v1.5 signs exactly that, 51 bytes). */
static unsigned char msg[1024], hash[32], digestinfo[51];
static CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };

/* [RFC 8017 §9.2 note 1] the DER prefix of a SHA-256 DigestInfo. */
static const unsigned char sha256_prefix[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

static void input_of(enum op op, const unsigned char **in, size_t *len)
{
	switch (op) {
	case OP_RAW_PKCS: *in = digestinfo; *len = sizeof(digestinfo); break;
	case OP_PSS_HASH: *in = hash; *len = sizeof(hash); break;
	default: *in = msg; *len = sizeof(msg); break;
	}
}

static CK_MECHANISM mech_of(enum op op)
{
	CK_MECHANISM m = { 0, NULL, 0 };
	switch (op) {
	case OP_SHA256_PKCS: m.mechanism = CKM_SHA256_RSA_PKCS; break;
	case OP_RAW_PKCS: m.mechanism = CKM_RSA_PKCS; break;
	case OP_PSS_HASH: m.mechanism = CKM_RSA_PKCS_PSS; break;
	default: m.mechanism = CKM_SHA256_RSA_PKCS_PSS; break;
	}
	if (op == OP_PSS_HASH || op == OP_SHA256_PSS) {
		m.pParameter = &pss;
		m.ulParameterLen = sizeof(pss);
	}
	return m;
}

static bool is_pss(enum op op)
{
	return op == OP_PSS_HASH || op == OP_SHA256_PSS;
}

static bool hashes_itself(enum op op)
{
	return op == OP_SHA256_PKCS || op == OP_SHA256_PSS;
}

/* PKCS#1 v1.5 or PSS {SHA-256, MGF1-SHA-256, salt 32} on a context. */
static bool set_padding(EVP_PKEY_CTX *pctx, enum op op)
{
	if (!is_pss(op))
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0;
}

/* One signature with OpenSSL's EVP API, as an application does it: a new
 * context per signature. */
static bool ossl_sign(EVP_PKEY *key, enum op op, unsigned char *sig, size_t *siglen)
{
	bool ok = false;
	if (hashes_itself(op)) {
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;
		ok = mctx && EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, key) > 0 &&
		     set_padding(pctx, op) && EVP_DigestSign(mctx, sig, siglen, msg, sizeof(msg)) > 0;
		EVP_MD_CTX_free(mctx);
	} else {
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
		const unsigned char *in;
		size_t len;
		input_of(op, &in, &len);
		ok = pctx && EVP_PKEY_sign_init(pctx) > 0 && set_padding(pctx, op) &&
		     (!is_pss(op) || EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) > 0) &&
		     EVP_PKEY_sign(pctx, sig, siglen, in, len) > 0;
		EVP_PKEY_CTX_free(pctx);
	}
	return ok;
}

/* C_SignInit + C_Sign, as NSS and pkcs11-tool do for every signature. */
static CK_RV p11_sign(const struct backend *b, int tid, enum op op, unsigned char *sig,
		      size_t *siglen)
{
	CK_MECHANISM m = mech_of(op);
	const unsigned char *in;
	size_t len;
	CK_ULONG out = (CK_ULONG)*siglen;
	input_of(op, &in, &len);
	CK_RV rv = b->p11.f->C_SignInit(b->sess[tid], &m, b->key);
	if (rv == CKR_OK)
		rv = b->p11.f->C_Sign(b->sess[tid], (CK_BYTE_PTR)in, (CK_ULONG)len, sig, &out);
	*siglen = out;
	return rv;
}

static bool sign_once(const struct backend *b, enum bk which, int tid, enum op op,
		      unsigned char *sig, size_t *siglen, CK_RV *rv)
{
	*rv = CKR_OK;
	if (which == BK_OPENSSL)
		return ossl_sign(b->pkey, op, sig, siglen);
	*rv = p11_sign(b, tid, op, sig, siglen);
	return *rv == CKR_OK;
}

/* Checked by OpenSSL against the public key of the .cer. */
static bool verify(EVP_PKEY *pub, enum op op, const unsigned char *sig, size_t siglen)
{
	bool ok = false;
	if (hashes_itself(op)) {
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;
		ok = mctx && EVP_DigestVerifyInit(mctx, &pctx, EVP_sha256(), NULL, pub) > 0 &&
		     set_padding(pctx, op) &&
		     EVP_DigestVerify(mctx, sig, siglen, msg, sizeof(msg)) == 1;
		EVP_MD_CTX_free(mctx);
	} else {
		/* With the signature digest set, OpenSSL rebuilds the
		 * DigestInfo itself: the raw PKCS #1 signature must match. */
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pub, NULL);
		ok = pctx && EVP_PKEY_verify_init(pctx) > 0 && set_padding(pctx, op) &&
		     EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) > 0 &&
		     EVP_PKEY_verify(pctx, sig, siglen, hash, sizeof(hash)) == 1;
		EVP_PKEY_CTX_free(pctx);
	}
	return ok;
}

/* ------------------------------------------------------------ backends */

static bool open_sessions(struct backend *b, CK_SLOT_ID slot, const char *what)
{
	CK_RV rv = CKR_OK;
	for (int t = 0; t < BENCH_MAX_THREADS && rv == CKR_OK; t++)
		rv = b->p11.f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &b->sess[t]);
	if (rv == CKR_OK)
		rv = b->p11.f->C_Login(b->sess[0], CKU_USER, (CK_UTF8CHAR_PTR)BENCH_PIN,
				       strlen(BENCH_PIN));
	if (rv == CKR_OK)
		rv = bench_p11_find(&b->p11, b->sess[0], CKO_PRIVATE_KEY, &b->key);
	if (rv != CKR_OK)
		fprintf(stderr, "efirma-bench: %s: session, login or key: %s\n", what, ef_rv_name(rv));
	return rv == CKR_OK;
}

static bool setup_module(const struct bench_opts *o, const struct bench_key *k, struct backend *b)
{
	char conf[4096];
	CK_SLOT_ID slot;
	CK_RV rv;

	if (!bench_p11_load(o->module, &b->p11))
		return false;
	snprintf(conf, sizeof(conf), "cert=%s key=%s ca=%s", k->cer, k->key, bench_sat(o, "ca"));
	rv = bench_p11_init(&b->p11, conf);
	if (rv == CKR_OK)
		rv = bench_p11_slot(&b->p11, NULL, &slot);
	if (rv != CKR_OK) {
		fprintf(stderr, "efirma-bench: module: C_Initialize or slot: %s\n", ef_rv_name(rv));
		return false;
	}
	return b->ready = open_sessions(b, slot, "module");
}

static const char *softhsm_lib(const struct bench_opts *o)
{
	static const char *const places[] = {
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib64/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
	};
	if (o->softhsm)
		return o->softhsm;
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
		if (access(places[i], R_OK) == 0)
			return places[i];
	return NULL;
}

/* A throw-away SoftHSM2 token (its own SOFTHSM2_CONF) holding the same key,
 * imported with softhsm2-util from an unencrypted PKCS #8 copy that is
 * deleted right after. */
static bool setup_softhsm(const struct bench_opts *o, const struct bench_key *k, struct backend *b)
{
	const char *lib = softhsm_lib(o), *dir;
	char conf[1200], tokens[1200], pem[1200], cmd[4096], text[1400];
	CK_SLOT_ID slot;
	CK_INFO info;
	BIO *bio = NULL;
	bool ok = false;
	CK_RV rv;

	if (!lib) {
		printf("# SoftHSM2 not found: its columns are left empty\n");
		return false;
	}
	if (!(dir = bench_tmpdir()))
		return false;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(pem, sizeof(pem), "%s/key.pem", dir);
	snprintf(text, sizeof(text),
		 "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
		 tokens);
	if (mkdir(tokens, 0700) != 0 || !bench_write_file(conf, text, strlen(text)))
		return false;
	setenv("SOFTHSM2_CONF", conf, 1);
	if (!(bio = BIO_new_file(pem, "w")) ||
	    !PEM_write_bio_PKCS8PrivateKey(bio, k->priv, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		unlink(pem);
		return false;
	}
	BIO_free(bio);
	snprintf(cmd, sizeof(cmd),
		 "softhsm2-util --init-token --free --label efbench --pin '%s' --so-pin 87654321 "
		 ">/dev/null 2>&1 && softhsm2-util --import '%s' --token efbench --label efbench "
		 "--id 01 --pin '%s' >/dev/null 2>&1", BENCH_PIN, pem, BENCH_PIN);
	int st = system(cmd);
	unlink(pem);
	if (st != 0) {
		printf("# softhsm2-util failed (status %d): SoftHSM columns left empty\n", st);
		return false;
	}
	if (!bench_p11_load(lib, &b->p11))
		return false;
	rv = bench_p11_init(&b->p11, NULL);
	if (rv == CKR_OK && b->p11.f->C_GetInfo(&info) == CKR_OK)
		snprintf(bench_softhsm_version, sizeof(bench_softhsm_version), "%u.%u",
			 info.libraryVersion.major, info.libraryVersion.minor);
	if (rv == CKR_OK)
		rv = bench_p11_slot(&b->p11, "efbench", &slot);
	if (rv != CKR_OK) {
		fprintf(stderr, "efirma-bench: SoftHSM: C_Initialize or slot: %s\n", ef_rv_name(rv));
		goto out;
	}
	ok = b->ready = open_sessions(b, slot, "SoftHSM");
out:
	return ok;
}

static void teardown(struct backend *b)
{
	if (b->p11.f) {
		b->p11.f->C_Finalize(NULL);
		bench_p11_unload(&b->p11);
	}
	b->ready = false;
}

/* -------------------------------------------------------------- slices */

struct worker {
	const struct backend *b;
	enum bk which;
	int tid;
	enum op op;
	double slice;
	pthread_barrier_t *bar;
	size_t count;
	double t0, t1;
	struct bench_samples lat;
	CK_RV rv;
	bool failed;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned char sig[512];
	pthread_barrier_wait(w->bar);
	double t = bench_now(), end;
	w->t0 = t;
	end = t + w->slice;
	while (t < end) {
		double before = t;
		size_t siglen = sizeof(sig);
		if (!sign_once(w->b, w->which, w->tid, w->op, sig, &siglen, &w->rv)) {
			w->failed = true;
			break;
		}
		t = bench_now();
		bench_push(&w->lat, t - before);
		w->count++;
	}
	w->t1 = t;
	return NULL;
}

/* Runs one backend on one operation with n threads for a slice; returns
 * signatures per second (0 on failure) and adds the latencies to lat. */
static double run_slice(const struct backend *b, enum bk which, enum op op, int nthreads,
			double slice, struct bench_samples *lat)
{
	struct worker w[BENCH_MAX_THREADS];
	pthread_t th[BENCH_MAX_THREADS];
	pthread_barrier_t bar;
	double t0 = 0, t1 = 0;
	size_t total = 0;
	bool failed = false;

	pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].b = b;
		w[i].which = which;
		w[i].tid = i;
		w[i].op = op;
		w[i].slice = slice;
		w[i].bar = &bar;
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		if (w[i].failed) {
			fprintf(stderr, "efirma-bench: %s %s: signing failed: %s\n", bk_name[which],
				op_tag[op], ef_rv_name(w[i].rv));
			failed = true;
		}
		if (i == 0 || w[i].t0 < t0)
			t0 = w[i].t0;
		if (i == 0 || w[i].t1 > t1)
			t1 = w[i].t1;
		total += w[i].count;
		if (lat)
			bench_append(lat, &w[i].lat);
		bench_samples_free(&w[i].lat);
	}
	pthread_barrier_destroy(&bar);
	return failed || t1 <= t0 ? 0 : (double)total / (t1 - t0);
}

/* -------------------------------------------------------------- report */

struct cell {
	struct bench_samples tput;   /* per round */
	struct bench_samples lat;    /* every signature, seconds */
	double ops, p50, p99;
};

static struct cell cells[N_OPS][BENCH_MAX_THREADS][N_BK];
/* Paired per round: module/OpenSSL, module/SoftHSM, module 2t/1t,
 * OpenSSL 2t/1t. */
static struct bench_samples r_ossl[N_OPS][BENCH_MAX_THREADS], r_hsm[N_OPS][BENCH_MAX_THREADS];
static struct bench_samples r_scale[N_OPS][N_BK];

static void fmt_ops(char *buf, size_t n, const struct backend *b, double v)
{
	if (!b->ready)
		snprintf(buf, n, "%9s", "-");
	else
		snprintf(buf, n, "%9.0f", v);
}

static void fmt_ratio(char *buf, size_t n, struct bench_samples *s)
{
	if (s->n == 0)
		snprintf(buf, n, "%8s", "-");
	else
		snprintf(buf, n, "%8.3f", bench_median(s));
}

static void report(const struct bench_opts *o, const struct backend *bk)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];

	for (int op = 0; op < N_OPS; op++)
		for (int t = 0; t < BENCH_MAX_THREADS; t++)
			for (int k = 0; k < N_BK; k++) {
				struct cell *x = &cells[op][t][k];
				x->ops = bench_median(&x->tput);
				x->p50 = bench_pct(&x->lat, 50) * 1e6;
				x->p99 = bench_pct(&x->lat, 99) * 1e6;
			}

	printf("\nSigning throughput (signatures/s, median of %d rounds; ratios: median of the\n"
	       "per-round ratios; C_SignInit + C_Sign per signature, one session per thread)\n\n",
	       o->rounds);
	printf("%-27s %3s %9s %9s %9s %8s %8s\n", "operation", "thr", "module", "openssl",
	       "softhsm", "mod/ossl", "mod/hsm");
	for (int op = 0; op < N_OPS; op++)
		for (int t = 0; t < BENCH_MAX_THREADS; t++) {
			fmt_ops(a, sizeof(a), &bk[BK_MODULE], cells[op][t][BK_MODULE].ops);
			fmt_ops(b, sizeof(b), &bk[BK_OPENSSL], cells[op][t][BK_OPENSSL].ops);
			fmt_ops(c, sizeof(c), &bk[BK_SOFTHSM], cells[op][t][BK_SOFTHSM].ops);
			fmt_ratio(d, sizeof(d), &r_ossl[op][t]);
			fmt_ratio(e, sizeof(e), &r_hsm[op][t]);
			printf("%-27s %3d %s %s %s %s %s\n", op_name[op], t + 1, a, b, c, d, e);
		}

	printf("\nSigning latency (microseconds per signature, p50 / p99 over all rounds)\n\n");
	printf("%-27s %3s %17s %17s %17s\n", "operation", "thr", "module", "openssl", "softhsm");
	for (int op = 0; op < N_OPS; op++)
		for (int t = 0; t < BENCH_MAX_THREADS; t++) {
			char col[N_BK][40];
			for (int k = 0; k < N_BK; k++) {
				const struct cell *x = &cells[op][t][k];
				if (!bk[k].ready)
					snprintf(col[k], sizeof(col[k]), "%17s", "-");
				else
					snprintf(col[k], sizeof(col[k]), "%8.0f /%7.0f", x->p50, x->p99);
			}
			printf("%-27s %3d %s %s %s\n", op_name[op], t + 1, col[0], col[1], col[2]);
		}

	printf("\nScaling 2 threads / 1 thread (median of per-round ratios)\n\n");
	printf("%-27s %9s %9s %9s\n", "operation", "module", "openssl", "softhsm");
	for (int op = 0; op < N_OPS; op++) {
		fmt_ratio(d, sizeof(d), &r_scale[op][BK_MODULE]);
		fmt_ratio(e, sizeof(e), &r_scale[op][BK_OPENSSL]);
		fmt_ratio(f, sizeof(f), &r_scale[op][BK_SOFTHSM]);
		printf("%-27s %9s %9s %9s\n", op_name[op], d, e, f);
	}

	if (o->summary)
		for (int op = 0; op < N_OPS; op++)
			for (int t = 0; t < BENCH_MAX_THREADS; t++) {
				for (int k = 0; k < N_BK; k++) {
					const struct cell *x = &cells[op][t][k];
					if (!bk[k].ready)
						continue;
					fprintf(o->summary,
						"sign op=%s backend=%s threads=%d ops=%.1f p50_us=%.1f "
						"p99_us=%.1f n=%zu\n", op_tag[op], bk_name[k], t + 1,
						x->ops, x->p50, x->p99, x->lat.n);
				}
				if (r_ossl[op][t].n)
					fprintf(o->summary, "ratio op=%s threads=%d vs=openssl value=%.3f\n",
						op_tag[op], t + 1, bench_median(&r_ossl[op][t]));
				if (r_hsm[op][t].n)
					fprintf(o->summary, "ratio op=%s threads=%d vs=softhsm value=%.3f\n",
						op_tag[op], t + 1, bench_median(&r_hsm[op][t]));
			}
}

static void targets(const struct backend *bk)
{
	for (int t = 0; t < BENCH_MAX_THREADS; t++) {
		double worst = 1e9;
		int at = 0;
		for (int op = 0; op < N_OPS; op++) {
			double r = bench_median(&r_ossl[op][t]);
			if (r < worst) {
				worst = r;
				at = op;
			}
		}
		char name[64];
		snprintf(name, sizeof(name), "signing >= 0.97 x OpenSSL, %d thread%s", t + 1,
			 t ? "s" : "");
		bench_target(name, true, worst >= 0.97, "lowest %.3f (%s)", worst, op_name[at]);
	}
	double worst = 1e9, ossl = 1e9;
	int at = 0;
	for (int op = 0; op < N_OPS; op++) {
		double r = bench_median(&r_scale[op][BK_MODULE]);
		double q = bench_median(&r_scale[op][BK_OPENSSL]);
		if (r < worst) {
			worst = r;
			at = op;
		}
		if (q < ossl)
			ossl = q;
	}
	bench_target("2 threads >= 1.85 x 1 thread", true, worst >= 1.85,
		     "lowest %.3f (%s); OpenSSL alone: lowest %.3f", worst, op_name[at], ossl);
	worst = 1e9;
	for (int op = 0; op < N_OPS; op++) {
		double r = bench_median(&r_hsm[op][1]);
		if (r < worst) {
			worst = r;
			at = op;
		}
	}
	bench_target(">= 2 x SoftHSM at 2 threads", bk[BK_SOFTHSM].ready, worst >= 2.0,
		     "lowest %.3f (%s)", worst, op_name[at]);
}

/* ---------------------------------------------------------------- main */

bool bench_sign(const struct bench_opts *o, const struct bench_key *k)
{
	struct backend bk[N_BK];
	unsigned char sig[512];
	bool ok = false;

	memset(bk, 0, sizeof(bk));
	RAND_bytes(msg, sizeof(msg));
	SHA256(msg, sizeof(msg), hash);
	memcpy(digestinfo, sha256_prefix, sizeof(sha256_prefix));
	memcpy(digestinfo + sizeof(sha256_prefix), hash, sizeof(hash));

	if (!setup_module(o, k, &bk[BK_MODULE]))
		goto out;
	bk[BK_OPENSSL].pkey = k->priv;
	bk[BK_OPENSSL].ready = true;
	setup_softhsm(o, k, &bk[BK_SOFTHSM]);

	/* Every backend's signatures must verify before any is timed. */
	for (int b = 0; b < N_BK; b++)
		for (int op = 0; bk[b].ready && op < N_OPS; op++)
			for (int t = 0; t < BENCH_MAX_THREADS; t++) {
				size_t siglen = sizeof(sig);
				CK_RV rv;
				if (!sign_once(&bk[b], b, t, op, sig, &siglen, &rv) ||
				    !verify(k->pub, op, sig, siglen)) {
					fprintf(stderr, "efirma-bench: %s %s: the signature does not "
						"verify (%s)\n", bk_name[b], op_tag[op], ef_rv_name(rv));
					goto out;
				}
			}
	printf("signatures of all %d backends verified by OpenSSL against the .cer\n",
	       bk[BK_SOFTHSM].ready ? 3 : 2);

	/* Warm-up: caches, lazy fetches, CPU frequency. */
	for (int b = 0; b < N_BK; b++)
		for (int op = 0; bk[b].ready && op < N_OPS; op++)
			run_slice(&bk[b], b, op, BENCH_MAX_THREADS, o->slice / 4, NULL);

	for (int r = 0; r < o->rounds; r++) {
		for (int op = 0; op < N_OPS; op++) {
			double tp[BENCH_MAX_THREADS][N_BK] = { { 0 } };
			for (int t = 0; t < BENCH_MAX_THREADS; t++)
				for (int i = 0; i < N_BK; i++) {
					int b = (i + r + op + t) % N_BK;
					if (!bk[b].ready)
						continue;
					struct cell *x = &cells[op][t][b];
					tp[t][b] = run_slice(&bk[b], b, op, t + 1, o->slice, &x->lat);
					if (tp[t][b] <= 0)
						goto out;
					bench_push(&x->tput, tp[t][b]);
				}
			for (int t = 0; t < BENCH_MAX_THREADS; t++) {
				bench_push(&r_ossl[op][t], tp[t][BK_MODULE] / tp[t][BK_OPENSSL]);
				if (bk[BK_SOFTHSM].ready)
					bench_push(&r_hsm[op][t], tp[t][BK_MODULE] / tp[t][BK_SOFTHSM]);
			}
			for (int b = 0; b < N_BK; b++)
				if (bk[b].ready)
					bench_push(&r_scale[op][b], tp[1][b] / tp[0][b]);
		}
		if (!o->smoke) {
			printf(".");
			fflush(stdout);
		}
	}
	report(o, bk);
	targets(bk);
	ok = true;
out:
	for (int b = 0; b < N_BK; b++)
		if (b != BK_OPENSSL)
			teardown(&bk[b]);
	for (int op = 0; op < N_OPS; op++) {
		for (int t = 0; t < BENCH_MAX_THREADS; t++) {
			for (int b = 0; b < N_BK; b++) {
				bench_samples_free(&cells[op][t][b].tput);
				bench_samples_free(&cells[op][t][b].lat);
			}
			bench_samples_free(&r_ossl[op][t]);
			bench_samples_free(&r_hsm[op][t]);
		}
		for (int b = 0; b < N_BK; b++)
			bench_samples_free(&r_scale[op][b]);
	}
	return ok;
}
