/*
 * object.c - attribute arrays and the rules of C_GetAttributeValue and
 * C_FindObjects over them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "efirma-pkcs11.h"
#include "log.h"

void ef_object_clear(struct ef_object *o)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		free(o->attrs[i].value);
	free(o->attrs);
	memset(o, 0, sizeof(*o));
}

static CK_RV add(struct ef_object *o, CK_ATTRIBUTE_TYPE type, const void *value,
		 CK_ULONG len)
{
	if (o->n_attrs == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 32;
		struct ef_attr *a = realloc(o->attrs, cap * sizeof(*a));
		if (!a)
			return EF_FAIL(CKR_HOST_MEMORY);
		o->attrs = a;
		o->cap = cap;
	}
	struct ef_attr *a = &o->attrs[o->n_attrs];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->len = len;
	if (len) {
		/* Zero-length values keep value NULL: malloc(0) may too. */
		a->value = malloc(len);
		if (!a->value)
			return EF_FAIL(CKR_HOST_MEMORY);
		memcpy(a->value, value, len);
	}
	o->n_attrs++;
	return CKR_OK;
}

static CK_RV add_bool(struct ef_object *o, CK_ATTRIBUTE_TYPE type, bool v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
	return add(o, type, &b, sizeof(b));
}

static CK_RV add_ulong(struct ef_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	return add(o, type, &v, sizeof(v));
}

static CK_RV add_str(struct ef_object *o, CK_ATTRIBUTE_TYPE type, const char *s)
{
	return add(o, type, s, s ? strlen(s) : 0);
}

/* Attributes that are CK_FALSE on every object of a kind. */
static CK_RV add_false(struct ef_object *o, const CK_ATTRIBUTE_TYPE *types, size_t n)
{
	CK_RV rv = CKR_OK;

	for (size_t i = 0; i < n && rv == CKR_OK; i++)
		rv = add_bool(o, types[i], false);
	return rv;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static CK_RV add_sensitive(struct ef_object *o, CK_ATTRIBUTE_TYPE type)
{
	CK_RV rv = add(o, type, NULL, 0);
	if (rv == CKR_OK)
		o->attrs[o->n_attrs - 1].sensitive = true;
	return rv;
}

static CK_RV add_date(struct ef_object *o, CK_ATTRIBUTE_TYPE type, const struct tm *t)
{
	CK_DATE d;
	char buf[16];
	snprintf(buf, sizeof(buf), "%04d%02d%02d", (t->tm_year + 1900) % 10000,
		 (t->tm_mon + 1) % 100, t->tm_mday % 100);
	memcpy(d.year, buf, 4);
	memcpy(d.month, buf + 4, 2);
	memcpy(d.day, buf + 6, 2);
	return add(o, type, &d, sizeof(d));
}

const struct ef_attr *ef_object_attr(const struct ef_object *o, CK_ATTRIBUTE_TYPE type)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		if (o->attrs[i].type == type)
			return &o->attrs[i];
	return NULL;
}

bool ef_object_bool(const struct ef_object *o, CK_ATTRIBUTE_TYPE type)
{
	const struct ef_attr *a = ef_object_attr(o, type);
	return a && a->len == sizeof(CK_BBOOL) && *(CK_BBOOL *)a->value == CK_TRUE;
}

bool ef_object_matches(const struct ef_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++) {
		const struct ef_attr *a = ef_object_attr(o, tmpl[i].type);
		if (!a || a->sensitive || a->len != tmpl[i].ulValueLen)
			return false;
		if (a->len && (!tmpl[i].pValue || memcmp(a->value, tmpl[i].pValue, a->len) != 0))
			return false;
	}
	return true;
}

CK_RV ef_object_get(const struct ef_object *o, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	/* [PKCS#11 3.0 C_GetAttributeValue] Every attribute of the template is
	 * processed; the return value reports the last problem met among
	 * sensitive (CKR_ATTRIBUTE_SENSITIVE), unknown
	 * (CKR_ATTRIBUTE_TYPE_INVALID) and too small (CKR_BUFFER_TOO_SMALL),
	 * each such entry getting CK_UNAVAILABLE_INFORMATION. */
	CK_RV rv = CKR_OK;
	for (CK_ULONG i = 0; i < n; i++) {
		const struct ef_attr *a = ef_object_attr(o, tmpl[i].type);
		if (!a) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = EF_FAIL(CKR_ATTRIBUTE_TYPE_INVALID);
		} else if (a->sensitive) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = EF_FAIL(CKR_ATTRIBUTE_SENSITIVE);
		} else if (!tmpl[i].pValue) {
			tmpl[i].ulValueLen = a->len;
		} else if (tmpl[i].ulValueLen < a->len) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
		} else {
			if (a->len)
				memcpy(tmpl[i].pValue, a->value, a->len);
			tmpl[i].ulValueLen = a->len;
		}
	}
	return rv;
}

