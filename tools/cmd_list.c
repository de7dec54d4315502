/*
 * cmd_list.c - "efirma-tool list": every token the module shows, with the
 * SAT facts the module attaches to its certificate (CKA_EFIRMA_*).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "info.h"
#include "p11.h"
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_of(CK_ULONG k)
{
	return k == CKV_EFIRMA_KIND_EFIRMA ? "e.firma" : k == CKV_EFIRMA_KIND_CSD ? "CSD" : "?";
}

/* Which stick to keep plugged in, which file to renew: the module says
 * where it found the bundle (nothing from a module that does not). */
static void print_source(const struct ef_tok *t)
{
	const char *slash = strrchr(t->cert_path, '/');

	switch (t->source) {
	case CKV_EFIRMA_SOURCE_VOLUME:
		/* TRANSLATORS: the volume's name, then the certificate's path */
		printf(_("  from:     removable volume %s (%s)\n"), ef_shown(t->volume),
		       ef_shown(t->cert_path));
		break;
	case CKV_EFIRMA_SOURCE_FOLDER: {
		/* The folder, then the file in it: the folder is what the
		 * user named in the configuration. */
		size_t dir_len = slash == t->cert_path ? 1 : (size_t)(slash - t->cert_path);
		char *dir = slash ? strndup(t->cert_path, dir_len) : NULL;
		/* TRANSLATORS: the folder's path, then the certificate's file name */
		printf(_("  from:     folder %s (%s)\n"), ef_shown(dir ? dir : "."),
		       ef_shown(slash ? slash + 1 : t->cert_path));
		free(dir);
		break;
	}
	case CKV_EFIRMA_SOURCE_BUNDLE:
		/* TRANSLATORS: the certificate's path, as the configuration names it */
		printf(_("  from:     configured bundle %s\n"), ef_shown(t->cert_path));
		break;
	default:
		break;
	}
}

int ef_cmd_list(struct ef_opts *o)
{
	struct ef_p11 p;
	struct ef_tok *toks = NULL;
	size_t n = 0;
	int rc = ef_p11_load(&p, ef_module_path(o), NULL);
	if (rc != EF_EXIT_OK)
		return rc;
	rc = ef_p11_tokens(&p, &toks, &n);
	if (rc != EF_EXIT_OK)
		goto out;
	if (n == 0) {
		ef_err(_("no token is configured: add your e.firma with "
			 "\"efirma-tool add FILE.cer FILE.key\""));
		rc = EF_EXIT_NOTFOUND;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct ef_tok *t = &toks[i];
		struct ef_certinfo ci;

		printf("%s%s\n", i ? "\n" : "", ef_shown(t->label));
		if (!t->has_cert) {
			printf(_("  (the token shows no certificate)\n"));
			continue;
		}
		ef_print_facts(kind_of(t->kind), t->persona == CKV_EFIRMA_PERSONA_MORAL, t->rfc,
			       t->curp, t->rep_rfc, t->rep_curp, t->holder, t->branch, t->numero);
		/* The dates to the second come from the certificate itself
		 * (CKA_END_DATE has only the day). */
		if (ef_certinfo_parse(t->cert, t->cert_len, &ci) != EF_CI_NOMEM && ci.x509)
			ef_print_validity(ci.not_before, ci.not_after);
		ef_certinfo_clear(&ci);
		print_source(t);
	}
out:
	ef_p11_toks_free(toks, n);
	ef_p11_unload(&p);
	return rc;
}
