/*
 * login_token.c - "efirma-tool login-token": what SAT's e.firma web login
 * computes in the browser, computed with the key in the token.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SAT's form signs the text "challenge|RFC|número de certificado" with
 * SHA1withRSA and posts base64(base64(text) "#" base64(signature)).
 * Portals that copied the scheme vary the text and the hash, so both are
 * options (--format, --hash) rather than code.
 */
#include "login_token.h"
#include "open_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ef_cmd_login_token(struct ef_opts *o)
{
	const char *format = o->format ? o->format : EF_LOGIN_FORMAT;
	const char *bad;
	CK_MECHANISM_TYPE mech;
	struct ef_use u;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *text = NULL, *token = NULL;
	int rc;

	if (o->challenge == NULL) {
		ef_err(_("login-token needs --challenge: the text the portal issued"));
		return EF_EXIT_USAGE;
	}
	if (o->hash == NULL || strcmp(o->hash, "sha1") == 0) {
		mech = CKM_SHA1_RSA_PKCS;
	} else if (strcmp(o->hash, "sha256") == 0) {
		mech = CKM_SHA256_RSA_PKCS;
	} else {
		ef_err(_("--hash takes sha1 or sha256"));
		return EF_EXIT_USAGE;
	}
	text = ef_login_text(format, "", "", "", &bad);
	if (text == NULL && bad != NULL) {
		ef_err(_("--format: unknown placeholder \"%.2s\"; use %%c, %%r, %%n or %%%%"), bad);
		return EF_EXIT_USAGE;
	}
	free(text);
	text = NULL;

	rc = ef_use_open(&u, o, NULL, EF_USE_LOGIN | EF_USE_PREFER_EFIRMA);
	if (rc != EF_EXIT_OK)
		goto out;
	if (u.tok->kind != CKV_EFIRMA_KIND_EFIRMA)
		ef_warn(_("%s is not an e.firma: SAT's login takes an e.firma, not a CSD"),
			u.tok->label);
	ef_warn_validity(u.tok);
	text = ef_login_text(format, o->challenge, u.tok->rfc, u.tok->numero, &bad);
	if (text == NULL) {
		ef_err(_("out of memory"));
		rc = EF_EXIT_ERROR;
		goto out;
	}
	rc = ef_p11_sign(&u.p, u.s, u.key, mech, (const unsigned char *)text, strlen(text),
			 &sig, &sig_len);
	if (rc != EF_EXIT_OK)
		goto out;
	token = ef_login_encode(text, sig, sig_len);
	if (token == NULL) {
		ef_err(_("out of memory"));
		rc = EF_EXIT_ERROR;
		goto out;
	}
	printf("%s\n", token);
	if (fflush(stdout) != 0)
		rc = EF_EXIT_ERROR;
out:
	free(text);
	free(sig);
	free(token);
	ef_use_close(&u);
	return rc;
}
