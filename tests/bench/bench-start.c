/*
 * bench-start.c - the cost of a cold start (load to unload, with the
 * password KDF measured alone beside it), of discovery with 1, 100 and
 * 1,000 bundles in a scanned folder, and (issue 9) of 1,000 to 10,000
 * bundles whose names do not pair, each size in a child process under a
 * memory limit, and of a folder of broken certificates.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* ---------------------------------------------------------- cold start */

enum phase {
	PH_LOAD, PH_INIT, PH_SLOTS, PH_OPEN, PH_LOGIN, PH_FIND, PH_SIGN, PH_FINAL, PH_UNLOAD,
	N_PH
};
static const char *const ph_name[N_PH] = {
	"dlopen + C_GetFunctionList", "C_Initialize", "C_GetSlotList (x2)", "C_OpenSession",
	"C_Login", "C_FindObjects* (key)", "C_SignInit + C_Sign", "C_Finalize", "dlclose",
};

/* One cycle; t[0..N_PH] are the instants between the phases. */
static bool cold_cycle(const struct bench_opts *o, const char *conf, double t[N_PH + 1])
{
	static unsigned char msg[256];
	unsigned char sig[512];
	CK_ULONG siglen = sizeof(sig), n = 0;
	CK_SLOT_ID slots[8];
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	struct bench_p11 mod;
	CK_RV rv = CKR_OK;
	const char *where = "dlopen";

	t[0] = bench_now();
	if (!bench_p11_load(o->module, &mod))
		return false;
	t[1] = bench_now();
	where = "C_Initialize";
	if ((rv = bench_p11_init(&mod, conf)) != CKR_OK)
		goto out;
	t[2] = bench_now();
	where = "C_GetSlotList";
	if ((rv = mod.f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
		goto fin;
	n = 8;
	if ((rv = mod.f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK || n != 1) {
		rv = rv ? rv : CKR_GENERAL_ERROR;
		goto fin;
	}
	t[3] = bench_now();
	where = "C_OpenSession";
	if ((rv = mod.f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
		goto fin;
	t[4] = bench_now();
	where = "C_Login";
	if ((rv = mod.f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)BENCH_PIN,
				 strlen(BENCH_PIN))) != CKR_OK)
		goto fin;
	t[5] = bench_now();
	where = "C_FindObjects";
	if ((rv = bench_p11_find(&mod, s, CKO_PRIVATE_KEY, &key)) != CKR_OK)
		goto fin;
	t[6] = bench_now();
	where = "C_Sign";
	if ((rv = mod.f->C_SignInit(s, &m, key)) != CKR_OK ||
	    (rv = mod.f->C_Sign(s, msg, sizeof(msg), sig, &siglen)) != CKR_OK)
		goto fin;
	t[7] = bench_now();
fin:
	where = rv == CKR_OK ? "C_Finalize" : where;
	{
		CK_RV rv2 = mod.f->C_Finalize(NULL);
		if (rv == CKR_OK)
			rv = rv2;
	}
	t[8] = bench_now();
out:
	bench_p11_unload(&mod);
	t[9] = bench_now();
	if (rv != CKR_OK)
		fprintf(stderr, "efirma-bench: cold start: %s: %s\n", where, ef_rv_name(rv));
	return rv == CKR_OK;
}

/* The SAT password scheme alone, with OpenSSL: PBKDF2-HMAC-SHA1 of 2048
 * iterations for a 24-byte 3DES key. */
static bool kdf_only(double *dt)
{
	static const unsigned char salt[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	unsigned char out[24];
	double t0 = bench_now();
	bool ok = PKCS5_PBKDF2_HMAC(BENCH_PIN, (int)strlen(BENCH_PIN), salt, sizeof(salt), 2048,
				    EVP_sha1(), sizeof(out), out) == 1;
	*dt = bench_now() - t0;
	OPENSSL_cleanse(out, sizeof(out));
	return ok;
}

/* The .key decrypted by OpenSSL: PBKDF2 + 3DES (PKCS8_decrypt), the RSA
 * key built from it (EVP_PKCS82PKEY), and the first signature with that
 * fresh key (OpenSSL sets up blinding and Montgomery values on first
 * use: every client pays it, whatever the token). */
static bool decrypt_key(const unsigned char *der, size_t len, double *kdf3des, double *whole,
			double *first_sign)
{
	const unsigned char *p = der;
	unsigned char hash[32] = { 1 }, sigbuf[1024];
	size_t sl = sizeof(sigbuf);
	double t0 = bench_now();
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
	PKCS8_PRIV_KEY_INFO *p8 = sig ? PKCS8_decrypt(sig, BENCH_PIN, (int)strlen(BENCH_PIN)) : NULL;
	double t1 = bench_now();
	EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
	double t2 = bench_now();
	EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	bool signed_ok = c && EVP_PKEY_sign_init(c) == 1 &&
			 EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
			 EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
			 EVP_PKEY_sign(c, sigbuf, &sl, hash, sizeof(hash)) == 1;
	double t3 = bench_now();
	EVP_PKEY_CTX_free(c);
	*kdf3des = t1 - t0;
	*whole = t2 - t0;
	*first_sign = t3 - t2;
	if (!signed_ok) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_free(k);
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	return k != NULL;
}

bool bench_cold(const struct bench_opts *o, const struct bench_key *k)
{
	struct bench_samples ph[N_PH + 1], kdf = { 0 }, k3 = { 0 }, whole = { 0 }, fsig = { 0 };
	unsigned char *der = NULL;
	size_t der_len = 0;
	char conf[4096];
	bool ok = false;

	memset(ph, 0, sizeof(ph));
	snprintf(conf, sizeof(conf), "cert=%s key=%s ca=%s", k->cer, k->key, bench_sat(o, "ca"));
	if (!(der = bench_read_file(k->key, &der_len)))
		return false;
	for (int c = 0; c < o->cold; c++) {
		double t[N_PH + 1], a, b;
		/* Alternated with the module's cycle: drift hits both. */
		if (!cold_cycle(o, conf, t) || !kdf_only(&a))
			goto out;
		bench_push(&kdf, a);
		double f;
		if (!decrypt_key(der, der_len, &a, &b, &f))
			goto out;
		bench_push(&k3, a);
		bench_push(&whole, b);
		bench_push(&fsig, f);
		for (int p = 0; p < N_PH; p++)
			bench_push(&ph[p], t[p + 1] - t[p]);
		bench_push(&ph[N_PH], t[N_PH] - t[0]);
	}
	double total = bench_median(&ph[N_PH]) * 1e6;
	double login = bench_median(&ph[PH_LOGIN]) * 1e6;
	double mk = bench_median(&kdf) * 1e6, m3 = bench_median(&k3) * 1e6;
	double mw = bench_median(&whole) * 1e6, mf = bench_median(&fsig) * 1e6;
	/* What is left once the work any client of this key would pay is
	 * taken out: the KDF the SAT format dictates, OpenSSL building the
	 * RSA key, and OpenSSL's first signature with a fresh key. */
	double own = total - mw - mf;
	printf("\nCold start: load .. unload with one bundle (median of %d cycles, microseconds)\n\n",
	       o->cold);
	for (int p = 0; p < N_PH; p++)
		printf("  %-30s %9.0f\n", ph_name[p], bench_median(&ph[p]) * 1e6);
	printf("  %-30s %9.0f   (median of the cycle totals)\n", "total", total);
	printf("\n  OpenSSL alone, alternated with the cycles:\n");
	printf("  %-30s %9.0f   %4.1f%% of the cold start\n", "PBKDF2-HMAC-SHA1, 2048 iter.", mk,
	       100 * mk / total);
	printf("  %-30s %9.0f   %4.1f%% of the cold start\n", "PBKDF2 + 3DES of the .key", m3,
	       100 * m3 / total);
	printf("  %-30s %9.0f   (C_Login above: %.0f)\n", "... + RSA key import", mw, login);
	printf("  %-30s %9.0f   (C_SignInit + C_Sign above: %.0f)\n",
	       "first signature, fresh key", mf, bench_median(&ph[PH_SIGN]) * 1e6);
	printf("\n  the SAT format's KDF (PBKDF2 + 3DES) %7.0f   %4.1f%%\n", m3, 100 * m3 / total);
	printf("  OpenSSL: key import, first signature %6.0f   %4.1f%%\n", mw - m3 + mf,
	       100 * (mw - m3 + mf) / total);
	printf("  the module's own work (the rest)     %6.0f   %4.1f%%\n", own, 100 * own / total);
	if (o->summary)
		fprintf(o->summary, "cold total_us=%.1f login_us=%.1f kdf_us=%.1f kdf3des_us=%.1f "
			"decrypt_us=%.1f init_us=%.1f load_us=%.1f\n", total, login, mk, m3, mw,
			bench_median(&ph[PH_INIT]) * 1e6, bench_median(&ph[PH_LOAD]) * 1e6);
	bench_target("cold start: the password KDF outweighs the module", true, m3 > own,
		     "PBKDF2 + 3DES %.0f us (%.0f%%), module's own work %.0f us (%.0f%%) of %.0f us",
		     m3, 100 * m3 / total, own, 100 * own / total, total);
	ok = true;
out:
	free(der);
	for (int p = 0; p <= N_PH; p++)
		bench_samples_free(&ph[p]);
	bench_samples_free(&kdf);
	bench_samples_free(&k3);
	bench_samples_free(&whole);
	bench_samples_free(&fsig);
	return ok;
}

static const char *const layout_name[N_LAYOUT] = {
	"RFC.cer + RFC.key", "SAT download names", "unpaired names",
};
static const char *const layout_tag[N_LAYOUT] = { "same-name", "sat-names", "unpaired" };

/* One measurement: a fresh load (slot IDs are remembered for the life of
 * the process), C_Initialize + the two-call C_GetSlotList timed, then a
 * rescan alone (C_GetSlotList with a NULL list, nothing changed). */
static bool disc_once(const struct bench_opts *o, const char *conf, size_t expect,
		      double *init_list, double *rescan, double *fin)
{
	struct bench_p11 mod;
	CK_SLOT_ID *list = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	bool ok = false;

	if (!bench_p11_load(o->module, &mod))
		return false;
	double t0 = bench_now();
	rv = bench_p11_init(&mod, conf);
	if (rv != CKR_OK)
		goto out;
	rv = mod.f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK && !(list = calloc(n + 1, sizeof(*list))))
		rv = CKR_HOST_MEMORY;
	if (rv == CKR_OK)
		rv = mod.f->C_GetSlotList(CK_TRUE, list, &n);
	double t1 = bench_now();
	if (rv == CKR_OK)
		rv = mod.f->C_GetSlotList(CK_FALSE, NULL, &n);
	double t2 = bench_now();
	CK_RV rv2 = mod.f->C_Finalize(NULL);
	double t3 = bench_now();
	if (rv == CKR_OK)
		rv = rv2;
	*init_list = t1 - t0;
	*rescan = t2 - t1;
	*fin = t3 - t2;
	ok = rv == CKR_OK && n == expect;
	if (rv == CKR_OK && n != expect)
		fprintf(stderr, "efirma-bench: discovery: %lu slots for %zu bundles\n",
			(unsigned long)n, expect);
out:
	if (rv != CKR_OK)
		fprintf(stderr, "efirma-bench: discovery: %s\n", ef_rv_name(rv));
	free(list);
	bench_p11_unload(&mod);
	return ok;
}

bool bench_discovery(const struct bench_opts *o)
{
	struct gen g;
	const char *base = bench_tmpdir();
	char dirs[N_LAYOUT][3][1200], ca[1200], conf[N_LAYOUT][3][2600];
	size_t max = o->disc_sizes[2];
	struct bench_samples m[N_LAYOUT][3][3];
	bool ok = false, skip[N_LAYOUT][3] = { { false } };

	memset(m, 0, sizeof(m));
	if (!base)
		return false;
	double t0 = bench_now();
	if (!gen_init(&g, o->smoke ? 1 : GEN_KEYS)) {
		fprintf(stderr, "efirma-bench: cannot generate the CA and keys\n");
		goto out;
	}
	snprintf(ca, sizeof(ca), "%s/ca.cer", base);
	{
		unsigned char *der = NULL;
		int len = i2d_X509(g.ca, &der);
		bool w = len > 0 && bench_write_file(ca, der, (size_t)len);
		OPENSSL_free(der);
		if (!w)
			goto out;
	}
	for (int l = 0; l < N_LAYOUT; l++)
		for (int s = 0; s < 3; s++) {
			snprintf(dirs[l][s], sizeof(dirs[l][s]), "%s/%s-%zu", base, layout_tag[l],
				 o->disc_sizes[s]);
			snprintf(conf[l][s], sizeof(conf[l][s]), "dir=%s ca=%s empty-slots=0",
				 dirs[l][s], ca);
			if (mkdir(dirs[l][s], 0700) != 0)
				goto out;
		}
	/* Each certificate once, written into every folder it belongs to. */
	for (size_t i = 0; i < max; i++) {
		char rfc[16], numero[24];
		unsigned char *der = NULL;
		int len = 0;
		if (!gen_leaf(&g, i, rfc, numero, &der, &len)) {
			fprintf(stderr, "efirma-bench: cannot generate certificate %zu\n", i);
			goto out;
		}
		bool w = true;
		for (int l = 0; l < N_LAYOUT; l++)
			for (int s = 0; s < 3; s++)
				if (i < o->disc_sizes[s])
					w = w && write_bundle(&g, dirs[l][s], l, i, rfc, numero, der, len);
		OPENSSL_free(der);
		if (!w)
			goto out;
	}
	printf("\n(generated %zu bundles in %.1f s)\n", max, bench_now() - t0);

	for (int r = 0; r < o->disc_reps; r++)
		for (int l = 0; l < N_LAYOUT; l++)
			for (int i = 0; i < 3; i++) {
				int s = (i + r) % 3;   /* rotate the order of the sizes */
				double a, b, c;
				if (skip[l][s])
					continue;
				if (!disc_once(o, conf[l][s], o->disc_sizes[s], &a, &b, &c))
					goto out;
				bench_push(&m[l][s][0], a);
				bench_push(&m[l][s][1], b);
				bench_push(&m[l][s][2], c);
				/* A pathological case is shown, not repeated for minutes. */
				if (a > 5)
					skip[l][s] = true;
			}

	printf("\nDiscovery: C_Initialize + C_GetSlotList (two calls) with N bundles in a scanned\n"
	       "[directory]; then a rescan alone (C_GetSlotList, NULL list, nothing changed)\n"
	       "(median of %d loads, milliseconds)\n\n", o->disc_reps);
	printf("%-20s %8s %12s %12s %11s %11s\n", "layout", "bundles", "init+list", "per bundle",
	       "rescan", "C_Finalize");
	for (int l = 0; l < N_LAYOUT; l++) {
		double med[3];
		for (int s = 0; s < 3; s++) {
			med[s] = bench_median(&m[l][s][0]);
			printf("%-20s %8zu %12.2f %9.1f us %11.2f %11.2f%s\n", layout_name[l],
			       o->disc_sizes[s], med[s] * 1e3, med[s] * 1e6 / (double)o->disc_sizes[s],
			       bench_median(&m[l][s][1]) * 1e3, bench_median(&m[l][s][2]) * 1e3,
			       m[l][s][0].n < (size_t)o->disc_reps ? "  (measured once: too slow)" : "");
			if (o->summary)
				fprintf(o->summary, "disc layout=%s bundles=%zu init_list_us=%.1f "
					"rescan_us=%.1f\n", layout_tag[l], o->disc_sizes[s], med[s] * 1e6,
					bench_median(&m[l][s][1]) * 1e6);
		}
		char name[96];
		snprintf(name, sizeof(name), "discovery %zu bundles <= 12 x %zu (%s)",
			 o->disc_sizes[2], o->disc_sizes[1], layout_name[l]);
		bench_target(name, true, med[2] <= 12 * med[1], "%.1f x", med[2] / med[1]);
	}
	ok = true;
out:
	gen_free(&g);
	for (int l = 0; l < N_LAYOUT; l++)
		for (int s = 0; s < 3; s++)
			for (int j = 0; j < 3; j++)
				bench_samples_free(&m[l][s][j]);
	return ok;
}

/* ------------------------------------------------- discovery at scale */

/* What a child reports: filled as it goes, so a timeout keeps the rest. */
struct scale_out {
	int stage;                 /* 1: C_Initialize returned, 2: a rescan done */
	CK_RV rv;
	unsigned long slots;
	double init, rescan;       /* seconds; rescan: median */
	long rss0_kb, hwm_kb;      /* before C_Initialize; peak after the rescans */
	size_t warn[4];            /* stderr lines after C_Initialize, each rescan */
};

struct scale_arg {
	const struct bench_opts *o;
	const char *conf;
	const char *err;           /* the child's stderr, or NULL */
};

/* In the child: C_Initialize on the folder, then up to three rescans
 * (C_GetSlotList with a NULL list: it reads the folder again); the RSS
 * before and the peak after (VmHWM, reset through clear_refs first, so
 * the parent's past does not count). */
static bool scale_child(void *argp, void *outp)
{
	const struct scale_arg *a = argp;
	struct scale_out *out = outp;
	struct bench_samples rescans = { 0 };
	struct bench_p11 mod;
	CK_ULONG n = 0;

	if (!bench_p11_load(a->o->module, &mod))
		return false;
	/* The heap the parent freed is still resident in this copy of it:
	 * returned first, or the module's allocations would reuse it unseen. */
	malloc_trim(0);
	out->rss0_kb = bench_status_kb("VmRSS");
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	double t0 = bench_now();
	out->rv = bench_p11_init(&mod, a->conf);
	out->init = bench_now() - t0;
	out->stage = 1;
	out->hwm_kb = bench_status_kb("VmHWM");
	if (a->err)
		out->warn[0] = bench_count_lines(a->err, "");
	for (int r = 0; out->rv == CKR_OK && r < 3; r++) {
		t0 = bench_now();
		out->rv = mod.f->C_GetSlotList(CK_FALSE, NULL, &n);
		bench_push(&rescans, bench_now() - t0);
		out->rescan = bench_median(&rescans);
		out->slots = n;
		out->stage = 2;
		out->hwm_kb = bench_status_kb("VmHWM");
		if (a->err)
			out->warn[r + 1] = bench_count_lines(a->err, "");
		/* A slow rescan is shown once, not repeated. */
		if (!a->err && rescans.v[rescans.n - 1] > 0.5)
			break;
	}
	bench_samples_free(&rescans);
	if (out->rv == CKR_OK)
		mod.f->C_Finalize(NULL);
	bench_p11_unload(&mod);
	return out->rv == CKR_OK;
}

/* Why a child's numbers are missing, for the table. */
static const char *scale_why(const struct bench_opts *o, enum bench_end end,
			     const struct scale_out *r, double took, char *buf, size_t n)
{
	if (end == BENCH_END_TIMEOUT)
		snprintf(buf, n, "exceeded %d s", o->child_timeout);
	else if (end == BENCH_END_SIGNAL || r->rv == CKR_HOST_MEMORY)
		snprintf(buf, n, "exceeded %zu MB after %.1f s", o->mem_limit_mb, took);
	else
		snprintf(buf, n, "failed: %s", ef_rv_name(r->rv));
	return buf;
}

/* n copies of one bundle, unpaired names: the module reads each file
 * anyway, and 10,000 certificates would take a minute to sign. */
static bool write_copies(const struct gen *g, const char *dir, size_t n, const unsigned char *der,
			 int len)
{
	if (mkdir(dir, 0700) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!write_bundle(g, dir, LAYOUT_UNPAIRED, i, "", "", der, len))
			return false;
	return true;
}

static void scale_sizes(const struct bench_opts *o, const struct gen *g, const char *base,
			const char *ca, const unsigned char *der, int len)
{
	const size_t last = o->scale_sizes[2];
	printf("\nDiscovery at scale, unpaired names (c00001.cer + k00001.key, one bundle copied):\n"
	       "one child process per size, address space limited to %zu MB, stopped after %d s;\n"
	       "RSS growth: peak VmHWM after the rescans - VmRSS before C_Initialize;\n"
	       "rescan: C_GetSlotList (NULL list), nothing changed (median of 3, or 1 if slow)\n"
	       "targets at %zu: C_Initialize <= 1 s, rescan <= 0.2 s, RSS growth <= 100 MB\n\n",
	       o->mem_limit_mb, o->child_timeout, last);
	printf("%8s %8s %14s %12s %12s\n", "bundles", "slots", "C_Initialize", "rescan",
	       "RSS growth");
	for (int s = 0; s < 3; s++) {
		char dir[1200], conf[2600], why[64], init[32] = "-", resc[32] = "-", rss[32] = "-";
		struct scale_out r = { 0 };
		struct scale_arg a = { o, conf, NULL };
		size_t n = o->scale_sizes[s];
		snprintf(dir, sizeof(dir), "%s/unpaired-%zu", base, n);
		snprintf(conf, sizeof(conf), "dir=%s ca=%s empty-slots=0", dir, ca);
		if (!write_copies(g, dir, n, der, len)) {
			printf("%8zu cannot write the folder\n", n);
			continue;
		}
		double t0 = bench_now();
		enum bench_end end = bench_child(scale_child, &a, &r, sizeof(r), o->mem_limit_mb,
						 o->child_timeout, NULL);
		double took = bench_now() - t0;
		bool done = end == BENCH_END_OK;
		if (r.stage >= 1 && (done || r.stage >= 2))
			snprintf(init, sizeof(init), "%.1f ms", r.init * 1e3);
		if (r.stage >= 2)
			snprintf(resc, sizeof(resc), "%.2f ms", r.rescan * 1e3);
		if (r.rss0_kb >= 0 && r.hwm_kb > 0)
			snprintf(rss, sizeof(rss), "%.1f MB", (double)(r.hwm_kb - r.rss0_kb) / 1024);
		printf("%8zu %8lu %14s %12s %12s   %s\n", n, r.slots, init, resc, rss,
		       done ? (r.slots == n ? "" : "(wrong slot count)")
			    : scale_why(o, end, &r, took, why, sizeof(why)));
		if (o->summary)
			fprintf(o->summary, "scale bundles=%zu done=%d slots=%lu init_us=%.1f "
				"rescan_us=%.1f rss_kb=%ld\n", n, done, r.slots, r.init * 1e6,
				r.rescan * 1e6, r.hwm_kb - r.rss0_kb);
		if (n != last)
			continue;
		char name[96];
		double mb = (double)(r.hwm_kb - r.rss0_kb) / 1024;
		snprintf(name, sizeof(name), "%zu unpaired bundles: C_Initialize <= 1 s", n);
		bench_target(name, true, done && r.init <= 1.0, "%s",
			     done ? init : scale_why(o, end, &r, took, why, sizeof(why)));
		snprintf(name, sizeof(name), "%zu unpaired bundles: rescan <= 0.2 s", n);
		bench_target(name, true, done && r.rescan <= 0.2, "%s",
			     done ? resc : scale_why(o, end, &r, took, why, sizeof(why)));
		snprintf(name, sizeof(name), "%zu unpaired bundles: RSS growth <= 100 MB", n);
		bench_target(name, true, done && mb <= 100, "%s%s", rss,
			     done ? "" : " when stopped");
	}
}

/* A folder of broken certificates: how many warnings C_Initialize and
 * each rescan print (counted on the child's stderr). */
static void broken_certs(const struct bench_opts *o, const char *base)
{
	char dir[1200], conf[2600], err[1300], path[1400];
	struct scale_out r = { 0 };
	struct scale_arg a = { o, conf, err };
	static const char junk[] = "this is not a certificate\n";

	snprintf(dir, sizeof(dir), "%s/broken", base);
	snprintf(conf, sizeof(conf), "dir=%s empty-slots=0", dir);
	snprintf(err, sizeof(err), "%s/broken.stderr", base);
	if (mkdir(dir, 0700) != 0)
		return;
	for (size_t i = 0; i < o->n_broken; i++) {
		snprintf(path, sizeof(path), "%s/broken%05zu.cer", dir, i + 1);
		if (!bench_write_file(path, junk, sizeof(junk) - 1))
			return;
	}
	enum bench_end end = bench_child(scale_child, &a, &r, sizeof(r), o->mem_limit_mb,
					 o->child_timeout, err);
	bool done = end == BENCH_END_OK;
	printf("\nWarnings from a folder of %zu broken .cer files (stderr lines, cumulative)\n\n",
	       o->n_broken);
	printf("  after C_Initialize %6zu\n", r.warn[0]);
	for (int i = 1; i <= 3; i++)
		printf("  after rescan %d     %6zu   (+%zu)\n", i, r.warn[i], r.warn[i] - r.warn[i - 1]);
	if (o->summary)
		fprintf(o->summary, "broken files=%zu done=%d warn_init=%zu warn_rescan3=%zu\n",
			o->n_broken, done, r.warn[0], r.warn[3]);
	/* Each file once per process: whether at C_Initialize or at the
	 * first rescan, the later rescans print nothing. */
	bench_target("broken .cer files: each warned once per process", done,
		     r.warn[3] <= o->n_broken && r.warn[3] == r.warn[1],
		     "%zu lines for %zu files; last rescans +%zu", r.warn[3], o->n_broken,
		     r.warn[3] - r.warn[1]);
}

bool bench_scale(const struct bench_opts *o)
{
	struct gen g = { 0 };   /* gen_free() on every path */
	const char *base = bench_tmpdir();
	char ca[1200], rfc[16], numero[24];
	unsigned char *der = NULL;
	int len = 0;
	bool ok = false;

	if (!base || !gen_init(&g, 1) || !gen_leaf(&g, 0, rfc, numero, &der, &len)) {
		fprintf(stderr, "efirma-bench: cannot generate the CA and a bundle\n");
		goto out;
	}
	snprintf(ca, sizeof(ca), "%s/ca.cer", base);
	{
		unsigned char *cader = NULL;
		int calen = i2d_X509(g.ca, &cader);
		bool w = calen > 0 && bench_write_file(ca, cader, (size_t)calen);
		OPENSSL_free(cader);
		if (!w)
			goto out;
	}
	scale_sizes(o, &g, base, ca, der, len);
	broken_certs(o, base);
	ok = true;
out:
	OPENSSL_free(der);
	gen_free(&g);
	return ok;
}
