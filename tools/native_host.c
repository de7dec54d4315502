/*
 * native_host.c - "efirma-tool native-host": the WebExtensions native
 * messaging host of the browser extension (issue 10).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * [WebExtensions native messaging] each message, both ways, is a 32-bit
 * length in native byte order followed by that many bytes of UTF-8 JSON;
 * the browser refuses a reply of 1 MB or more.  The host reaches the key
 * only through the module (PKCS#11), asks the password itself through
 * pinentry, and answers two requests:
 *   {"method":"list"}
 *     -> {"ok":true,"tokens":[{label, type, persona, rfc, curp, holder,
 *        numero, not_before, not_after, expired}]}
 *   {"method":"sat-login","token":T,"guid":G,"origin":O}
 *     -> {"ok":true,"token":SAT's token,"fert":YYMMDDhhmmssZ}
 * and every failure as {"ok":false,"error":CODE,"message":TEXT}.
 */
#include "certinfo.h"
#include "file.h"
#include "json.h"
#include "login_token.h"
#include "native_msg.h"
#include "p11.h"
#include "pin.h"
#include "pinentry.h"
#include "tool.h"
#include "webext-ids.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NH_TRIES 3

static bool read_all(int fd, void *buf, size_t len, bool *eof)
{
	unsigned char *p = buf;
	size_t got = 0;
	*eof = false;
	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*eof = got == 0 && r == 0;
			return false;
		}
		got += (size_t)r;
	}
	return true;
}

/* A reply is built in memory, so its length is known before it is sent
 * and one too big for the browser is replaced by an error. */
struct nh_reply {
	char *buf;
	size_t len;
	FILE *f;
};

static bool reply_open(struct nh_reply *r)
{
	r->buf = NULL;
	r->len = 0;
	r->f = open_memstream(&r->buf, &r->len);
	return r->f != NULL;
}

static void member(struct nh_reply *r, const char *name, const char *value, bool first)
{
	fputs(first ? "" : ",", r->f);
	ef_json_str(r->f, name);
	fputc(':', r->f);
	ef_json_str(r->f, value);
}

static bool send_bytes(int fd, const char *body, size_t len)
{
	uint32_t n = (uint32_t)len;
	return ef_file_write_all(fd, &n, sizeof(n)) && ef_file_write_all(fd, body, len);
}

static bool send_error(int fd, const char *code, const char *message)
{
	static const char nomem[] = "{\"ok\":false,\"error\":\"error\"}";
	struct nh_reply r;
	bool ok;

	if (!reply_open(&r))
		return send_bytes(fd, nomem, sizeof(nomem) - 1);
	fputs("{\"ok\":false,", r.f);
	member(&r, "error", code, true);
	member(&r, "message", message, false);
	fputc('}', r.f);
	ok = fclose(r.f) == 0 && send_bytes(fd, r.buf, r.len);
	free(r.buf);
	return ok;
}

/* Finishes r and sends it; an error reply instead when it cannot be built
 * or is too big for the browser. */
static bool send_reply(int fd, struct nh_reply *r)
{
	bool ok;
	if (fclose(r->f) != 0 || r->buf == NULL)
		ok = send_error(fd, "error", "out of memory");
	else if (r->len > EF_NH_MAX_REPLY)
		ok = send_error(fd, "too-big", "the reply would be too big for the browser");
	else
		ok = send_bytes(fd, r->buf, r->len);
	free(r->buf);
	return ok;
}

static void iso_time(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", t);
}

/* ----------------------------------------------------------------- list */

