/*
 * test-api-secure-heap.c - the secure-heap switch: with it, C_Initialize
 * sets up OpenSSL's secure heap (unless the host did); without it the
 * module leaves it alone.  (What goes into it depends on the OpenSSL
 * version: 3.0 keeps the provider's copy of an imported key in the
 * ordinary heap, so only temporaries of the login and of each signature
 * use it.)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The secure heap is state of the whole process, and this test process
 * shares libcrypto with the dlopen()ed module: each case runs in a fresh
 * child, which reports what it saw through a pipe.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api/api-util.h"
#include "tap.h"

struct seen {
	CK_RV init_rv, login_rv, sign_rv, logout_rv, final_rv;
	int before, after_init, after_final;   /* CRYPTO_secure_malloc_initialized() */
	size_t used_init, used_login, used_logout;
	int sig_ok;
	int host_blocks;    /* 1 KiB secure blocks the arena gives after C_Finalize */
};

static struct api_bundle b;

/* OpenSSL 3.0's CRYPTO_secure_used crashes before the heap exists. */
static size_t used(void)
{
	return CRYPTO_secure_malloc_initialized() ? CRYPTO_secure_used() : 0;
}
static EVP_PKEY *pub;

static void child(const char *conf, bool host_first, struct seen *w)
{
	static const char msg[] = "co";
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG len = sizeof sig;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot;
	void *blocks[64];

	memset(w, 0, sizeof *w);
	if (host_first)
		CRYPTO_secure_malloc_init(16 * 1024, 16);
	w->before = CRYPTO_secure_malloc_initialized();
	if (!api_load())
		return;
	w->init_rv = api_init(conf);
	w->after_init = CRYPTO_secure_malloc_initialized();
	w->used_init = used();
	if (api_first_token_slot(&slot) == CKR_OK)
		api_open(slot, false, &s);
	w->login_rv = api_login(s, b.pin);
	w->sign_rv = P->C_SignInit(s, &m, api_one(s, CKO_PRIVATE_KEY));
	if (w->sign_rv == CKR_OK)
		w->sign_rv = P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len);
	w->sig_ok = w->sign_rv == CKR_OK &&
		    api_verify_pkcs1(pub, EVP_sha256(), msg, sizeof msg - 1, sig, len);
	w->used_login = used();
	w->logout_rv = P->C_Logout(s);
	w->used_logout = used();
	w->final_rv = api_finalize();
	w->after_final = CRYPTO_secure_malloc_initialized();
	/* The arena's size tells whose it is: the host's 16 KiB gives
	 * fewer than 16 blocks of 1 KiB. */
	for (int i = 0; i < 64; i++)
		blocks[i] = OPENSSL_secure_malloc(1024);
	for (int i = 0; i < 64; i++) {
		if (blocks[i] && CRYPTO_secure_allocated(blocks[i]))
			w->host_blocks++;
		OPENSSL_secure_free(blocks[i]);
	}
}

static bool run(const char *conf, bool host_first, struct seen *w)
{
	int fd[2];
	pid_t pid;
	int st;
	bool got;

	if (pipe(fd) != 0)
		return false;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct seen s;
		close(fd[0]);
		child(conf, host_first, &s);
		_exit(write(fd[1], &s, sizeof s) == (ssize_t)sizeof s ? 0 : 1);
	}
	close(fd[1]);
	got = read(fd[0], w, sizeof *w) == (ssize_t)sizeof *w;
	close(fd[0]);
	waitpid(pid, &st, 0);
	if (!got || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		tap_diag("the child failed (status 0x%x)", st);
	return got && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void works(const struct seen *w, const char *what)
{
	ok(w->init_rv == CKR_OK && w->login_rv == CKR_OK && w->sig_ok &&
	   w->logout_rv == CKR_OK && w->final_rv == CKR_OK,
	   "%s: C_Initialize, C_Login, a signature that verifies, C_Logout, C_Finalize", what);
}

int main(void)
{
	char conf[3000], path[1200];
	const char *dir;
	struct seen w;

	api_setup_env();
	tap_alarm("test-api-secure-heap", 60);
	dir = api_tmpdir();
	if (!ok(dir && api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b) &&
		(pub = api_cert_pubkey(b.cer)) != NULL, "SAT bundle"))
		return tap_done();

	snprintf(conf, sizeof conf, "cert=%s key=%s", b.cer, b.key);
	if (ok(run(conf, false, &w), "without the switch")) {
		works(&w, "without the switch");
		ok(!w.before && !w.after_init && !w.after_final,
		   "... the module sets up no secure heap");
	}

	snprintf(conf, sizeof conf, "cert=%s key=%s secure-heap=1", b.cer, b.key);
	if (ok(run(conf, false, &w), "pReserved secure-heap=1")) {
		works(&w, "secure-heap=1");
		ok(!w.before && w.after_init, "... C_Initialize sets up the secure heap");
		tap_diag("bytes in use: %zu after C_Initialize, %zu logged in, %zu after C_Logout",
			 w.used_init, w.used_login, w.used_logout);
		ok(w.after_final, "... and it stays after C_Finalize (OpenSSL may hold blocks)");
		is_ul((unsigned long)w.host_blocks, 64, "... 64 KiB or more (64 blocks of 1 KiB fit)");
	}

	snprintf(path, sizeof path, "%s/heap.conf", dir);
	snprintf(conf, sizeof conf, "[module]\nsecure-heap = yes\n\n[bundle]\ncert = %s\n"
		 "key = %s\n", b.cer, b.key);
	ok(api_write_file(path, conf, strlen(conf)), "a configuration file with secure-heap = yes");
	snprintf(conf, sizeof conf, "conf=%s", path);
	if (ok(run(conf, false, &w), "[module] secure-heap = yes")) {
		works(&w, "secure-heap = yes in the file");
		ok(!w.before && w.after_init, "... C_Initialize sets up the secure heap");
	}

	snprintf(conf, sizeof conf, "cert=%s key=%s secure-heap=1", b.cer, b.key);
	if (ok(run(conf, true, &w), "a host with its own 16 KiB secure heap")) {
		works(&w, "the host's secure heap");
		ok(w.before && w.after_init && w.after_final, "... stays set up throughout");
		ok(w.host_blocks > 0 && w.host_blocks < 16,
		   "... and is the host's own (%d blocks of 1 KiB fit)", w.host_blocks);
	}
	EVP_PKEY_free(pub);
	return tap_done();
}
