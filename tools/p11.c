/*
 * p11.c - loading the module and the PKCS#11 calls efirma-tool makes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything that touches the key goes through here: the tool never opens
 * a .key file itself, so what it checks is exactly what every other
 * PKCS#11 client of the module gets.
 */
#include "p11.h"
#include "tool.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(CK_RV rv, const char *call)
{
	/* TRANSLATORS: %s is a PKCS#11 function, then its CKR_ result */
	ef_err(_("the module failed: %s returned %s (0x%lx)"), call, ef_rv_name(rv),
	       (unsigned long)rv);
	return rv == CKR_HOST_MEMORY ? EF_EXIT_ERROR :
	       rv == CKR_TOKEN_NOT_PRESENT ? EF_EXIT_NOTFOUND : EF_EXIT_ERROR;
}

int ef_p11_load(struct ef_p11 *p, const char *path, const char *reserved)
{
	CK_C_GetFunctionList get;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(p, 0, sizeof(*p));
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (p->dl == NULL) {
		ef_err(_("cannot load the module %s: %s"), path, dlerror());
		return EF_EXIT_NOTFOUND;
	}
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL || get(&p->f) != CKR_OK || p->f == NULL) {
		ef_err(_("%s is not a PKCS#11 module"), path);
		ef_p11_unload(p);
		return EF_EXIT_ERROR;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	/* The configuration string of PKCS#11 2.40 section 5.4: the module
	 * reads "cert=... key=..." from here (doc/DESIGN.md §5). */
	args.pReserved = (void *)reserved;
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK) {
		int rc = fail(rv, "C_Initialize");
		ef_p11_unload(p);
		return rc;
	}
	p->initialized = true;
	return EF_EXIT_OK;
}

void ef_p11_unload(struct ef_p11 *p)
{
	if (p->initialized)
		p->f->C_Finalize(NULL);
	if (p->dl)
		dlclose(p->dl);
	memset(p, 0, sizeof(*p));
}

/* One attribute, two calls: length, then value.  *val is malloc'd (with a
 * NUL after the bytes, so strings can be used as such). */
static CK_RV get_attr(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		      CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv = p->f->C_GetAttributeValue(s, o, &a, 1);
	*val = NULL;
	*len = 0;
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > (1u << 24))
		return CKR_ATTRIBUTE_TYPE_INVALID;
	a.pValue = calloc(1, a.ulValueLen + 1);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	rv = p->f->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

static void attr_str(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		     CK_ATTRIBUTE_TYPE type, char *out, size_t size)
{
	unsigned char *v;
	size_t n;
	out[0] = '\0';
	if (get_attr(p, s, o, type, &v, &n) != CKR_OK)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	free(v);
}

static char *attr_dup(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		      CK_ATTRIBUTE_TYPE type)
{
	unsigned char *v;
	size_t n;
	if (get_attr(p, s, o, type, &v, &n) != CKR_OK)
		return strdup("");
	return (char *)v;
}

static CK_ULONG attr_ulong(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
			   CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };
	if (p->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK)
		return 0;
	return v;
}

/* The token's user certificate (category 1) and its facts. */
static CK_RV read_cert(struct ef_p11 *p, CK_SESSION_HANDLE s, struct ef_tok *t)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ULONG cat = 1;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat) },
	};
	CK_OBJECT_HANDLE o;
	CK_ULONG found = 0;
	unsigned char *v;
	size_t n;
	CK_RV rv = p->f->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK)
		return rv;
	rv = p->f->C_FindObjects(s, &o, 1, &found);
	p->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK || found == 0)
		return rv;
	rv = get_attr(p, s, o, CKA_VALUE, &t->cert, &t->cert_len);
	if (rv != CKR_OK)
		return rv;
	if (get_attr(p, s, o, CKA_ID, &v, &n) == CKR_OK) {
		if (n <= sizeof(t->id)) {
			memcpy(t->id, v, n);
			t->id_len = n;
		}
		free(v);
	}
	attr_str(p, s, o, CKA_EFIRMA_RFC, t->rfc, sizeof(t->rfc));
	attr_str(p, s, o, CKA_EFIRMA_CURP, t->curp, sizeof(t->curp));
	attr_str(p, s, o, CKA_EFIRMA_REP_RFC, t->rep_rfc, sizeof(t->rep_rfc));
	attr_str(p, s, o, CKA_EFIRMA_REP_CURP, t->rep_curp, sizeof(t->rep_curp));
	attr_str(p, s, o, CKA_EFIRMA_NUMERO, t->numero, sizeof(t->numero));
	t->holder = attr_dup(p, s, o, CKA_EFIRMA_HOLDER);
	t->branch = attr_dup(p, s, o, CKA_EFIRMA_BRANCH);
	t->kind = attr_ulong(p, s, o, CKA_EFIRMA_KIND);
	t->persona = attr_ulong(p, s, o, CKA_EFIRMA_PERSONA);
	t->source = attr_ulong(p, s, o, CKA_EFIRMA_SOURCE);
	t->volume = attr_dup(p, s, o, CKA_EFIRMA_VOLUME);
	t->cert_path = attr_dup(p, s, o, CKA_EFIRMA_CERT_PATH);
	if (t->holder == NULL || t->branch == NULL || t->volume == NULL || t->cert_path == NULL)
		return CKR_HOST_MEMORY;
	t->has_cert = true;
	return CKR_OK;
}