static bool do_list(int fd, const struct ef_opts *o)
{
	struct ef_p11 p;
	struct ef_tok *toks = NULL;
	size_t n = 0;
	struct nh_reply r;
	bool sent;

	if (ef_p11_load(&p, ef_module_path(o), NULL) != EF_EXIT_OK)
		return send_error(fd, "module", "the efirma-pkcs11 module cannot be loaded");
	if (ef_p11_tokens(&p, &toks, &n) != EF_EXIT_OK) {
		ef_p11_unload(&p);
		return send_error(fd, "module", "the tokens cannot be listed");
	}
	if (!reply_open(&r)) {
		sent = send_error(fd, "error", "out of memory");
		goto out;
	}
	fputs("{\"ok\":true,\"tokens\":[", r.f);
	for (size_t i = 0, shown = 0; i < n; i++) {
		struct ef_tok *t = &toks[i];
		struct ef_certinfo ci;
		char nb[32], na[32];

		if (!t->has_cert || ef_certinfo_parse(t->cert, t->cert_len, &ci) == EF_CI_NOMEM ||
		    ci.x509 == NULL) {
			ef_certinfo_clear(&ci);
			continue;
		}
		iso_time(ci.not_before, nb);
		iso_time(ci.not_after, na);
		fputs(shown++ ? ",{" : "{", r.f);
		member(&r, "label", t->label, true);
		member(&r, "type", t->kind == CKV_EFIRMA_KIND_EFIRMA ? "e.firma" :
				   t->kind == CKV_EFIRMA_KIND_CSD ? "CSD" : "unknown", false);
		member(&r, "persona", t->persona == CKV_EFIRMA_PERSONA_MORAL ? "moral" : "fisica",
		       false);
		member(&r, "rfc", t->rfc, false);
		member(&r, "curp", t->curp, false);
		member(&r, "holder", t->holder ? t->holder : "", false);
		member(&r, "numero", t->numero, false);
		member(&r, "not_before", nb, false);
		member(&r, "not_after", na, false);
		fprintf(r.f, ",\"expired\":%s}", ci.not_after < (long long)time(NULL) ? "true" : "false");
		ef_certinfo_clear(&ci);
	}
	fputs("]}", r.f);
	sent = send_reply(fd, &r);
out:
	ef_p11_toks_free(toks, n);
	ef_p11_unload(&p);
	return sent;
}

/* ------------------------------------------------------------ sat-login */

/* Asks the password (at most NH_TRIES times) and logs in.  NULL on
 * success, else the error code; *msg the message. */
static const char *login_asking(struct ef_p11 *p, const struct ef_tok *t, const char *origin,
				CK_SESSION_HANDLE *s, const char **msg)
{
	struct ef_pinentry pe;
	char *desc = NULL, *error = NULL;
	const char *code = "error";

	*msg = "the password dialog failed";
	switch (ef_pinentry_open(&pe)) {
	case EF_PE_OK:
		break;
	case EF_PE_NONE:
		*msg = "no pinentry program is installed (apt install pinentry-gnome3)";
		return "no-pinentry";
	default:
		return "pinentry";
	}
	/* TRANSLATORS: the password dialog; %1$s the site, %2$s the holder,
	 * %3$s the RFC */
	if (asprintf(&desc, _("%1$s asks you to log in with the e.firma of %2$s (RFC %3$s).\n"
			      "Password of the private key:"),
		     origin, ef_shown(t->holder ? t->holder : ""), ef_shown(t->rfc)) < 0) {
		desc = NULL;
		*msg = "out of memory";
		goto out;
	}
	for (int i = 1; i <= NH_TRIES; i++) {
		unsigned char *pin = NULL;
		size_t pin_len = 0;
		int rc;

		switch (ef_pinentry_ask(&pe, "e.firma", desc, _("Password:"), error, &pin, &pin_len)) {
		case EF_PE_OK:
			break;
		case EF_PE_CANCEL:
			code = "cancelled";
			*msg = "the password dialog was cancelled";
			goto out;
		default:
			code = "pinentry";
			goto out;
		}
		rc = ef_p11_login(p, t, false, pin, pin_len, s);
		ef_pin_free(pin, pin_len);
		if (rc == EF_EXIT_OK) {
			code = NULL;
			goto out;
		}
		if (rc != EF_EXIT_PIN) {
			code = rc == EF_EXIT_REFUSED ? "key" : "login";
			*msg = "the key cannot be used (see the host's messages)";
			goto out;
		}
		free(error);
		/* TRANSLATORS: %d and %d: the try that comes, and how many */
		if (asprintf(&error, _("Wrong password (try %d of %d)"), i + 1, NH_TRIES) < 0)
			error = NULL;
	}
	code = "wrong-password";
	*msg = "wrong password, 3 times";
out:
	free(desc);
	free(error);
	ef_pinentry_close(&pe);
	return code;
}

