/*
 * portal_verify.c - efirma-portal-verify: the portal's side of the e.firma
 * login, as a reference for integrators and a partner for the tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   efirma-portal-verify challenge [--state FILE]
 *   efirma-portal-verify verify --cert FILE.cer --ca FILE|DIR
 *       (--state FILE | --challenge TEXT) [--token TOKEN]
 *
 * The portal issues a random challenge; the person's browser (or
 * "efirma-tool login-token") answers exactly as SAT's login form does,
 * base64( base64(text) "#" base64( base64(signature) ) ) with text =
 * "challenge|RFC|número", and sends the certificate beside it.  Everything is checked: the
 * challenge is the one issued (once, and recently), the signature is the
 * certificate's, the text names that certificate, the certificate chains
 * to a CA the portal trusts, it is within its validity, and it is an
 * e.firma.  Each refusal has its own exit code.
 *
 * Everything in the token and the certificate is the sender's to choose
 * until it is verified: the signed text is never printed (it could read
 * "accepted: SOMEONE ELSE" on a line of its own), nothing from the
 * certificate is printed before its chain to a trusted CA is, and what is
 * printed has its control characters escaped (ef_shown).
 */
#include "certinfo.h"
#include "login_token.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

enum {
	PV_OK = 0,
	PV_USAGE = 1,         /* bad command line, unreadable certificate or CA */
	PV_MALFORMED = 2,     /* not base64(base64(text)#base64(base64(sig))) */
	PV_CHALLENGE = 3,     /* not the challenge issued, used already, or too old */
	PV_SIGNATURE = 4,     /* the signature is not the certificate's */
	PV_MISMATCH = 5,      /* the signed text names another RFC or número */
	PV_UNTRUSTED = 6,     /* no chain to a trusted CA */
	PV_EXPIRED = 7,       /* outside its validity (or a CA's) */
	PV_NOT_EFIRMA = 8,    /* a CSD, or not a SAT certificate */
	PV_ERROR = 9,
};

#define PV_TOKEN_MAX 65536
#define PV_MAX_AGE 300

static void usage(FILE *f)
{
	fputs("Usage:\n"
	      "  efirma-portal-verify challenge [--state FILE]\n"
	      "  efirma-portal-verify verify --cert FILE.cer --ca FILE|DIR [--ca ...]\n"
	      "      (--state FILE | --challenge TEXT) [--token TOKEN]\n"
	      "      [--format TEMPLATE] [--hash auto|sha1|sha256] [--max-age SECONDS]\n"
	      "      [--at UNIX-TIME]\n"
	      "\n"
	      "challenge: prints a new random challenge; with --state, remembers it (and\n"
	      "when it was issued) in FILE for one verify.\n"
	      "verify: reads the login token (--token, else one line of standard input),\n"
	      "SAT's base64(base64(text) \"#\" base64(base64(signature))), and answers\n"
	      "\"accepted\" with the RFC and name, or \"refused: REASON\".\n"
	      "\n"
	      "Exit status: 0 accepted, 1 usage or unreadable files, 2 malformed token,\n"
	      "3 wrong, reused or expired challenge, 4 bad signature, 5 the token names\n"
	      "another certificate, 6 not issued by a trusted CA, 7 certificate expired\n"
	      "or not yet valid, 8 not an e.firma (a CSD or not SAT's), 9 other error.\n",
	      f);
}

