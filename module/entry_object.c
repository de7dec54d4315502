/*
 * entry_object.c - finding and reading objects; refusing to change them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every object of this token is read-only: it comes from SAT's files.
 */
#include <stdlib.h>

#include "entry.h"

/* The object behind a handle in this session, or NULL. */
static struct ef_object *object_of_inlock(struct ef_session *s, CK_OBJECT_HANDLE h)
{
	ef_assert_locked();
	return ef_token_object_inlock(s->token, h);
}

/* The object behind hObject in the session behind hSession. */
static CK_RV object_lookup_inlock(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				  const struct ef_object **o)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	*o = object_of_inlock(s, hObject);
	return *o ? CKR_OK : EF_FAIL(CKR_OBJECT_HANDLE_INVALID);
}

/* False when the template names a class other than certificates: then
 * the CA certificates need not be read. */
static bool may_show_certificates(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++)
		if (tmpl[i].type == CKA_CLASS && tmpl[i].pValue &&
		    tmpl[i].ulValueLen == sizeof(CK_OBJECT_CLASS))
			return *(const CK_OBJECT_CLASS *)tmpl[i].pValue == CKO_CERTIFICATE;
	return true;
}

static CK_RV find_objects_init_inlock(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
				      CK_ULONG ulCount)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_fresh_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	struct ef_token *t = s->token;
	if (!pTemplate && ulCount)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	if (s->finding)
		return EF_FAIL(CKR_OPERATION_ACTIVE);
	rv = ef_token_objects_inlock(t);
	if (rv == CKR_OK && may_show_certificates(pTemplate, ulCount))
		rv = ef_ca_pool_chain_inlock(t);
	if (rv != CKR_OK)
		return rv;
	ef_session_clear_found_inlock(s);
	s->found = calloc(t->n_objects ? t->n_objects : 1, sizeof(*s->found));
	if (!s->found)
		return EF_FAIL(CKR_HOST_MEMORY);
	/* WORKAROUND(NSS): NSS searches for its own trust and built-in root
	 * classes; an unknown class simply matches nothing. */
	for (size_t i = 0; i < t->n_objects; i++) {
		CK_OBJECT_HANDLE h = ef_token_handle_inlock(t, i);
		const struct ef_object *o = object_of_inlock(s, h);
		if (o && ef_object_matches(o, pTemplate, ulCount))
			s->found[s->n_found++] = h;
	}
	s->finding = true;
	return CKR_OK;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = find_objects_init_inlock(hSession, pTemplate, ulCount);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV find_objects_inlock(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
				 CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct ef_session *s;
	CK_ULONG n = 0;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!s->finding)
		return EF_FAIL(CKR_OPERATION_NOT_INITIALIZED);
	if (!pulObjectCount || (!phObject && ulMaxObjectCount))
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	while (n < ulMaxObjectCount && s->pos < s->n_found)
		phObject[n++] = s->found[s->pos++];
	*pulObjectCount = n;
	return CKR_OK;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
		    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = find_objects_inlock(hSession, phObject, ulMaxObjectCount, pulObjectCount);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV find_objects_final_inlock(CK_SESSION_HANDLE hSession)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!s->finding)
		rv = EF_FAIL(CKR_OPERATION_NOT_INITIALIZED);
	s->finding = false;
	ef_session_clear_found_inlock(s);
	return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = find_objects_final_inlock(hSession);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV get_attribute_value_inlock(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
					CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	const struct ef_object *o;
	ef_assert_locked();
	CK_RV rv = object_lookup_inlock(hSession, hObject, &o);
	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	return ef_object_get(o, pTemplate, ulCount);
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = get_attribute_value_inlock(hSession, hObject, pTemplate, ulCount);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV get_object_size_inlock(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				    CK_ULONG_PTR pulSize)
{
	const struct ef_object *o;
	ef_assert_locked();
	CK_RV rv = object_lookup_inlock(hSession, hObject, &o);
	if (rv != CKR_OK)
		return rv;
	if (!pulSize)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	*pulSize = ef_object_size(o);
	return CKR_OK;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = get_object_size_inlock(hSession, hObject, pulSize);
		ef_unlock();
	}
	EF_RETURN(rv);
}

/* The answer for a change to an existing object: it does not exist for
 * this session, or it is read-only (CKA_MODIFIABLE, CKA_COPYABLE and
 * CKA_DESTROYABLE are all false).  args_ok: the caller's arguments are
 * usable, which is checked before what the token can do. */
static CK_RV refuse_change_inlock(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				  bool args_ok)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!args_ok)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	return EF_FAIL(object_of_inlock(s, hObject) ? CKR_ACTION_PROHIBITED
						    : CKR_OBJECT_HANDLE_INVALID);
}

static CK_RV refuse_change(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, bool args_ok)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = refuse_change_inlock(hSession, hObject, args_ok);
		ef_unlock();
	}
	return rv;
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	EF_RETURN(refuse_change(hSession, hObject, pTemplate || !ulCount));
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		   CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
	EF_RETURN(refuse_change(hSession, hObject, (pTemplate || !ulCount) && phNewObject));
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	EF_RETURN(refuse_change(hSession, hObject, true));
}

/* Functions that would create or export key material: the token holds one
 * key, SAT's, and never lets it out (ef_session_unsupported). */

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate EF_UNUSED,
		     CK_ULONG ulCount EF_UNUSED, CK_OBJECT_HANDLE_PTR phObject EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
		    CK_ATTRIBUTE_PTR pTemplate EF_UNUSED, CK_ULONG ulCount EF_UNUSED,
		    CK_OBJECT_HANDLE_PTR phKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
			CK_ATTRIBUTE_PTR pPublicKeyTemplate EF_UNUSED,
			CK_ULONG ulPublicKeyAttributeCount EF_UNUSED,
			CK_ATTRIBUTE_PTR pPrivateKeyTemplate EF_UNUSED,
			CK_ULONG ulPrivateKeyAttributeCount EF_UNUSED,
			CK_OBJECT_HANDLE_PTR phPublicKey EF_UNUSED,
			CK_OBJECT_HANDLE_PTR phPrivateKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
		CK_OBJECT_HANDLE hWrappingKey EF_UNUSED, CK_OBJECT_HANDLE hKey EF_UNUSED,
		CK_BYTE_PTR pWrappedKey EF_UNUSED, CK_ULONG_PTR pulWrappedKeyLen EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
		  CK_OBJECT_HANDLE hUnwrappingKey EF_UNUSED, CK_BYTE_PTR pWrappedKey EF_UNUSED,
		  CK_ULONG ulWrappedKeyLen EF_UNUSED, CK_ATTRIBUTE_PTR pTemplate EF_UNUSED,
		  CK_ULONG ulAttributeCount EF_UNUSED, CK_OBJECT_HANDLE_PTR phKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
		  CK_OBJECT_HANDLE hBaseKey EF_UNUSED, CK_ATTRIBUTE_PTR pTemplate EF_UNUSED,
		  CK_ULONG ulAttributeCount EF_UNUSED, CK_OBJECT_HANDLE_PTR phKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}