static bool do_sat_login(int fd, const struct ef_opts *o, const struct ef_nh_request *req)
{
	struct ef_p11 p;
	struct ef_tok *toks = NULL, *t = NULL;
	size_t n = 0, sig_len = 0;
	struct ef_certinfo ci;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key;
	unsigned char *sig = NULL;
	char *co = NULL, *token = NULL, fert[EF_FERT_SIZE];
	const char *code = NULL, *msg = NULL, *bad;
	long long now = (long long)time(NULL);
	struct nh_reply r;
	bool sent;
	int rc;

	memset(&ci, 0, sizeof(ci));
	if (ef_p11_load(&p, ef_module_path(o), NULL) != EF_EXIT_OK)
		return send_error(fd, "module", "the efirma-pkcs11 module cannot be loaded");
	if (ef_p11_tokens(&p, &toks, &n) != EF_EXIT_OK) {
		code = "module";
		msg = "the tokens cannot be listed";
		goto out;
	}
	rc = ef_p11_select(toks, n, req->token, true, &t);
	if (rc != EF_EXIT_OK || !t->has_cert) {
		code = rc == EF_EXIT_USAGE ? "ambiguous-token" : "no-token";
		msg = rc == EF_EXIT_USAGE ? "several tokens match: name one by its número"
					  : "no token matches";
		goto out;
	}
	/* SAT's login takes an e.firma ("Debe usar un certificado de
	 * E.FIRMA"); refused before any password is asked. */
	if (t->kind != CKV_EFIRMA_KIND_EFIRMA) {
		code = t->kind == CKV_EFIRMA_KIND_CSD ? "csd" : "not-efirma";
		msg = t->kind == CKV_EFIRMA_KIND_CSD ? "a CSD cannot log in to SAT: use the e.firma"
						      : "not an e.firma: SAT's login takes an e.firma";
		goto out;
	}
	if (ef_certinfo_parse(t->cert, t->cert_len, &ci) != EF_CI_OK ||
	    !ef_login_fert(ci.not_after, fert)) {
		code = "error";
		msg = "the token's certificate cannot be read";
		goto out;
	}
	if (now > ci.not_after || now < ci.not_before) {
		code = now > ci.not_after ? "expired" : "not-yet-valid";
		msg = now > ci.not_after ? "the certificate has expired" : "the certificate is not valid yet";
		goto out;
	}
	co = ef_login_text(EF_LOGIN_FORMAT, req->guid, t->rfc, t->numero, &bad);
	if (co == NULL) {
		code = "error";
		msg = "out of memory";
		goto out;
	}
	code = login_asking(&p, t, req->origin, &s, &msg);
	if (code != NULL)
		goto out;
	if (ef_p11_private_key(&p, s, t, &key) != EF_EXIT_OK ||
	    ef_p11_sign(&p, s, key, CKM_SHA1_RSA_PKCS, (const unsigned char *)co, strlen(co), &sig,
			&sig_len) != EF_EXIT_OK) {
		code = "sign";
		msg = "the token could not sign";
		goto out;
	}
	token = ef_login_encode(co, sig, sig_len);
	if (token == NULL || !reply_open(&r)) {
		code = "error";
		msg = "out of memory";
		goto out;
	}
	fputs("{\"ok\":true,", r.f);
	member(&r, "token", token, true);
	member(&r, "fert", fert, false);
	fputc('}', r.f);
out:
	sent = code ? send_error(fd, code, msg) : send_reply(fd, &r);
	if (s != CK_INVALID_HANDLE)
		ef_p11_close(&p, s);
	ef_certinfo_clear(&ci);
	free(co);
	free(sig);
	free(token);
	ef_p11_toks_free(toks, n);
	ef_p11_unload(&p);
	return sent;
}