static int refuse(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(int code, const char *fmt, ...)
{
	va_list ap;
	printf("refused: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return code;
}

/* ------------------------------------------------------------ challenge */

static int cmd_challenge(const char *state)
{
	unsigned char r[18];
	char *c, *line = NULL;
	int fd, rc = PV_ERROR;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return PV_ERROR;
	c = ef_base64(r, sizeof(r));
	if (c == NULL)
		return PV_ERROR;
	/* base64url: the challenge travels in URLs and form fields. */
	for (char *p = c; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	if (state != NULL) {
		if (asprintf(&line, "%s\n%lld\n", c, (long long)time(NULL)) < 0) {
			line = NULL;
			goto out;
		}
		unlink(state);
		fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
		    close(fd) != 0) {
			ef_err("cannot write %s: %s", state, strerror(errno));
			rc = PV_USAGE;
			goto out;
		}
	}
	printf("%s\n", c);
	rc = PV_OK;
out:
	free(c);
	free(line);
	return rc;
}

/* Takes the issued challenge out of the state file: a challenge answers
 * one login only, so a captured token cannot be replayed.  Taking it is
 * one rename(2): of two verifications of the same token running at once,
 * exactly one finds the file there to move (reading it and unlinking it
 * afterwards would let both read it first). */
static int take_state(const char *state, long max_age, long long now, char **challenge)
{
	unsigned char *data = NULL;
	size_t len;
	long long issued;
	char *nl, *taken = NULL;
	int rc;

	*challenge = NULL;
	if (asprintf(&taken, "%s.taken-%ld", state, (long)getpid()) < 0)
		return PV_ERROR;
	if (rename(state, taken) != 0) {
		int err = errno;

		free(taken);
		if (err == ENOENT)
			return refuse(PV_CHALLENGE, "no challenge was issued (or it was used already)");
		ef_err("cannot take the challenge from %s: %s", state, strerror(err));
		return PV_ERROR;
	}
	rc = ef_read_file(taken, 4096, &data, &len);
	unlink(taken);
	free(taken);
	if (rc != EF_EXIT_OK)
		return PV_ERROR;
	nl = realloc(data, len + 1);
	if (nl == NULL) {
		free(data);
		return PV_ERROR;
	}
	data = (unsigned char *)nl;
	data[len] = '\0';
	nl = strchr((char *)data, '\n');
	if (nl == NULL || sscanf(nl + 1, "%lld", &issued) != 1) {
		free(data);
		return refuse(PV_CHALLENGE, "the challenge state is damaged");
	}
	*nl = '\0';
	if (now - issued > max_age || now < issued) {
		free(data);
		return refuse(PV_CHALLENGE, "the challenge expired (issued %lld s ago, limit %ld s)",
			      now - issued, max_age);
	}
	*challenge = (char *)data;
	return PV_OK;
}

/* ----------------------------------------------------------------- CAs */

static bool add_certs_from(X509_STORE *store, const char *path, size_t *count)
{
	unsigned char *data;
	size_t len;
	BIO *b;
	X509 *x;
	const unsigned char *p;

	if (ef_read_file(path, 1024 * 1024, &data, &len) != EF_EXIT_OK)
		return false;
	p = data;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL) {
		X509_STORE_add_cert(store, x);
		X509_free(x);
		(*count)++;
	} else if ((b = BIO_new_mem_buf(data, (int)len)) != NULL) {
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			X509_STORE_add_cert(store, x);
			X509_free(x);
			(*count)++;
		}
		BIO_free(b);
	}
	ERR_clear_error();
	free(data);
	return true;
}

