/*
 * bench-util.c - timing, statistics, temporary folders, measurements in a
 * child process and PKCS#11 module loading for efirma-bench.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

/* ------------------------------------------------------------- timing */

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool bench_push(struct bench_samples *s, double x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return false;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return true;
}

bool bench_append(struct bench_samples *s, const struct bench_samples *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (!bench_push(s, from->v[i]))
			return false;
	return true;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_pct(struct bench_samples *s, double p)
{
	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	/* Nearest rank: the smallest sample with at least p% at or below. */
	size_t rank = (size_t)((p / 100.0) * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

double bench_median(struct bench_samples *s)
{
	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	if (s->n % 2)
		return s->v[s->n / 2];
	return (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

/* ---------------------------------------------------------------- files */

static char *tmpdirs[16];
static size_t n_tmpdirs;

const char *bench_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;
	if (n_tmpdirs == sizeof(tmpdirs) / sizeof(tmpdirs[0]))
		return NULL;
	if (asprintf(&path, "%s/ef-bench-XXXXXX", base && *base ? base : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(path)) {
		fprintf(stderr, "efirma-bench: mkdtemp: %s\n", strerror(errno));
		free(path);
		return NULL;
	}
	tmpdirs[n_tmpdirs++] = path;
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void bench_cleanup(void)
{
	for (size_t i = 0; i < n_tmpdirs; i++) {
		if (!getenv("EF_BENCH_KEEP"))
			nftw(tmpdirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(tmpdirs[i]);
	}
	n_tmpdirs = 0;
}

unsigned char *bench_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long size;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)size + 1);
	if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		*len = (size_t)size;
out:
	fclose(f);
	return buf;
}

bool bench_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

const char *bench_sat(const struct bench_opts *o, const char *rel)
{
	static char buf[4][1024];
	static unsigned next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/sat/%s", o->data, rel);
	return p;
}

void bench_file_field(const char *path, const char *key, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) != 0)
			continue;
		char *v = strchr(line, key[strlen(key) - 1] == '=' ? '=' : ':');
		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t' || *v == '"')
			v++;
		v[strcspn(v, "\"\n")] = '\0';
		snprintf(out, n, "%s", v);
		break;
	}
	fclose(f);
}

long bench_status_kb(const char *field)
{
	char key[64], v[64] = "";
	snprintf(key, sizeof(key), "%s:", field);
	bench_file_field("/proc/self/status", key, v, sizeof(v));
	return *v ? atol(v) : -1;
}

size_t bench_count_lines(const char *path, const char *needle)
{
	size_t len = 0, n = 0;
	char *text = (char *)bench_read_file(path, &len);
	if (!text)
		return 0;
	text[len] = '\0';
	for (char *line = text, *end; *line; line = end) {
		end = line + strcspn(line, "\n");
		bool nl = *end == '\n';
		*end = '\0';
		n += strstr(line, needle) != NULL;
		end += nl;
	}
	free(text);
	return n;
}

/* -------------------------------------------------------- child runs */

enum bench_end bench_child(bool (*fn)(void *arg, void *out), void *arg, void *out, size_t len,
			   size_t mem_mb, int timeout_s, const char *err_path)
{
	void *shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	enum bench_end end = BENCH_END_FAILED;
	int status;
	pid_t pid;

	if (shared == MAP_FAILED)
		return BENCH_END_FAILED;
	memcpy(shared, out, len);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* The parent's handlers remove the folders: not the child's job. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
#ifndef __SANITIZE_ADDRESS__   /* ASan reserves terabytes of shadow */
		struct rlimit rl = { mem_mb << 20, mem_mb << 20 };
		if (mem_mb && setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
#endif
		if (err_path) {
			int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
				_exit(3);
			close(fd);
		}
		alarm((unsigned)timeout_s);
		_exit(fn(arg, shared) ? 0 : 1);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid) {
		if (WIFEXITED(status))
			end = WEXITSTATUS(status) == 0 ? BENCH_END_OK : BENCH_END_FAILED;
		else if (WIFSIGNALED(status))
			end = WTERMSIG(status) == SIGALRM ? BENCH_END_TIMEOUT : BENCH_END_SIGNAL;
	}
	memcpy(out, shared, len);
	munmap(shared, len);
	return end;
}

/* -------------------------------------------------------------- PKCS#11 */

bool bench_p11_load(const char *path, struct bench_p11 *m)
{
	CK_C_GetFunctionList gfl;
	memset(m, 0, sizeof(*m));
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		fprintf(stderr, "efirma-bench: cannot load %s: %s\n", path, dlerror());
		return false;
	}
	gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (!gfl || gfl(&m->f) != CKR_OK || !m->f) {
		fprintf(stderr, "efirma-bench: no C_GetFunctionList in %s\n", path);
		dlclose(m->dl);
		m->dl = NULL;
		return false;
	}
	return true;
}

