/*
 * test-secrets.c - after C_Logout and C_Finalize the decrypted key and the
 * password are gone from the process's memory.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A child process (this program again, exec'd with --child, so it holds
 * nothing of the parent's) loads the module and obeys one-letter commands
 * on its stdin: initialize, log in, sign, log out, finalize.  The password
 * - random, made for this run, the SAT key re-encrypted under it - reaches
 * the child through the pipe into a stack buffer the child wipes after
 * C_Login, so any copy left is the module's (or OpenSSL's on its behalf).
 *
 * Between commands the parent reads every readable mapping of the child
 * through /proc/PID/mem and looks for the private exponent d and the prime
 * p (taken from the key with OpenSSL here, in the parent), as big-endian
 * bytes (DER) and as little-endian words (BIGNUM limbs), in 32-byte
 * windows, and for the password.  While logged in d must be found - that
 * proves the scan sees the key - and after C_Logout / C_Finalize nothing
 * may be; nor once the stick the bundle is on is pulled out, even if the
 * program makes no call.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "api/api-util.h"
#include "tap.h"

/* This program, to run again as the child (argv[0], not /proc/self/exe:
 * under valgrind that is valgrind). */
static const char *self_path;

/* ------------------------------------------------------------ the child */

static void reply(CK_RV rv)
{
	char line[32];
	int n = snprintf(line, sizeof line, "%lu\n", (unsigned long)rv);
	(void)!write(1, line, (size_t)n);
}

/* The bundle cer + key, or (cer NULL) the first bundle found on the
 * removable volumes under the folder key. */
static int child(const char *cer, const char *key)
{
	char conf[3000];
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot;
	unsigned char cmd;

	if (!api_load())
		return 2;
	if (cer)
		snprintf(conf, sizeof conf, "cert=%s key=%s", cer, key);
	else
		snprintf(conf, sizeof conf, "removable-root=%s", key);
	while (read(0, &cmd, 1) == 1) {
		CK_RV rv = CKR_OK;
		switch (cmd) {
		case 'I':
			rv = api_init(conf);
			if (rv == CKR_OK)
				rv = api_first_token_slot(&slot);
			if (rv == CKR_OK)
				rv = api_open(slot, false, &s);
			break;
		case 'L': {
			unsigned char pin[64], len = 0;
			if (read(0, &len, 1) != 1 || len > sizeof pin ||
			    read(0, pin, len) != (ssize_t)len) {
				rv = CKR_GENERAL_ERROR;
				break;
			}
			rv = P->C_Login(s, CKU_USER, pin, len);
			explicit_bzero(pin, sizeof pin);
			break;
		}
		case 'S': {
			static const unsigned char msg[] = "documento";
			CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
			unsigned char sig[512];
			CK_ULONG len = sizeof sig;
			rv = P->C_SignInit(s, &m, api_one(s, CKO_PRIVATE_KEY));
			if (rv == CKR_OK)
				rv = P->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &len);
			break;
		}
		case 'O':
			rv = P->C_Logout(s);
			break;
		case 'F':
			rv = P->C_Finalize(NULL);
			break;
		default:
			return 0;
		}
		reply(rv);
	}
	return 0;
}

/* ----------------------------------------------------------- the parent */

struct needle {
	const char *name;
	unsigned char bytes[32];
	size_t len;
};
static struct needle needles[16];
static size_t n_needles;

static void add_bn(const char *name_be, const char *name_le, const BIGNUM *bn)
{
	unsigned char be[1024];
	int n = BN_bn2bin(bn, be);
	if (n < 96)
		return;
	/* Three windows of the big-endian form and of its byte reversal
	 * (the little-endian limbs of a BIGNUM on x86-64). */
	size_t offs[3] = { 8, (size_t)n / 2, (size_t)n - 40 };
	for (int i = 0; i < 3; i++) {
		struct needle *be_n = &needles[n_needles++], *le_n = &needles[n_needles++];
		be_n->name = name_be;
		be_n->len = le_n->len = 32;
		memcpy(be_n->bytes, be + offs[i], 32);
		le_n->name = name_le;
		for (size_t j = 0; j < 32; j++)
			le_n->bytes[j] = be[(size_t)n - 1 - offs[i] - j];
	}
	OPENSSL_cleanse(be, sizeof be);
}