static void trim_field(char *out, const CK_UTF8CHAR *field, size_t len)
{
	memcpy(out, field, len);
	out[len] = '\0';
	while (len > 0 && out[len - 1] == ' ')
		out[--len] = '\0';
}

int ef_p11_tokens(struct ef_p11 *p, struct ef_tok **toks, size_t *n)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG count = 0;
	struct ef_tok *out = NULL;
	size_t got = 0;
	int rc = EF_EXIT_ERROR;
	CK_RV rv;

	*toks = NULL;
	*n = 0;
	rv = p->f->C_GetSlotList(CK_TRUE, NULL, &count);
	if (rv != CKR_OK)
		return fail(rv, "C_GetSlotList");
	slots = calloc(count ? count : 1, sizeof(*slots));
	out = calloc(count ? count : 1, sizeof(*out));
	if (slots == NULL || out == NULL) {
		ef_err(_("out of memory"));
		goto out;
	}
	rv = p->f->C_GetSlotList(CK_TRUE, slots, &count);
	if (rv != CKR_OK) {
		rc = fail(rv, "C_GetSlotList");
		goto out;
	}
	for (CK_ULONG i = 0; i < count; i++) {
		CK_TOKEN_INFO ti;
		CK_SESSION_HANDLE s;
		struct ef_tok *t = &out[got];

		/* A token removed in between is simply not listed. */
		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		memset(t, 0, sizeof(*t));
		t->slot = slots[i];
		trim_field(t->label, ti.label, sizeof(ti.label));
		if (p->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
			continue;
		rv = read_cert(p, s, t);
		p->f->C_CloseSession(s);
		got++;
		if (rv == CKR_HOST_MEMORY) {
			ef_err(_("out of memory"));
			goto out;
		}
	}
	*toks = out;
	*n = got;
	out = NULL;
	got = 0;
	rc = EF_EXIT_OK;
out:
	ef_p11_toks_free(out, got);
	free(slots);
	return rc;
}

void ef_p11_toks_free(struct ef_tok *toks, size_t n)
{
	if (toks == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(toks[i].holder);
		free(toks[i].branch);
		free(toks[i].volume);
		free(toks[i].cert_path);
		free(toks[i].cert);
	}
	free(toks);
}

static bool names(const struct ef_tok *t, const char *want)
{
	return strcasecmp(t->label, want) == 0 ||
	       (t->rfc[0] && strcasecmp(t->rfc, want) == 0) ||
	       (t->numero[0] && strcmp(t->numero, want) == 0);
}

static void list_candidates(struct ef_tok *toks, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (want == NULL || names(&toks[i], want))
			fprintf(stderr, "    %s  (%s)\n", ef_shown(toks[i].label), ef_shown(toks[i].numero));
}

int ef_p11_select(struct ef_tok *toks, size_t n, const char *want, bool prefer_efirma,
		  struct ef_tok **out)
{
	struct ef_tok *hit = NULL, *efirma = NULL;
	size_t hits = 0, efirmas = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (want != NULL && !names(&toks[i], want))
			continue;
		hits++;
		hit = &toks[i];
		if (toks[i].kind == CKV_EFIRMA_KIND_EFIRMA) {
			efirmas++;
			efirma = &toks[i];
		}
	}
	if (hits == 1) {
		*out = hit;
		return EF_EXIT_OK;
	}
	if (hits > 1 && prefer_efirma && efirmas == 1) {
		*out = efirma;
		return EF_EXIT_OK;
	}
	if (hits == 0) {
		if (want == NULL)
			ef_err(_("no token is configured: add your e.firma with "
				 "\"efirma-tool add FILE.cer FILE.key\""));
		else
			ef_err(_("no token matches \"%s\"; the tokens are:"), want);
		list_candidates(toks, n, NULL);
		return EF_EXIT_NOTFOUND;
	}
	ef_err(_("several tokens match; choose one with --token LABEL or --token NUMERO:"));
	list_candidates(toks, n, want);
	return EF_EXIT_USAGE;
}

int ef_p11_login(struct ef_p11 *p, const struct ef_tok *t, bool rw,
		 const unsigned char *pin, size_t pin_len, CK_SESSION_HANDLE *s)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv = p->f->C_OpenSession(t->slot, flags, NULL, NULL, s);
	if (rv != CKR_OK)
		return fail(rv, "C_OpenSession");
	rv = p->f->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return EF_EXIT_OK;
	p->f->C_CloseSession(*s);
	*s = CK_INVALID_HANDLE;
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		ef_err(_("wrong password for %s"), ef_shown(t->label));
		return EF_EXIT_PIN;
	case CKR_DEVICE_ERROR:
		/* The module's answer when the .key cannot be read or the
		 * key it holds is not the certificate's. */
		ef_err(_("the private key of %s cannot be used: the .key file is unreadable, "
			 "damaged, or belongs to another certificate"), ef_shown(t->label));
		return EF_EXIT_REFUSED;
	default:
		return fail(rv, "C_Login");
	}
}