void bench_p11_unload(struct bench_p11 *m)
{
	if (m->dl)
		dlclose(m->dl);
	memset(m, 0, sizeof(*m));
}

CK_RV bench_p11_init(const struct bench_p11 *m, const char *reserved)
{
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	a.pReserved = (void *)reserved;
	return m->f->C_Initialize(&a);
}

CK_RV bench_p11_slot(const struct bench_p11 *m, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID list[64];
	CK_ULONG n = 64;
	CK_RV rv = m->f->C_GetSlotList(CK_TRUE, list, &n);
	if (rv != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (m->f->C_GetTokenInfo(list[i], &ti) != CKR_OK)
			continue;
		size_t len = sizeof(ti.label);
		while (len && ti.label[len - 1] == ' ')
			len--;
		if (!label || (strlen(label) == len && memcmp(ti.label, label, len) == 0)) {
			*slot = list[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

CK_RV bench_p11_find(const struct bench_p11 *m, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
		     CK_OBJECT_HANDLE *obj)
{
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_RV rv = m->f->C_FindObjectsInit(s, &t, 1);
	if (rv != CKR_OK)
		return rv;
	rv = m->f->C_FindObjects(s, found, 2, &n);
	CK_RV rv2 = m->f->C_FindObjectsFinal(s);
	if (rv == CKR_OK)
		rv = rv2;
	if (rv == CKR_OK && n != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
	if (rv == CKR_OK)
		*obj = found[0];
	return rv;
}

/* ------------------------------------------------------------- the key */

bool bench_key_load(const struct bench_opts *o, struct bench_key *k)
{
	char dir[1024];
	unsigned char *der = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *x = NULL;
	bool ok = false;

	memset(k, 0, sizeof(*k));
	snprintf(dir, sizeof(dir), "%s/sat/%s", o->data, BENCH_BUNDLE);
	if (snprintf(k->cer, sizeof(k->cer), "%s/CACX7605101P8_fiel.cer", dir) >=
	    (int)sizeof(k->cer) ||
	    snprintf(k->key, sizeof(k->key), "%s/CACX7605101P8_fiel.key", dir) >=
	    (int)sizeof(k->key))
		return false;
	der = bench_read_file(k->cer, &len);
	const unsigned char *p = der;
	if (!der || !(x = d2i_X509(NULL, &p, (long)len))) {
		fprintf(stderr, "efirma-bench: cannot read %s\n", k->cer);
		goto out;
	}
	k->pub = X509_get_pubkey(x);
	free(der);
	der = bench_read_file(k->key, &len);
	/* The SAT .key is a DER EncryptedPrivateKeyInfo (PBES2, PBKDF2-SHA1,
	 * 3DES): OpenSSL's default provider opens it with the password. */
	if (!der || !(bio = BIO_new_mem_buf(der, (int)len)) ||
	    !(k->priv = d2i_PKCS8PrivateKey_bio(bio, NULL, NULL, (void *)BENCH_PIN))) {
		fprintf(stderr, "efirma-bench: cannot decrypt %s\n", k->key);
		goto out;
	}
	ok = k->pub != NULL;
out:
	BIO_free(bio);
	free(der);
	X509_free(x);
	return ok;
}

void bench_key_free(struct bench_key *k)
{
	EVP_PKEY_free(k->priv);
	EVP_PKEY_free(k->pub);
	memset(k, 0, sizeof(*k));
}