/* ----------------------------------------------------------------- loop */

/* Who started the host, from the arguments the browser passes: Chromium
 * the calling extension's origin ("chrome-extension://ID/", then maybe
 * --parent-window=N), Firefox the host manifest's path and the calling
 * extension's id.  The host manifests allow only our extension, but a
 * manifest can be edited and other extensions installed: anything but
 * ours is refused, every request answered "caller".  No argument: started
 * by hand (or by a test), which the manifest cannot make a browser do. */
static bool caller_allowed(const struct ef_opts *o)
{
	static const char chromium_origin[] = "chrome-extension://" EF_WEBEXT_CHROMIUM_ID "/";

	if (o->argc == 0)
		return true;
	if (strncmp(o->argv[0], "chrome-extension://", 19) == 0)
		return strcmp(o->argv[0], chromium_origin) == 0;
	return o->argc == 2 && strcmp(o->argv[1], EF_WEBEXT_GECKO_ID) == 0;
}

int ef_cmd_native_host(struct ef_opts *o)
{
	char *msg = NULL;
	bool caller_ok;
	int out;

	/* The browser's pipe carries the protocol and nothing else: replies
	 * go to a private copy of it, and whatever else writes to standard
	 * output (a library, a message) lands on standard error. */
	out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	if (out < 0 || dup2(2, 1) < 0) {
		ef_err(_("native-host: standard output is not usable"));
		return EF_EXIT_ERROR;
	}
	/* A closed pipe (the browser went away, a pinentry died) is an
	 * error to report, not a signal that kills. */
	signal(SIGPIPE, SIG_IGN);
	msg = malloc(EF_NH_MAX_REQUEST);
	if (msg == NULL)
		return EF_EXIT_ERROR;
	caller_ok = caller_allowed(o);
	if (!caller_ok)
		ef_err(_("native-host: started for another extension (%s), refusing its requests"),
		       o->argv[o->argc == 2 && strncmp(o->argv[0], "chrome-extension://", 19) != 0]);
	for (;;) {
		struct ef_nh_request req;
		const char *err;
		uint32_t len;
		bool eof, sent;

		if (!read_all(0, &len, sizeof(len), &eof))
			break;   /* the browser closed the port: done */
		if (len > EF_NH_MAX_REQUEST || len == 0) {
			/* Answered, then skipped unread, so that the next
			 * message is found. */
			char sink[4096];
			if (!send_error(out, "bad-message", len ? "the message is too big"
							       : "the message is empty"))
				break;
			for (uint32_t left = len; left > 0;) {
				size_t k = left < sizeof(sink) ? left : sizeof(sink);
				if (!read_all(0, sink, k, &eof))
					goto done;
				left -= (uint32_t)k;
			}
			continue;
		}
		if (!read_all(0, msg, len, &eof)) {
			send_error(out, "bad-message", "the message is shorter than its length");
			break;
		}
		if (!caller_ok) {
			if (!send_error(out, "caller", "this host answers only the efirma-pkcs11 extension"))
				break;
			continue;
		}
		err = ef_nh_parse(msg, len, &req);
		if (err != NULL)
			sent = send_error(out, err, strcmp(err, "bad-message") == 0 ?
							    "the message is not one JSON object" :
						    strcmp(err, "unknown-method") == 0 ?
							    "methods: list, sat-login" :
						    strcmp(err, "bad-guid") == 0 ?
							    "the guid is not base64 of a UUID" :
						    strcmp(err, "bad-origin") == 0 ?
							    "the origin is not https://host[:port]" :
							    "sat-login takes token, guid and origin (strings)");
		else if (req.method == EF_NH_LIST)
			sent = do_list(out, o);
		else
			sent = do_sat_login(out, o, &req);
		ef_nh_request_clear(&req);
		if (!sent)
			break;
	}
done:
	free(msg);
	close(out);
	return EF_EXIT_OK;
}
