/*
 * cmd_passwd.c - "efirma-tool passwd": a new password for the key, through
 * C_SetPIN (the module rewrites the .key in SAT's format).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "open_token.h"
#include "pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int ef_cmd_passwd(struct ef_opts *o)
{
	struct ef_use u;
	unsigned char *old_pin = NULL, *new_pin = NULL, *again = NULL;
	size_t old_len = 0, new_len = 0, again_len = 0;
	char *prompt = NULL;
	int rc;

	/* C_SetPIN proves the old password itself: no login first. */
	rc = ef_use_open(&u, o, NULL, EF_USE_RW);
	if (rc != EF_EXIT_OK)
		goto out;
	prompt = ef_pin_prompt(u.tok);
	if (prompt == NULL) {
		rc = EF_EXIT_ERROR;
		goto out;
	}
	rc = ef_pin_get(o->pin_file, o->pin_env, prompt, &old_pin, &old_len);
	if (rc != EF_EXIT_OK)
		goto out;
	rc = ef_pin_get(o->new_pin_file, o->new_pin_env, _("New password: "), &new_pin,
			&new_len);
	if (rc != EF_EXIT_OK)
		goto out;
	if (o->new_pin_file == NULL && o->new_pin_env == NULL) {
		rc = ef_pin_get(NULL, NULL, _("New password, again: "), &again, &again_len);
		if (rc != EF_EXIT_OK)
			goto out;
		if (again_len != new_len || CRYPTO_memcmp(again, new_pin, new_len) != 0) {
			ef_err(_("the two new passwords differ; nothing was changed"));
			rc = EF_EXIT_USAGE;
			goto out;
		}
	}
	rc = ef_p11_set_pin(&u.p, u.s, old_pin, old_len, new_pin, new_len);
	if (rc == EF_EXIT_OK)
		printf(_("the password of %s was changed: the .key file now opens with the new one\n"),
		       u.tok->label);
out:
	ef_pin_free(old_pin, old_len);
	ef_pin_free(new_pin, new_len);
	ef_pin_free(again, again_len);
	free(prompt);
	ef_use_close(&u);
	return rc;
}
