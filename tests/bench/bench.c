/*
 * bench.c - efirma-bench: how the module compares with OpenSSL alone and
 * with SoftHSM2 on the same RSA-2048 SAT test key, what a cold start costs
 * next to the password KDF, how discovery grows with the number of
 * bundles in a folder, and (issue 9) whether calls on one token wait for
 * another token's password work and what 10,000 unpaired bundles cost.  "make bench" runs it; "make check" runs it once
 * with --smoke (tests/bench/test-bench-smoke.sh), which checks that it
 * works and asserts nothing about speed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   efirma-bench [--smoke] [--module SO] [--data DIR] [--softhsm SO]
 *                [--rounds N] [--slice SECONDS] [--cold N] [--disc-reps N]
 *                [--summary FILE] [--only sign,cold,disc,wait,scale]
 *                [--cap-iter N] [--logins N] [--scale N,N,N] [--broken N]
 *                [--mem-limit MB] [--timeout SECONDS]
 *
 * EF_TEST_MODULE and EF_TEST_DATA (set by make) give the defaults.
 */
#include "bench.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ------------------------------------------------------------- targets */

static char *verdicts[32];
static size_t n_verdicts;
static int n_miss;

void bench_target(const char *name, bool measured, bool pass, const char *fmt, ...)
{
	char detail[256], *line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	const char *verdict = !measured ? "n/a " : pass ? "PASS" : "MISS";
	if (measured && !pass)
		n_miss++;
	if (n_verdicts < sizeof(verdicts) / sizeof(verdicts[0]) &&
	    asprintf(&line, "  %s  %-52s %s", verdict, name, measured ? detail : "not measured") >= 0)
		verdicts[n_verdicts++] = line;
}

/* ------------------------------------------------------------- machine */

