/*
 * info.c - "efirma-tool info FILE.cer": a certificate's facts, offline,
 * as text or JSON; and the validity warning "list" shares.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "info.h"
#include "json.h"
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#define EF_CERT_MAX (1024 * 1024)

long long ef_now(void)
{
	return (long long)time(NULL);
}

int ef_validity_status(long long not_before, long long not_after, long long now, long *days)
{
	if (now < not_before) {
		*days = (long)((not_before - now + 86399) / 86400);
		return EF_VALID_NOT_YET;
	}
	if (now > not_after) {
		*days = (long)((now - not_after) / 86400);
		return EF_VALID_EXPIRED;
	}
	*days = (long)((not_after - now) / 86400);
	return *days < 30 ? EF_VALID_SOON : EF_VALID_OK;
}

void ef_print_validity(long long not_before, long long not_after)
{
	char from[40], to[40];
	long days;
	ef_format_time(not_before, from, sizeof(from));
	ef_format_time(not_after, to, sizeof(to));
	/* TRANSLATORS: validity period, "FROM to TO" */
	printf(_("  valid:    %s to %s\n"), from, to);
	switch (ef_validity_status(not_before, not_after, ef_now(), &days)) {
	case EF_VALID_NOT_YET:
		printf(_("  WARNING:  not valid yet: it starts on %s\n"), from);
		break;
	case EF_VALID_EXPIRED:
		printf(_("  WARNING:  EXPIRED on %s: it can no longer be used; renew it with SAT\n"), to);
		break;
	case EF_VALID_SOON:
		printf(ngettext("  WARNING:  expires in %ld day, on %s: renew it with SAT now\n",
				"  WARNING:  expires in %ld days, on %s: renew it with SAT now\n",
				(unsigned long)days),
		       days, to);
		break;
	default:
		printf(ngettext("  status:   valid, %ld day left\n",
				"  status:   valid, %ld days left\n", (unsigned long)days),
		       days);
		break;
	}
}

const char *ef_persona_name(bool moral)
{
	return moral ? _("persona moral") : _("persona física");
}

void ef_print_facts(const char *kind, bool moral, const char *rfc, const char *curp,
		    const char *rep_rfc, const char *rep_curp, const char *holder,
		    const char *branch, const char *numero)
{
	/* Every value comes from a certificate (or a token showing one):
	 * shown, never sent raw to the terminal. */
	printf(_("  type:     %s, %s\n"), kind, ef_persona_name(moral));
	printf(_("  RFC:      %s\n"), ef_shown(rfc));
	if (curp[0])
		printf(_("  CURP:     %s\n"), ef_shown(curp));
	printf(_("  holder:   %s\n"), ef_shown(holder));
	if (rep_rfc[0] || rep_curp[0])
		printf(_("  legal representative: RFC %s, CURP %s\n"),
		       rep_rfc[0] ? ef_shown(rep_rfc) : "-", rep_curp[0] ? ef_shown(rep_curp) : "-");
	if (branch[0])
		printf(_("  branch:   %s\n"), ef_shown(branch));
	printf(_("  número:   %s\n"), ef_shown(numero));
}

static void json_str(const char *key, const char *v, bool last)
{
	printf("  \"%s\": ", key);
	ef_json_str(stdout, v);
	printf("%s\n", last ? "" : ",");
}

static void iso_time(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", t);
}