static bool load_ca(X509_STORE *store, const char *path, size_t *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st) != 0) {
		ef_err("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode))
		return add_certs_from(store, path, count);
	d = opendir(path);
	if (d == NULL) {
		ef_err("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	while ((e = readdir(d)) != NULL) {
		char *f = NULL;
		if (e->d_name[0] == '.' || asprintf(&f, "%s/%s", path, e->d_name) < 0)
			continue;
		if (stat(f, &st) == 0 && S_ISREG(st.st_mode))
			add_certs_from(store, f, count);
		free(f);
	}
	closedir(d);
	return true;
}

/* What went wrong while building and checking the chain: the first chain
 * error, and separately the validity errors, so "expired" can be told
 * from "untrusted". */
struct pv_chain {
	int chain_err, chain_depth;
	int time_err, time_depth;
};

static int chain_cb(int ok, X509_STORE_CTX *ctx)
{
	struct pv_chain *c = X509_STORE_CTX_get_app_data(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	if (ok)
		return ok;
	if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID) {
		/* the leaf's own dates matter most */
		if (c->time_err == 0 || depth < c->time_depth) {
			c->time_err = err;
			c->time_depth = depth;
		}
	} else if (c->chain_err == 0) {
		c->chain_err = err;
		c->chain_depth = depth;
	}
	return 1;   /* go on: collect everything, decide afterwards */
}

static int check_chain(X509 *leaf, X509_STORE *store, long long at, const char *rfc)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	struct pv_chain c = { 0, 0, 0, 0 };
	char when[40];
	int rc = PV_ERROR;

	if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, NULL))
		goto out;
	X509_STORE_CTX_set_app_data(ctx, &c);
	X509_STORE_CTX_set_verify_cb(ctx, chain_cb);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
	if (X509_verify_cert(ctx) < 0 && c.chain_err == 0)
		c.chain_err = X509_STORE_CTX_get_error(ctx);
	if (c.chain_err != 0) {
		/* Nothing the certificate says can be repeated: not trusted. */
		rc = refuse(PV_UNTRUSTED, "the certificate sent is not issued by a trusted CA: %s",
			    X509_verify_cert_error_string(c.chain_err));
		goto out;
	}
	if (c.time_err != 0 && c.time_depth == 0) {
		long long t = 0;
		struct tm tm;
		const ASN1_TIME *at1 = c.time_err == X509_V_ERR_CERT_HAS_EXPIRED ?
					       X509_get0_notAfter(leaf) : X509_get0_notBefore(leaf);
		if (ASN1_TIME_to_tm(at1, &tm))
			t = (long long)timegm(&tm);
		ef_format_time(t, when, sizeof(when));
		rc = refuse(PV_EXPIRED, c.time_err == X509_V_ERR_CERT_HAS_EXPIRED ?
						"the certificate of %s expired on %s" :
						"the certificate of %s is not valid until %s",
			    ef_shown(rfc), when);
		goto out;
	}
	if (c.time_err != 0) {
		rc = refuse(PV_EXPIRED, "the certificate of %s chains to a CA certificate that %s",
			    ef_shown(rfc), c.time_err == X509_V_ERR_CERT_HAS_EXPIRED ? "has expired"
									 : "is not valid yet");
		goto out;
	}
	rc = PV_OK;
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* --------------------------------------------------------------- verify */

struct pv_opts {
	const char *cert, *state, *challenge, *token, *format, *hash;
	const char *ca[16];
	size_t n_ca;
	long max_age;
	long long at;
	bool have_at;
};