void ef_p11_close(struct ef_p11 *p, CK_SESSION_HANDLE s)
{
	if (s == CK_INVALID_HANDLE)
		return;
	p->f->C_Logout(s);
	p->f->C_CloseSession(s);
}

int ef_p11_private_key(struct ef_p11 *p, CK_SESSION_HANDLE s, const struct ef_tok *t,
		       CK_OBJECT_HANDLE *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)t->id, t->id_len },
	};
	CK_ULONG found = 0;
	CK_RV rv = p->f->C_FindObjectsInit(s, tmpl, t->id_len ? 2 : 1);
	if (rv != CKR_OK)
		return fail(rv, "C_FindObjectsInit");
	rv = p->f->C_FindObjects(s, key, 1, &found);
	p->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return fail(rv, "C_FindObjects");
	if (found == 0) {
		ef_err(_("%s shows no private key after login"), ef_shown(t->label));
		return EF_EXIT_NOTFOUND;
	}
	return EF_EXIT_OK;
}

/* Finishes a signature: ask the length, then sign into a buffer. */
static CK_RV sign_final(struct ef_p11 *p, CK_SESSION_HANDLE s, bool oneshot,
			const unsigned char *data, size_t len, unsigned char **sig,
			size_t *sig_len)
{
	CK_ULONG n = 0;
	CK_RV rv = oneshot ? p->f->C_Sign(s, (CK_BYTE_PTR)data, (CK_ULONG)len, NULL, &n)
			   : p->f->C_SignFinal(s, NULL, &n);
	if (rv != CKR_OK)
		return rv;
	*sig = malloc(n ? n : 1);
	if (*sig == NULL)
		return CKR_HOST_MEMORY;
	rv = oneshot ? p->f->C_Sign(s, (CK_BYTE_PTR)data, (CK_ULONG)len, *sig, &n)
		     : p->f->C_SignFinal(s, *sig, &n);
	if (rv != CKR_OK) {
		free(*sig);
		*sig = NULL;
		return rv;
	}
	*sig_len = n;
	return CKR_OK;
}

int ef_p11_sign(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		CK_MECHANISM_TYPE mech, const unsigned char *data, size_t len,
		unsigned char **sig, size_t *sig_len)
{
	CK_MECHANISM m = { mech, NULL, 0 };
	CK_RV rv = p->f->C_SignInit(s, &m, key);
	if (rv != CKR_OK)
		return fail(rv, "C_SignInit");
	rv = sign_final(p, s, true, data, len, sig, sig_len);
	if (rv != CKR_OK)
		return fail(rv, "C_Sign");
	return EF_EXIT_OK;
}

int ef_p11_sign_stream(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		       CK_MECHANISM_TYPE mech, FILE *in, const char *name,
		       unsigned char **sig, size_t *sig_len)
{
	CK_MECHANISM m = { mech, NULL, 0 };
	unsigned char buf[65536];
	size_t r;
	CK_RV rv = p->f->C_SignInit(s, &m, key);
	if (rv != CKR_OK)
		return fail(rv, "C_SignInit");
	while ((r = fread(buf, 1, sizeof(buf), in)) > 0) {
		rv = p->f->C_SignUpdate(s, buf, (CK_ULONG)r);
		if (rv != CKR_OK)
			return fail(rv, "C_SignUpdate");
	}
	if (ferror(in)) {
		ef_err(_("cannot read %s"), name);
		/* An operation ends with an error or a result: finish it. */
		unsigned char *junk = NULL;
		size_t jl = 0;
		if (sign_final(p, s, false, NULL, 0, &junk, &jl) == CKR_OK)
			free(junk);
		return EF_EXIT_ERROR;
	}
	rv = sign_final(p, s, false, NULL, 0, sig, sig_len);
	if (rv != CKR_OK)
		return fail(rv, "C_SignFinal");
	return EF_EXIT_OK;
}

int ef_p11_set_pin(struct ef_p11 *p, CK_SESSION_HANDLE s,
		   const unsigned char *old_pin, size_t old_len,
		   const unsigned char *new_pin, size_t new_len)
{
	CK_RV rv = p->f->C_SetPIN(s, (CK_UTF8CHAR_PTR)old_pin, (CK_ULONG)old_len,
				  (CK_UTF8CHAR_PTR)new_pin, (CK_ULONG)new_len);
	switch (rv) {
	case CKR_OK:
		return EF_EXIT_OK;
	case CKR_PIN_INCORRECT:
		ef_err(_("wrong password"));
		return EF_EXIT_PIN;
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_INVALID:
		ef_err(_("the new password must have 8 to 256 characters"));
		return EF_EXIT_PIN;
	case CKR_DEVICE_ERROR:
		ef_err(_("the .key file could not be rewritten (is its folder writable?); "
			 "the old file is kept"));
		return EF_EXIT_ERROR;
	default:
		return fail(rv, "C_SetPIN");
	}
}