/* Scans the child's readable mappings; returns a bit per needle found. */
static unsigned scan(pid_t pid, char *where, size_t where_size)
{
	char path[64], line[512];
	unsigned found = 0;
	where[0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY);
	if (!maps || mem < 0) {
		if (maps)
			fclose(maps);
		if (mem >= 0)
			close(mem);
		return ~0u;
	}
	while (fgets(line, sizeof line, maps)) {
		unsigned long lo, hi;
		char perms[8], name[300] = "";
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %299[^\n]", &lo, &hi, perms, name) < 3)
			continue;
		if (perms[0] != 'r' || strstr(name, "[vvar]") || strstr(name, "[vsyscall]"))
			continue;
		/* Chunks overlapping by a needle's length; the huge reserved
		 * shadow mappings of an ASan build are skipped (they hold no
		 * heap data, and reading terabytes of zeros takes hours). */
		if (hi - lo > (1ul << 32))
			continue;
		enum { CHUNK = 1 << 20, OVERLAP = 32 };
		static unsigned char buf[CHUNK + OVERLAP];
		for (unsigned long at = lo; at < hi; at += CHUNK) {
			size_t want = hi - at > CHUNK + OVERLAP ? CHUNK + OVERLAP : hi - at;
			ssize_t got = pread(mem, buf, want, (off_t)at);
			for (size_t i = 0; got > 0 && i < n_needles; i++) {
				if (!api_memmem(buf, (size_t)got, needles[i].bytes, needles[i].len))
					continue;
				if (!(found & (1u << i)))
					snprintf(where + strlen(where), where_size - strlen(where),
						 " %s in %s;", needles[i].name, *name ? name : "[anon]");
				found |= 1u << i;
			}
		}
		OPENSSL_cleanse(buf, sizeof buf);
	}
	fclose(maps);
	close(mem);
	return found;
}

static unsigned mask_of(const char *name)
{
	unsigned m = 0;
	for (size_t i = 0; i < n_needles; i++)
		if (strncmp(needles[i].name, name, strlen(name)) == 0)
			m |= 1u << i;
	return m;
}

static int to_child = -1, from_child = -1;

static CK_RV command(char c, const char *pw)
{
	char line[32];
	size_t n = 0;
	if (write(to_child, &c, 1) != 1)
		return CKR_GENERAL_ERROR;
	if (pw) {
		unsigned char len = (unsigned char)strlen(pw);
		if (write(to_child, &len, 1) != 1 || write(to_child, pw, len) != len)
			return CKR_GENERAL_ERROR;
	}
	while (n < sizeof line - 1 && read(from_child, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	return n ? strtoul(line, NULL, 10) : CKR_GENERAL_ERROR;
}

/* The private exponent and a prime of the key in keyfile (opened with
 * OpenSSL here, in the parent) and the password become the needles. */
static bool set_needles(const char *keyfile, const char *pass, const char *pw)
{
	EVP_PKEY *pk = api_load_key(keyfile, pass, strlen(pass));
	BIGNUM *d = NULL, *p = NULL;
	bool got = pk && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &d) == 1 &&
		   EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &p) == 1;

	OPENSSL_cleanse(needles, sizeof needles);
	n_needles = 0;
	if (got) {
		add_bn("d", "d(LE)", d);
		add_bn("p", "p(LE)", p);
		needles[n_needles].name = "password";
		memcpy(needles[n_needles].bytes, pw, 16);
		needles[n_needles++].len = 16;
	}
	BN_clear_free(d);
	BN_clear_free(p);
	EVP_PKEY_free(pk);
	return got;
}

/* This program again as the child (mode, then one or two arguments),
 * commanded through to_child and answering through from_child. */