static char *read_token_line(void)
{
	char *line = malloc(PV_TOKEN_MAX + 1);
	size_t n;
	if (line == NULL)
		return NULL;
	if (fgets(line, PV_TOKEN_MAX + 1, stdin) == NULL) {
		free(line);
		return NULL;
	}
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int cmd_verify(const struct pv_opts *o)
{
	struct ef_certinfo ci;
	X509_STORE *store = NULL;
	unsigned char *cert_data = NULL, *sig = NULL;
	size_t cert_len = 0, text_len = 0, sig_size, n_ca = 0;
	char *token = NULL, *challenge = NULL, *expected = NULL, *text = NULL;
	const char *bad, *hash_used = NULL;
	long long valid_at = o->have_at ? o->at : (long long)time(NULL);
	int rc = PV_USAGE;

	memset(&ci, 0, sizeof(ci));
	/* The portal's own setup first: its CAs and the certificate sent. */
	store = X509_STORE_new();
	if (store == NULL)
		goto out;
	for (size_t i = 0; i < o->n_ca; i++)
		if (!load_ca(store, o->ca[i], &n_ca))
			goto out;
	if (n_ca == 0) {
		ef_err("no CA certificate found in the --ca paths");
		goto out;
	}
	if (ef_read_file(o->cert, 1024 * 1024, &cert_data, &cert_len) != EF_EXIT_OK)
		goto out;
	switch (ef_certinfo_parse(cert_data, cert_len, &ci)) {
	case EF_CI_OK:
	case EF_CI_NOT_SAT:   /* refused below, after the signature */
		break;
	case EF_CI_NOT_CERT:
		rc = refuse(PV_MALFORMED, "%s is not a certificate", o->cert);
		goto out;
	default:
		rc = PV_ERROR;
		goto out;
	}
	/* Every signature by this key is as long as its modulus. */
	sig_size = (size_t)EVP_PKEY_get_size(X509_get0_pubkey(ci.x509));

	if (o->state != NULL) {
		/* The challenge's age is real time whatever --at says: --at
		 * moves only the certificate's validity check (the manual),
		 * so a test can pin SAT's certificates to a date they were
		 * valid and still use a challenge issued now. */
		rc = take_state(o->state, o->max_age, (long long)time(NULL), &challenge);
		if (rc != PV_OK)
			goto out;
	} else {
		challenge = strdup(o->challenge);
	}
	token = o->token ? strdup(o->token) : read_token_line();
	if (challenge == NULL || token == NULL) {
		rc = token == NULL ? refuse(PV_MALFORMED, "no login token received") : PV_ERROR;
		goto out;
	}

	/* SAT's form: base64( base64(text) "#" base64( base64(signature) ) ) */
	switch (ef_login_decode(token, strlen(token), sig_size, &text, &text_len, &sig)) {
	case EF_LOGIN_OK:
		break;
	case EF_LOGIN_NOT_BASE64:
		rc = refuse(PV_MALFORMED, "the login token is not base64");
		goto out;
	case EF_LOGIN_NOT_TWO_PARTS:
		rc = refuse(PV_MALFORMED, "the login token is not two base64 parts joined by '#'");
		goto out;
	case EF_LOGIN_BAD_TEXT:
		rc = refuse(PV_MALFORMED, "the signed text of the login token is not base64, "
					  "or is empty");
		goto out;
	case EF_LOGIN_BAD_SIG:
		rc = refuse(PV_MALFORMED, "the signature of the login token is not "
					  "base64(base64(signature)) of %zu bytes", sig_size);
		goto out;
	default:
		rc = PV_ERROR;
		goto out;
	}

	/* The chain first: until the certificate is known to be a trusted
	 * CA's, nothing it says (RFC, número, name) may be printed; then the
	 * signature, until which nothing in the text can be believed. */
	rc = check_chain(ci.x509, store, valid_at, ci.sat.rfc[0] ? ci.sat.rfc : "the holder");
	if (rc != PV_OK)
		goto out;

	if ((o->hash == NULL || strcmp(o->hash, "auto") == 0 || strcmp(o->hash, "sha1") == 0) &&
	    ef_cert_verify(ci.x509, EVP_sha1(), (unsigned char *)text, text_len, sig, sig_size))
		hash_used = "SHA1withRSA";
	else if ((o->hash == NULL || strcmp(o->hash, "auto") == 0 ||
		  strcmp(o->hash, "sha256") == 0) &&
		 ef_cert_verify(ci.x509, EVP_sha256(), (unsigned char *)text, text_len, sig,
				   sig_size))
		hash_used = "SHA256withRSA";
	if (hash_used == NULL) {
		rc = refuse(PV_SIGNATURE, "the signature does not verify with the certificate "
					  "sent (número %s)", ef_shown(ci.sat.numero));
		goto out;
	}

	expected = ef_login_text(o->format ? o->format : EF_LOGIN_FORMAT, challenge, ci.sat.rfc,
				 ci.sat.numero, &bad);
	if (expected == NULL) {
		rc = bad ? refuse(PV_USAGE, "--format: unknown placeholder") : PV_ERROR;
		goto out;
	}
	/* The signed text is the sender's words, signed or not: it is
	 * compared, never printed. */
	if (strcmp(expected, text) != 0) {
		if (strstr(text, challenge) == NULL)
			rc = refuse(PV_CHALLENGE, "the token answers another challenge");
		else
			rc = refuse(PV_MISMATCH, "the signed text does not name this certificate "
						 "(expected \"%s\")", ef_shown(expected));
		goto out;
	}

	if (ci.sat.rfc[0] == '\0') {
		rc = refuse(PV_NOT_EFIRMA, "not a SAT certificate: it carries no RFC");
		goto out;
	}
	if (ci.sat.kind != EF_SAT_EFIRMA) {
		rc = refuse(PV_NOT_EFIRMA, "%s is a %s, not an e.firma: log in with your e.firma",
			    ef_shown(ci.sat.rfc), ci.sat.kind == EF_SAT_CSD ?
						 "CSD (certificado de sello digital)" :
						 "certificate of unknown kind");
		goto out;
	}

	printf("accepted: %s (RFC %s)\n", ef_shown(ci.sat.holder), ef_shown(ci.sat.rfc));
	printf("rfc: %s\n", ef_shown(ci.sat.rfc));
	printf("name: %s\n", ef_shown(ci.sat.holder));
	printf("curp: %s\n", ef_shown(ci.sat.curp));
	printf("persona: %s\n", ci.sat.persona == EF_SAT_MORAL ? "moral" : "fisica");
	if (ci.sat.rep_rfc[0])
		printf("representative_rfc: %s\n", ef_shown(ci.sat.rep_rfc));
	if (ci.sat.rep_curp[0])
		printf("representative_curp: %s\n", ef_shown(ci.sat.rep_curp));
	printf("numero: %s\n", ef_shown(ci.sat.numero));
	printf("signature: %s\n", hash_used);
	rc = PV_OK;
out:
	ef_certinfo_clear(&ci);
	X509_STORE_free(store);
	free(cert_data);
	free(text);
	free(sig);
	free(token);
	free(challenge);
	free(expected);
	return rc;
}

enum { O_CERT = 256, O_CA, O_STATE, O_CHALLENGE, O_TOKEN, O_FORMAT, O_HASH, O_MAX_AGE, O_AT };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, O_CERT },
		{ "ca", required_argument, NULL, O_CA },
		{ "state", required_argument, NULL, O_STATE },
		{ "challenge", required_argument, NULL, O_CHALLENGE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "hash", required_argument, NULL, O_HASH },
		{ "max-age", required_argument, NULL, O_MAX_AGE },
		{ "at", required_argument, NULL, O_AT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pv_opts o;
	char *end;
	int c;

	memset(&o, 0, sizeof(o));
	o.max_age = PV_MAX_AGE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_CERT: o.cert = optarg; break;
		case O_CA:
			if (o.n_ca == sizeof(o.ca) / sizeof(o.ca[0])) {
				ef_err("too many --ca");
				return PV_USAGE;
			}
			o.ca[o.n_ca++] = optarg;
			break;
		case O_STATE: o.state = optarg; break;
		case O_CHALLENGE: o.challenge = optarg; break;
		case O_TOKEN: o.token = optarg; break;
		case O_FORMAT: o.format = optarg; break;
		case O_HASH: o.hash = optarg; break;
		case O_MAX_AGE:
			o.max_age = strtol(optarg, &end, 10);
			if (*end || o.max_age <= 0) {
				ef_err("--max-age takes a number of seconds");
				return PV_USAGE;
			}
			break;
		case O_AT:
			o.at = strtoll(optarg, &end, 10);
			if (*end) {
				ef_err("--at takes a time in seconds since 1970 (date +%%s)");
				return PV_USAGE;
			}
			o.have_at = true;
			break;
		case 'h':
			usage(stdout);
			return PV_OK;
		default:
			usage(stderr);
			return PV_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return PV_USAGE;
	}
	if (strcmp(argv[optind], "challenge") == 0 && optind + 1 == argc)
		return cmd_challenge(o.state);
	if (strcmp(argv[optind], "verify") != 0 || optind + 1 != argc) {
		usage(stderr);
		return PV_USAGE;
	}
	if (o.cert == NULL || o.n_ca == 0 || (o.state == NULL) == (o.challenge == NULL) ||
	    (o.hash && strcmp(o.hash, "auto") && strcmp(o.hash, "sha1") &&
	     strcmp(o.hash, "sha256"))) {
		ef_err("verify needs --cert, --ca, and one of --state or --challenge; "
		       "--hash takes auto, sha1 or sha256");
		return PV_USAGE;
	}
	return cmd_verify(&o);
}