static void loadavg(char *out, size_t n)
{
	FILE *f = fopen("/proc/loadavg", "r");
	snprintf(out, n, "?");
	if (f) {
		if (fgets(out, (int)n, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

static void machine(FILE *to)
{
	char cpu[256] = "?", mem[64] = "?", os[256] = "?", load[128];
	struct utsname u;
	bench_file_field("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	bench_file_field("/proc/meminfo", "MemTotal", mem, sizeof(mem));
	bench_file_field("/etc/os-release", "PRETTY_NAME=", os, sizeof(os));
	loadavg(load, sizeof(load));
	uname(&u);
	fprintf(to, "machine: %s, %ld CPUs online, %s memory\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
		mem);
	fprintf(to, "system:  %s, Linux %s; %s; load average at start: %s\n", os, u.release,
		OpenSSL_version(OPENSSL_VERSION), load);
}

/* --------------------------------------------------------------- main */

static void on_signal(int sig)
{
	bench_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: efirma-bench [--smoke] [--module SO] [--data DIR] [--softhsm SO]\n"
		"                    [--rounds N] [--slice SECONDS] [--cold N] [--disc-reps N]\n"
		"                    [--summary FILE] [--only sign,cold,disc,wait,scale]\n"
		"                    [--cap-iter N] [--logins N] [--scale N,N,N] [--broken N]\n"
		"                    [--mem-limit MB] [--timeout SECONDS]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "smoke", no_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "data", required_argument, NULL, 'd' },
		{ "softhsm", required_argument, NULL, 'H' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "slice", required_argument, NULL, 't' },
		{ "cold", required_argument, NULL, 'c' },
		{ "disc-reps", required_argument, NULL, 'D' },
		{ "summary", required_argument, NULL, 'S' },
		{ "only", required_argument, NULL, 'o' },
		{ "cap-iter", required_argument, NULL, 'I' },
		{ "logins", required_argument, NULL, 'L' },
		{ "scale", required_argument, NULL, 'N' },
		{ "broken", required_argument, NULL, 'B' },
		{ "mem-limit", required_argument, NULL, 'M' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = {
		.module = getenv("EF_TEST_MODULE"),
		.data = getenv("EF_TEST_DATA"),
		.rounds = 10,
		.slice = 0.25,
		.cold = 200,
		.disc_reps = 7,
		.disc_sizes = { 1, 100, 1000 },
		/* The module's cap on PBKDF2 iterations (module/pbes2.c). */
		.cap_iter = 10000000,
		.wait_logins = 2,
		.wait_idle = 1.0,
		.scale_sizes = { 1000, 3000, 10000 },
		.n_broken = 1000,
		/* Unfixed code took 5.6 GB and 38 s for 10,000 unpaired
		 * bundles: stopped well before, on a shared machine. */
		.mem_limit_mb = 2048,
		.child_timeout = 60,
	};
	struct bench_key key;
	const char *summary = NULL, *only = NULL;
	int c, rc = 1;
	bool smoke = false, set_rounds = false, set_slice = false, set_cold = false,
	     set_reps = false, set_cap = false, set_scale = false, set_broken = false;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': smoke = true; break;
		case 'm': o.module = optarg; break;
		case 'd': o.data = optarg; break;
		case 'H': o.softhsm = optarg; break;
		case 'r': o.rounds = atoi(optarg); set_rounds = true; break;
		case 't': o.slice = atof(optarg); set_slice = true; break;
		case 'c': o.cold = atoi(optarg); set_cold = true; break;
		case 'D': o.disc_reps = atoi(optarg); set_reps = true; break;
		case 'S': summary = optarg; break;
		case 'o': only = optarg; break;
		case 'I': o.cap_iter = strtoul(optarg, NULL, 10); set_cap = true; break;
		case 'L': o.wait_logins = atoi(optarg); break;
		case 'N':
			set_scale = sscanf(optarg, "%zu,%zu,%zu", &o.scale_sizes[0],
					   &o.scale_sizes[1], &o.scale_sizes[2]) == 3;
			if (!set_scale)
				o.scale_sizes[0] = 0;
			break;
		case 'B': o.n_broken = strtoul(optarg, NULL, 10); set_broken = true; break;
		case 'M': o.mem_limit_mb = strtoul(optarg, NULL, 10); break;
		case 'T': o.child_timeout = atoi(optarg); break;
		default: usage(); return c == 'h' ? 0 : 2;
		}
	}
	if (smoke) {
		o.smoke = true;
		o.rounds = set_rounds ? o.rounds : 1;
		o.slice = set_slice ? o.slice : 0.02;
		o.cold = set_cold ? o.cold : 3;
		o.disc_reps = set_reps ? o.disc_reps : 1;
		o.disc_sizes[1] = 5;
		o.disc_sizes[2] = 20;
		o.cap_iter = set_cap ? o.cap_iter : 20000;
		o.wait_idle = 0.05;
		if (!set_scale) {
			o.scale_sizes[0] = 10;
			o.scale_sizes[1] = 20;
			o.scale_sizes[2] = 40;
		}
		o.n_broken = set_broken ? o.n_broken : 10;
	}
	if (!o.module || !o.data || o.rounds < 1 || o.slice <= 0 || o.cold < 1 ||
	    o.disc_reps < 1 || o.cap_iter < 1 || o.cap_iter > 0x7fffffffUL ||
	    o.wait_logins < 1 || o.wait_logins > 8 || o.scale_sizes[0] < 1 ||
	    o.child_timeout < 1) {
		fprintf(stderr, "efirma-bench: give --module and --data (or run \"make bench\")\n");
		usage();
		return 2;
	}
	/* Nobody's own configuration: the module gets everything through
	 * pReserved, SoftHSM through its own SOFTHSM2_CONF. */
	unsetenv("EFIRMA_PKCS11_CONF");
	unsetenv("EFIRMA_PKCS11_DEBUG");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (summary && !(o.summary = fopen(summary, "w"))) {
		perror(summary);
		return 2;
	}

	printf("efirma-bench%s: RSA-2048 SAT test key %s\n", smoke ? " --smoke" : "", BENCH_BUNDLE);
	machine(stdout);
	printf("module:  %s\n", o.module);
	if (!bench_key_load(&o, &key))
		goto out;
	printf("signing: %d rounds x %.2f s per cell (4 operations x 1-2 threads x 3 backends)\n",
	       o.rounds, o.slice);

	/* --only sign,cold,disc,wait,scale: one part alone, e.g. under a
	 * profiler. */
	if ((!only || strstr(only, "sign")) && !bench_sign(&o, &key))
		goto out;
	if ((!only || strstr(only, "cold")) && !bench_cold(&o, &key))
		goto out;
	if ((!only || strstr(only, "disc")) && !bench_discovery(&o))
		goto out;
	if ((!only || strstr(only, "wait")) && !bench_wait(&o, &key))
		goto out;
	if ((!only || strstr(only, "scale")) && !bench_scale(&o))
		goto out;

	char load[128];
	loadavg(load, sizeof(load));
	printf("\nSoftHSM2 %s; load average at the end: %s\n",
	       *bench_softhsm_version ? bench_softhsm_version : "(not measured)", load);
	printf("\nTargets (reported, never asserted):\n");
	for (size_t i = 0; i < n_verdicts; i++)
		printf("%s\n", verdicts[i]);
	if (o.summary) {
		fprintf(o.summary, "softhsm version=%s\n",
			*bench_softhsm_version ? bench_softhsm_version : "-");
		fprintf(o.summary, "targets miss=%d total=%zu\n", n_miss, n_verdicts);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "efirma-bench: stopped by the failure above\n");
	bench_key_free(&key);
	for (size_t i = 0; i < n_verdicts; i++)
		free(verdicts[i]);
	if (o.summary)
		fclose(o.summary);
	bench_cleanup();
	return rc;
}
