/*
 * open_token.c - load the module, pick the token, log in, find the key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "open_token.h"
#include "certinfo.h"
#include "info.h"
#include "pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

char *ef_pin_prompt(const struct ef_tok *t)
{
	char *s = NULL;
	/* TRANSLATORS: the prompt for the password; %s is the token label */
	if (asprintf(&s, _("Password of %s: "), ef_shown(t->label)) < 0)
		return NULL;
	return s;
}

int ef_use_open(struct ef_use *u, const struct ef_opts *o, const char *reserved,
		unsigned flags)
{
	unsigned char *pin = NULL;
	size_t pin_len = 0;
	char *prompt = NULL;
	int rc;

	memset(u, 0, sizeof(*u));
	u->s = CK_INVALID_HANDLE;
	rc = ef_p11_load(&u->p, ef_module_path(o), reserved);
	if (rc != EF_EXIT_OK)
		return rc;
	rc = ef_p11_tokens(&u->p, &u->toks, &u->n);
	if (rc != EF_EXIT_OK)
		return rc;
	rc = ef_p11_select(u->toks, u->n, o->token, (flags & EF_USE_PREFER_EFIRMA) != 0,
			   &u->tok);
	if (rc != EF_EXIT_OK)
		return rc;
	if (!u->tok->has_cert) {
		ef_err(_("%s shows no certificate"), ef_shown(u->tok->label));
		return EF_EXIT_NOTFOUND;
	}
	if (!(flags & EF_USE_LOGIN)) {
		CK_FLAGS f = CKF_SERIAL_SESSION | ((flags & EF_USE_RW) ? CKF_RW_SESSION : 0);
		if (u->p.f->C_OpenSession(u->tok->slot, f, NULL, NULL, &u->s) != CKR_OK) {
			u->s = CK_INVALID_HANDLE;
			ef_err(_("cannot open a session with %s"), ef_shown(u->tok->label));
			return EF_EXIT_ERROR;
		}
		return EF_EXIT_OK;
	}
	prompt = ef_pin_prompt(u->tok);
	if (prompt == NULL) {
		ef_err(_("out of memory"));
		return EF_EXIT_ERROR;
	}
	rc = ef_pin_get(o->pin_file, o->pin_env, prompt, &pin, &pin_len);
	free(prompt);
	if (rc != EF_EXIT_OK)
		return rc;
	rc = ef_p11_login(&u->p, u->tok, (flags & EF_USE_RW) != 0, pin, pin_len, &u->s);
	ef_pin_free(pin, pin_len);
	if (rc != EF_EXIT_OK)
		return rc;
	return ef_p11_private_key(&u->p, u->s, u->tok, &u->key);
}

void ef_use_close(struct ef_use *u)
{
	if (u->p.f != NULL && u->s != CK_INVALID_HANDLE)
		ef_p11_close(&u->p, u->s);
	ef_p11_toks_free(u->toks, u->n);
	ef_p11_unload(&u->p);
	memset(u, 0, sizeof(*u));
}

/* A warning for a certificate that cannot be relied on: signing still
 * works, but whoever checks the signature will refuse it. */
void ef_warn_validity(const struct ef_tok *t)
{
	struct ef_certinfo ci;
	long days;
	if (ef_certinfo_parse(t->cert, t->cert_len, &ci) != EF_CI_NOMEM && ci.x509) {
		int st = ef_validity_status(ci.not_before, ci.not_after, ef_now(), &days);
		char when[40];
		ef_format_time(ci.not_after, when, sizeof(when));
		if (st == EF_VALID_EXPIRED)
			ef_warn(_("the certificate of %s expired on %s: "
				  "its signatures will be refused"), ef_shown(t->label), when);
		else if (st == EF_VALID_NOT_YET)
			ef_warn(_("the certificate of %s is not valid yet"), ef_shown(t->label));
	}
	ef_certinfo_clear(&ci);
}

/* Signs a random message through the token and verifies it with the
 * certificate: proof, end to end, that this key is that certificate's. */
int ef_prove_key(struct ef_use *u)
{
	unsigned char msg[32], *sig = NULL;
	size_t sig_len = 0;
	const unsigned char *p = u->tok->cert;
	X509 *x = d2i_X509(NULL, &p, (long)u->tok->cert_len);
	int rc = EF_EXIT_ERROR;

	if (x == NULL || RAND_bytes(msg, sizeof(msg)) != 1) {
		ef_err(_("the token's certificate cannot be read"));
		goto out;
	}
	rc = ef_p11_sign(&u->p, u->s, u->key, CKM_SHA256_RSA_PKCS, msg, sizeof(msg), &sig,
			 &sig_len);
	if (rc != EF_EXIT_OK)
		goto out;
	if (!ef_cert_verify(x, EVP_sha256(), msg, sizeof(msg), sig, sig_len)) {
		ef_err(_("the key of %s does not belong to its certificate: "
			 "a test signature does not verify"), ef_shown(u->tok->label));
		rc = EF_EXIT_REFUSED;
	}
out:
	free(sig);
	X509_free(x);
	return rc;
}