static pid_t spawn_child(const char *mode, const char *arg1, const char *arg2)
{
	int in[2], out[2];
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execl(self_path, self_path, mode, arg1, arg2, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_child = in[1];
	from_child = out[0];
	return pid;
}

/* One child with the bundle cer + key, logged in with pw, scanned after
 * each step. */
static void run_child(const char *what, const char *cer, const char *key, const char *pw)
{
	unsigned key_mask = mask_of("d") | mask_of("p"), pw_mask = mask_of("password");
	pid_t pid = spawn_child("--child", cer, key);
	if (pid < 0)
		return;
	char where[2048];
	unsigned f;

	tap_diag("---- %s", what);
	is_ul(command('I', NULL), CKR_OK, "child: C_Initialize + C_OpenSession");
	f = scan(pid, where, sizeof where);
	ok(f != ~0u, "the child's memory can be read through /proc/PID/mem");
	is_ul(f & (key_mask | pw_mask), 0, "before login: no key, no password in memory%s", where);

	/* Without a signature in between, which would reuse what the
	 * login freed. */
	is_ul(command('L', pw), CKR_OK, "child: C_Login with the random password");
	is_ul(command('O', NULL), CKR_OK, "child: C_Logout");
	f = scan(pid, where, sizeof where);
	is_ul(f & key_mask, 0, "after C_Login + C_Logout: neither d nor p in memory%s", where);
	is_ul(f & pw_mask, 0, "after C_Login + C_Logout: no password in memory");

	is_ul(command('L', pw), CKR_OK, "child: C_Login again");
	is_ul(command('S', NULL), CKR_OK, "child: C_Sign");
	f = scan(pid, where, sizeof where);
	ok(f & mask_of("d"), "while logged in the scan finds d (the scan works):%s", where);
	is_ul(f & pw_mask, 0, "while logged in the password is nowhere in memory");

	is_ul(command('O', NULL), CKR_OK, "child: C_Logout");
	f = scan(pid, where, sizeof where);
	is_ul(f & key_mask, 0, "after C_Logout: neither d nor p in memory%s", where);
	is_ul(f & pw_mask, 0, "after C_Logout: no password in memory");

	is_ul(command('L', pw), CKR_OK, "child: C_Login a third time");
	is_ul(command('S', NULL), CKR_OK, "child: C_Sign");
	is_ul(command('F', NULL), CKR_OK, "child: C_Finalize while logged in");
	f = scan(pid, where, sizeof where);
	is_ul(f & key_mask, 0, "after C_Finalize: neither d nor p in memory%s", where);
	is_ul(f & pw_mask, 0, "after C_Finalize: no password in memory");

	command('Q', NULL);
	close(to_child);
	close(from_child);
	int st;
	waitpid(pid, &st, 0);
}

/* A stick pulled out while logged in: the module's own thread logs the
 * token out, and the key is gone from memory before the program makes
 * any other call. */
static void run_child_unplugged(const char *cer, const char *key, const char *pw)
{
	unsigned key_mask = mask_of("d") | mask_of("p");
	char root[1100], vol[1200], where[2048];
	snprintf(root, sizeof root, "%s/media", api_tmpdir());
	snprintf(vol, sizeof vol, "%s/USB", root);
	if (!ok(api_sh("mkdir -p '%s/SAT' && cp '%s' '%s' '%s/SAT/'", vol, cer, key, vol) == 0,
		"the bundle on a stick"))
		return;
	pid_t pid = spawn_child("--child-removable", root, NULL);
	if (pid < 0)
		return;
	is_ul(command('I', NULL), CKR_OK, "child: C_Initialize (threads allowed) + C_OpenSession");
	is_ul(command('L', pw), CKR_OK, "child: C_Login");
	is_ul(command('S', NULL), CKR_OK, "child: C_Sign");
	unsigned f = scan(pid, where, sizeof where);
	ok(f & mask_of("d"), "logged in: the scan finds d:%s", where);
	ok(api_sh("rm -rf '%s'", vol) == 0, "the stick is pulled out; the child makes no call");
	/* The module's thread, not a call, must do it: look until it has,
	 * for at most 2 seconds. */
	const char *scale = getenv("EF_TEST_TIME_SCALE");
	double limit = 2.0 * (scale && atoi(scale) > 0 ? atoi(scale) : 1);
	double t0 = tap_now();
	while ((f = scan(pid, where, sizeof where)) & key_mask && tap_now() - t0 < limit)
		usleep(20000);
	is_ul(f & key_mask, 0, "without any call: neither d nor p in memory%s", where);
	tap_diag("key gone %.0f ms after the removal", (tap_now() - t0) * 1000);
	is_ul(command('S', NULL), CKR_SESSION_HANDLE_INVALID,
	      "child: the session is gone (CKR_SESSION_HANDLE_INVALID)");
	is_ul(command('F', NULL), CKR_OK, "child: C_Finalize");
	command('Q', NULL);
	close(to_child);
	close(from_child);
	int st;
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	self_path = argv[0];
	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "--child-removable") == 0)
		return child(NULL, argv[2]);
	api_setup_env();
	tap_alarm("test-secrets", 300);

	struct api_bundle b, u;
	const char *dir = api_tmpdir();
	char pw[20], pwfile[1100], key[1100], plain[1100];
	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b) &&
		api_sat_bundle("fiel-pm-AAA010101AAA-2017-expired", &u) && dir, "SAT bundles"))
		return tap_done();
	/* A password that exists nowhere but here and in the pipe. */
	unsigned char r[16];
	api_random(r, sizeof r);
	for (int i = 0; i < 16; i++)
		pw[i] = "abcdefghjkmnpqrstuvwxyz23456789"[r[i] % 31];
	pw[16] = '\0';
	snprintf(pwfile, sizeof pwfile, "%s/pw", dir);
	snprintf(key, sizeof key, "%s/secret.key", dir);
	api_write_file(pwfile, pw, 16);
	ok(api_sh("openssl pkcs8 -inform DER -in '%s' -passin pass:%s | openssl pkcs8 -topk8 "
		  "-outform DER -v2 des3 -v2prf hmacWithSHA1 -iter 2048 -passout 'file:%s' "
		  "-out '%s' 2>/dev/null", b.key, b.pin, pwfile, key) == 0,
	   "SAT key re-encrypted under a random password");
	unlink(pwfile);
	if (ok(set_needles(b.key, b.pin, pw), "private exponent and prime read with OpenSSL")) {
		TAP_PART(run_child("encrypted key", b.cer, key, pw));
		TAP_PART(run_child_unplugged(b.cer, key, pw));
	}

	/* An unencrypted key, named by a bundle: the file the module reads
	 * is the key itself (DER: d and p as they are in memory). */
	snprintf(plain, sizeof plain, "%s/plain.key", dir);
	ok(api_sh("openssl pkcs8 -topk8 -nocrypt -in '%s/%s/AAA010101AAA_fiel.unencrypted-pkcs8.key.pem' "
		  "-outform DER -out '%s' 2>/dev/null", api_sat_dir(), u.name, plain) == 0,
	   "unencrypted PKCS#8 DER key");
	if (ok(set_needles(u.key, u.pin, pw), "its private exponent and prime"))
		TAP_PART(run_child("unencrypted key", u.cer, plain, pw));

	OPENSSL_cleanse(pw, sizeof pw);
	OPENSSL_cleanse(needles, sizeof needles);
	return tap_done();
}