CK_ULONG ef_object_size(const struct ef_object *o)
{
	CK_ULONG size = 0;
	for (size_t i = 0; i < o->n_attrs; i++)
		size += sizeof(CK_ATTRIBUTE) + o->attrs[i].len;
	return size;
}

/* Attributes every object of this token shares: read-only token objects. */
static CK_RV add_storage(struct ef_object *o, CK_OBJECT_CLASS klass, bool is_private,
			 const char *label)
{
	static const CK_ATTRIBUTE_TYPE no[] = { CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE };
	CK_RV rv;
	o->klass = klass;
	o->is_private = is_private;
	if ((rv = add_ulong(o, CKA_CLASS, klass)) ||
	    (rv = add_bool(o, CKA_TOKEN, true)) ||
	    (rv = add_bool(o, CKA_PRIVATE, is_private)) ||
	    (rv = add_false(o, no, N_OF(no))))
		return rv;
	if (label)
		rv = add_str(o, CKA_LABEL, label);
	return rv;
}

CK_RV ef_object_build_cert(struct ef_object *o, const struct ef_cert *c, CK_ULONG category,
			   const char *label, const struct ef_cert_source *src)
{
	CK_RV rv;
	bool user = category == 1;
	if ((rv = add_storage(o, CKO_CERTIFICATE, false, label)) ||
	    (rv = add_ulong(o, CKA_CERTIFICATE_TYPE, CKC_X_509)) ||
	    /* WORKAROUND(NSS): a token must never claim trust; NSS keeps
	     * trust in its own objects. */
	    (rv = add_bool(o, CKA_TRUSTED, false)) ||
	    (rv = add_ulong(o, CKA_CERTIFICATE_CATEGORY, category)) ||
	    (rv = add(o, CKA_CHECK_VALUE, c->hash_sha1, 3)) ||
	    (rv = add_date(o, CKA_START_DATE, &c->not_before)) ||
	    (rv = add_date(o, CKA_END_DATE, &c->not_after)) ||
	    (rv = add(o, CKA_PUBLIC_KEY_INFO, c->spki, c->spki_len)) ||
	    (rv = add(o, CKA_SUBJECT, c->subject, c->subject_len)) ||
	    (rv = add(o, CKA_ID, c->key_id, sizeof(c->key_id))) ||
	    (rv = add(o, CKA_ISSUER, c->issuer, c->issuer_len)) ||
	    /* doc/DESIGN.md §3: the DER INTEGER with its tag, as NSS compares it. */
	    (rv = add(o, CKA_SERIAL_NUMBER, c->serial, c->serial_len)) ||
	    (rv = add(o, CKA_VALUE, c->der, c->der_len)) ||
	    (rv = add_str(o, CKA_URL, "")) ||
	    (rv = add(o, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0)) ||
	    (rv = add(o, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0)) ||
	    (rv = add_ulong(o, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0)) ||
	    (rv = add_ulong(o, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1)))
		return rv;
	/* Any token's, SAT's or not: which file to look for, which stick to
	 * keep plugged in. */
	if (src && ((rv = add_ulong(o, CKA_EFIRMA_SOURCE, src->kind)) ||
		    (rv = add_str(o, CKA_EFIRMA_VOLUME, src->volume)) ||
		    (rv = add_str(o, CKA_EFIRMA_CERT_PATH, src->cert_path))))
		return rv;
	if (!user || !c->is_sat)
		return CKR_OK;
	/* The SAT facts, so applications need not parse X.509. */
	const struct ef_sat_facts *f = &c->sat;
	CK_ULONG kind = f->kind == EF_SAT_EFIRMA ? CKV_EFIRMA_KIND_EFIRMA :
			f->kind == EF_SAT_CSD ? CKV_EFIRMA_KIND_CSD : CKV_EFIRMA_KIND_UNKNOWN;
	CK_ULONG persona = f->persona == EF_SAT_MORAL ? CKV_EFIRMA_PERSONA_MORAL :
						       CKV_EFIRMA_PERSONA_FISICA;
	if ((rv = add_str(o, CKA_EFIRMA_RFC, f->rfc)) ||
	    (rv = add_str(o, CKA_EFIRMA_CURP, f->curp)) ||
	    (rv = add_str(o, CKA_EFIRMA_NUMERO, f->numero)) ||
	    (rv = add_ulong(o, CKA_EFIRMA_KIND, kind)) ||
	    (rv = add_ulong(o, CKA_EFIRMA_PERSONA, persona)) ||
	    (rv = add_str(o, CKA_EFIRMA_REP_RFC, f->rep_rfc)) ||
	    (rv = add_str(o, CKA_EFIRMA_REP_CURP, f->rep_curp)) ||
	    (rv = add_str(o, CKA_EFIRMA_HOLDER, f->holder)) ||
	    (rv = add_str(o, CKA_EFIRMA_BRANCH, f->branch)))
		return rv;
	return CKR_OK;
}