static void print_json(const char *path, const struct ef_certinfo *ci)
{
	char nb[32], na[32];
	long days;
	int st = ef_validity_status(ci->not_before, ci->not_after, ef_now(), &days);
	iso_time(ci->not_before, nb, sizeof(nb));
	iso_time(ci->not_after, na, sizeof(na));
	printf("{\n");
	json_str("file", path, false);
	json_str("type", ci->sat.kind == EF_SAT_EFIRMA ? "efirma" :
			 ci->sat.kind == EF_SAT_CSD ? "csd" : "unknown", false);
	json_str("persona", ci->sat.persona == EF_SAT_MORAL ? "moral" : "fisica", false);
	json_str("rfc", ci->sat.rfc, false);
	json_str("curp", ci->sat.curp, false);
	json_str("representative_rfc", ci->sat.rep_rfc, false);
	json_str("representative_curp", ci->sat.rep_curp, false);
	json_str("holder", ci->sat.holder, false);
	json_str("branch", ci->sat.branch, false);
	json_str("numero", ci->sat.numero, false);
	json_str("not_before", nb, false);
	json_str("not_after", na, false);
	json_str("status", st == EF_VALID_EXPIRED ? "expired" :
			   st == EF_VALID_NOT_YET ? "not_yet_valid" :
			   st == EF_VALID_SOON ? "expires_soon" : "valid", false);
	printf("  \"days\": %ld,\n", days);
	printf("  \"key_bits\": %u,\n", ci->key_bits);
	json_str("subject", ci->subject, false);
	json_str("issuer", ci->issuer, false);
	json_str("issuer_cn", ci->issuer_cn, false);
	json_str("sha256", ci->sha256, false);
	json_str("sha1", ci->sha1, true);
	printf("}\n");
}

/* A .key given where a .cer belongs is the likeliest mix-up. */
bool ef_looks_like_key(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (sig != NULL) {
		X509_SIG_free(sig);
		return true;
	}
	return memmem(data, len, "PRIVATE KEY-----", 16) != NULL;
}

int ef_load_cert_file(const char *path, struct ef_certinfo *ci)
{
	unsigned char *data;
	size_t len;
	int rc = ef_read_file(path, EF_CERT_MAX, &data, &len);
	if (rc != EF_EXIT_OK) {
		memset(ci, 0, sizeof(*ci));
		return rc;
	}
	switch (ef_certinfo_parse(data, len, ci)) {
	case EF_CI_OK:
		rc = EF_EXIT_OK;
		break;
	case EF_CI_NOT_CERT:
		if (ef_looks_like_key(data, len))
			ef_err(_("%s is a private key (.key), not a certificate (.cer)"), path);
		else
			ef_err(_("%s is not a certificate: SAT's .cer files are X.509 "
				 "certificates (DER or PEM)"), path);
		rc = EF_EXIT_REFUSED;
		break;
	case EF_CI_NOT_SAT:
		ef_err(_("%s is a certificate, but not one issued by SAT: it carries no RFC"),
		       path);
		rc = EF_EXIT_REFUSED;
		break;
	default:
		ef_err(_("out of memory"));
		rc = EF_EXIT_ERROR;
		break;
	}
	free(data);
	return rc;
}

int ef_cmd_info(struct ef_opts *o)
{
	struct ef_certinfo ci;
	const char *path = o->argv[0];
	int rc = ef_load_cert_file(path, &ci);
	if (rc != EF_EXIT_OK)
		goto out;
	if (o->json) {
		print_json(path, &ci);
		goto out;
	}
	printf("%s\n", ef_shown(path));
	ef_print_facts(ef_kind_name(ci.sat.kind), ci.sat.persona == EF_SAT_MORAL, ci.sat.rfc,
		       ci.sat.curp, ci.sat.rep_rfc, ci.sat.rep_curp, ci.sat.holder,
		       ci.sat.branch, ci.sat.numero);
	ef_print_validity(ci.not_before, ci.not_after);
	printf(_("  issuer:   %s\n"), ef_shown(ci.issuer_cn[0] ? ci.issuer_cn : ci.issuer));
	printf(_("  subject:  %s\n"), ef_shown(ci.subject));
	printf(_("  key:      RSA %u bits\n"), ci.key_bits);
	printf("  SHA-256:  %s\n", ci.sha256);
	printf("  SHA-1:    %s\n", ci.sha1);
out:
	ef_certinfo_clear(&ci);
	return rc;
}
