/*
 * login_token.c - "efirma-tool login-token": what SAT's e.firma web login
 * computes in the browser, computed with the key in the token.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SAT's form signs co = "guid|RFC|número de certificado" with SHA1withRSA
 * and posts token = base64( base64(co) "#" base64( base64(signature) ) )
 * beside guid and fert (doc/DESIGN.md §7).  Portals that copied the scheme vary
 * the text and the hash, so both are options (--format, --hash) rather
 * than code; the encoding is SAT's always.
 */
#include "certinfo.h"
#include "json.h"
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
	char *text = NULL, *token = NULL, fert[EF_FERT_SIZE];
	struct ef_certinfo ci;
	int rc;

	memset(&ci, 0, sizeof(ci));

	if (o->challenge == NULL) {
		ef_err(_("login-token needs --challenge: the text the portal issued"));
		return EF_EXIT_USAGE;
	}
	if (o->json && !ef_utf8_valid(o->challenge, strlen(o->challenge))) {
		ef_err(_("--json: the challenge is not UTF-8 text"));
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
	if (!o->json) {
		printf("%s\n", token);
	} else {
		/* What SAT's form posts beside the token. */
		if (ef_certinfo_parse(u.tok->cert, u.tok->cert_len, &ci) != EF_CI_OK ||
		    !ef_login_fert(ci.not_after, fert)) {
			ef_err(_("the token's certificate cannot be read"));
			rc = EF_EXIT_ERROR;
			goto out;
		}
		fputs("{\n  \"token\": ", stdout);
		ef_json_str(stdout, token);
		fputs(",\n  \"guid\": ", stdout);
		ef_json_str(stdout, o->challenge);
		fputs(",\n  \"fert\": ", stdout);
		ef_json_str(stdout, fert);
		fputs(",\n  \"rfc\": ", stdout);
		ef_json_str(stdout, u.tok->rfc);
		fputs(",\n  \"numero\": ", stdout);
		ef_json_str(stdout, u.tok->numero);
		fputs("\n}\n", stdout);
	}
	if (fflush(stdout) != 0)
		rc = EF_EXIT_ERROR;
out:
	ef_certinfo_clear(&ci);
	free(text);
	free(sig);
	free(token);
	ef_use_close(&u);
	return rc;
}