/* Attributes of both halves of the key pair. */
static CK_RV add_key_common(struct ef_object *o, const struct ef_cert *c, bool can_encrypt)
{
	CK_RV rv;
	/* OAEP only encrypts: it is allowed where the certificate allows
	 * data encipherment.  It comes last so it can be left out. */
	CK_MECHANISM_TYPE allowed[] = {
		CKM_RSA_PKCS, CKM_RSA_PKCS_PSS,
		CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS,
		CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS,
		CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
		CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP,
	};
	CK_ULONG allowed_len = sizeof(allowed) - (can_encrypt ? 0 : sizeof(allowed[0]));
	if ((rv = add_ulong(o, CKA_KEY_TYPE, CKK_RSA)) ||
	    (rv = add(o, CKA_ID, c->key_id, sizeof(c->key_id))) ||
	    (rv = add(o, CKA_START_DATE, NULL, 0)) ||
	    (rv = add(o, CKA_END_DATE, NULL, 0)) ||
	    (rv = add_bool(o, CKA_DERIVE, false)) ||
	    /* The key was made by SAT's software, not on this token. */
	    (rv = add_bool(o, CKA_LOCAL, false)) ||
	    (rv = add_ulong(o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION)) ||
	    (rv = add(o, CKA_ALLOWED_MECHANISMS, allowed, allowed_len)) ||
	    (rv = add(o, CKA_SUBJECT, c->subject, c->subject_len)) ||
	    (rv = add(o, CKA_PUBLIC_KEY_INFO, c->spki, c->spki_len)) ||
	    (rv = add(o, CKA_MODULUS, c->modulus, c->modulus_len)) ||
	    (rv = add_ulong(o, CKA_MODULUS_BITS, c->modulus_bits)) ||
	    (rv = add(o, CKA_PUBLIC_EXPONENT, c->exponent, c->exponent_len)))
		return rv;
	return CKR_OK;
}

CK_RV ef_object_build_pubkey(struct ef_object *o, const struct ef_cert *c,
			     const char *label, bool can_encrypt)
{
	static const CK_ATTRIBUTE_TYPE no[] = { CKA_VERIFY_RECOVER, CKA_WRAP, CKA_TRUSTED };
	CK_RV rv;
	if ((rv = add_storage(o, CKO_PUBLIC_KEY, false, label)) ||
	    (rv = add_key_common(o, c, can_encrypt)) ||
	    (rv = add_bool(o, CKA_ENCRYPT, can_encrypt)) ||
	    (rv = add_bool(o, CKA_VERIFY, true)))
		return rv;
	return add_false(o, no, N_OF(no));
}

CK_RV ef_object_build_privkey(struct ef_object *o, const struct ef_cert *c,
			      const char *label, bool can_decrypt)
{
	CK_RV rv;
	static const CK_ATTRIBUTE_TYPE no[] = {
		CKA_SIGN_RECOVER, CKA_UNWRAP, CKA_EXTRACTABLE,
		/* The key existed in a file before it reached this token. */
		CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
		CKA_WRAP_WITH_TRUSTED, CKA_ALWAYS_AUTHENTICATE,
	};
	static const CK_ATTRIBUTE_TYPE secret[] = {
		CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
		CKA_EXPONENT_2, CKA_COEFFICIENT,
	};
	if ((rv = add_storage(o, CKO_PRIVATE_KEY, true, label)) ||
	    (rv = add_key_common(o, c, can_decrypt)) ||
	    (rv = add_bool(o, CKA_SENSITIVE, true)) ||
	    (rv = add_bool(o, CKA_DECRYPT, can_decrypt)) ||
	    (rv = add_bool(o, CKA_SIGN, true)) ||
	    (rv = add_false(o, no, N_OF(no))))
		return rv;
	for (size_t i = 0; i < N_OF(secret); i++)
		if ((rv = add_sensitive(o, secret[i])))
			return rv;
	return CKR_OK;
}

CK_RV ef_object_build_profile(struct ef_object *o, CK_ULONG profile_id)
{
	CK_RV rv;
	o->klass = CKO_PROFILE;
	if ((rv = add_ulong(o, CKA_CLASS, CKO_PROFILE)) ||
	    (rv = add_bool(o, CKA_TOKEN, true)) ||
	    (rv = add_bool(o, CKA_PRIVATE, false)) ||
	    (rv = add_bool(o, CKA_MODIFIABLE, false)) ||
	    (rv = add_ulong(o, CKA_PROFILE_ID, profile_id)))
		return rv;
	return CKR_OK;
}
