/*
 * object.h - token objects as attribute arrays, built once from the
 * certificate, and the PKCS#11 rules for reading and matching them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_OBJECT_H
#define EF_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include "efirma-pkcs11.h"
#include "crypto.h"

struct ef_attr {
	CK_ATTRIBUTE_TYPE type;
	void *value;
	CK_ULONG len;
	bool sensitive;   /* exists, but its value can never be read */
};

struct ef_object {
	CK_OBJECT_CLASS klass;
	bool is_private;  /* visible only while the user is logged in */
	struct ef_attr *attrs;
	size_t n_attrs, cap;
};

void ef_object_clear(struct ef_object *o);

const struct ef_attr *ef_object_attr(const struct ef_object *o, CK_ATTRIBUTE_TYPE type);
bool ef_object_bool(const struct ef_object *o, CK_ATTRIBUTE_TYPE type);

/* True when every attribute of the template is present with an equal value
 * (a sensitive attribute never matches). */
bool ef_object_matches(const struct ef_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* [PKCS#11 3.0 C_GetAttributeValue] semantics for the whole template. */
CK_RV ef_object_get(const struct ef_object *o, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);

/* Sum of the readable attribute sizes, for C_GetObjectSize. */
CK_ULONG ef_object_size(const struct ef_object *o);

/* Where a token's bundle comes from (CKA_EFIRMA_SOURCE and after). */
struct ef_cert_source {
	CK_ULONG kind;	    /* CKV_EFIRMA_SOURCE_* */
	const char *volume; /* a removable volume's name, else NULL */
	const char *cert_path;
};

/* Builders.  label is UTF-8; id is the CKA_ID shared by the three objects
 * of a key pair.  category: 1 = token user, 2 = authority.  src: where the
 * token's own certificate comes from; NULL for an authority's, which is
 * the CA pool's, not the token's. */
CK_RV ef_object_build_cert(struct ef_object *o, const struct ef_cert *c, CK_ULONG category,
			   const char *label, const struct ef_cert_source *src);
CK_RV ef_object_build_pubkey(struct ef_object *o, const struct ef_cert *c,
			     const char *label, bool can_encrypt);
CK_RV ef_object_build_privkey(struct ef_object *o, const struct ef_cert *c,
			      const char *label, bool can_decrypt);
CK_RV ef_object_build_profile(struct ef_object *o, CK_ULONG profile_id);

#endif
