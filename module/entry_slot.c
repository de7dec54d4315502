/*
 * entry_slot.c - slots, tokens, mechanisms, login and the PIN.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "mech.h"

CK_RV ef_slot_lookup_inlock(CK_SLOT_ID id, struct ef_token **t)
{
	ef_assert_locked();
	/* Where nothing else follows the files (no thread of the module's,
	 * none waiting in C_WaitForSlotEvent), a call about a slot is when
	 * changes are noticed: a read of the watch's queue when nothing
	 * changed.  WORKAROUND(NSS): it polls C_GetSlotInfo of removable
	 * slots. */
	CK_RV rv = ef_hotplug_refresh_inlock(false);
	*t = rv == CKR_OK ? ef_slots_find_inlock(id) : NULL;
	if (rv != CKR_OK)
		return rv;
	return *t ? CKR_OK : EF_FAIL(CKR_SLOT_ID_INVALID);
}

CK_RV ef_session_fresh_lookup_inlock(CK_SESSION_HANDLE hSession, struct ef_session **s)
{
	ef_assert_locked();
	CK_RV rv = ef_hotplug_refresh_inlock(false);
	return rv == CKR_OK ? ef_session_lookup_inlock(hSession, s) : rv;
}

CK_RV ef_token_lookup_inlock(CK_SLOT_ID id, struct ef_token **t)
{
	ef_assert_locked();
	CK_RV rv = ef_slot_lookup_inlock(id, t);
	if (rv == CKR_OK && !(*t)->present)
		rv = EF_FAIL(CKR_TOKEN_NOT_PRESENT);
	return rv;
}

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	CK_ULONG n = 0;
	CK_RV rv = ef_lock();
	if (rv != CKR_OK)
		EF_RETURN(rv);
	if (!pulCount) {
		rv = EF_FAIL(CKR_ARGUMENTS_BAD);
		goto out;
	}
	/* The first call of the two-call idiom looks at the folders again,
	 * so bundles copied in or removed show up even where they cannot be
	 * followed; the second call then sees the same list. */
	rv = ef_hotplug_refresh_inlock(!pSlotList);
	if (rv != CKR_OK)
		goto out;
	for (size_t i = 0; i < ef_slots_count_inlock(); i++) {
		struct ef_token *t = ef_slots_at_inlock(i);
		if (tokenPresent && !t->present)
			continue;
		if (pSlotList && n < *pulCount)
			pSlotList[n] = t->slot_id;
		n++;
	}
	if (pSlotList && n > *pulCount)
		rv = CKR_BUFFER_TOO_SMALL;
	*pulCount = n;
out:
	ef_unlock();
	EF_RETURN(rv);
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct ef_token *t;
	CK_RV rv = ef_lock();
	if (rv != CKR_OK)
		EF_RETURN(rv);
	rv = ef_slot_lookup_inlock(slotID, &t);
	if (rv == CKR_OK && !pInfo)
		rv = EF_FAIL(CKR_ARGUMENTS_BAD);
	else if (rv == CKR_OK)
		*pInfo = t->slot_info;
	ef_unlock();
	EF_RETURN(rv);
}

static CK_RV get_token_info_inlock(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct ef_token *t;
	ef_assert_locked();
	CK_RV rv = ef_token_lookup_inlock(slotID, &t);
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	/* WORKAROUND(NSS): polled often; everything comes from memory. */
	*pInfo = t->info;
	pInfo->ulSessionCount = t->n_sessions;
	pInfo->ulRwSessionCount = t->n_rw_sessions;
	return CKR_OK;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = get_token_info_inlock(slotID, pInfo);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV get_mechanism_list_inlock(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
				       CK_ULONG_PTR pulCount)
{
	struct ef_token *t;
	ef_assert_locked();
	CK_RV rv = ef_token_lookup_inlock(slotID, &t);
	if (rv != CKR_OK)
		return rv;
	return pulCount ? ef_mech_list(t->can_encrypt, pMechanismList, pulCount)
			: EF_FAIL(CKR_ARGUMENTS_BAD);
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
			 CK_ULONG_PTR pulCount)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = get_mechanism_list_inlock(slotID, pMechanismList, pulCount);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV get_mechanism_info_inlock(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
				       CK_MECHANISM_INFO_PTR pInfo)
{
	struct ef_token *t;
	ef_assert_locked();
	CK_RV rv = ef_token_lookup_inlock(slotID, &t);
	if (rv != CKR_OK)
		return rv;
	return pInfo ? ef_mech_info(type, t->can_encrypt, pInfo) : EF_FAIL(CKR_ARGUMENTS_BAD);
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = get_mechanism_info_inlock(slotID, type, pInfo);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV init_token_inlock(CK_SLOT_ID slotID)
{
	struct ef_token *t;
	ef_assert_locked();
	CK_RV rv = ef_token_lookup_inlock(slotID, &t);
	if (rv != CKR_OK)
		return rv;
	/* [PKCS#11 3.0 C_InitToken] with sessions open: CKR_SESSION_EXISTS.
	 * Otherwise: the token is SAT's certificate and key, it has no
	 * security officer and cannot be re-initialized. */
	return EF_FAIL(t->n_sessions ? CKR_SESSION_EXISTS : CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin EF_UNUSED, CK_ULONG ulPinLen EF_UNUSED,
		  CK_UTF8CHAR_PTR pLabel EF_UNUSED)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = init_token_inlock(slotID);
		ef_unlock();
	}
	EF_RETURN(rv);
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin EF_UNUSED,
		CK_ULONG ulPinLen EF_UNUSED)
{
	CK_RV rv = ef_session_exists(hSession);
	/* [PKCS#11 3.0 C_InitPIN] only in the "R/W SO Functions" state, which
	 * this token, having no SO, never reaches. */
	EF_RETURN(rv != CKR_OK ? rv : EF_FAIL(CKR_USER_NOT_LOGGED_IN));
}

/* After a login's work without the lock on a snapshot of the session's
 * token: finds the session again, if it and its token are still those
 * the snapshot was taken of.  Else the reason: a rescan unloaded or
 * reloaded the token ([PKCS#11 3.0 CKR_DEVICE_REMOVED] the token was
 * removed from its slot during the execution of the function), or the
 * session was closed.  (C_Finalize meanwhile: ef_lock says so.) */
static CK_RV relookup_session_inlock(CK_SESSION_HANDLE h, const struct ef_key_plan *snap,
				     struct ef_session **s)
{
	ef_assert_locked();
	const struct ef_token *t = ef_slots_find_inlock(snap->slot_id);
	if (!t || t->generation != snap->generation)
		return EF_FAIL(CKR_DEVICE_REMOVED);
	return ef_session_lookup_inlock(h, s);
}

/* Takes the plan of a password change out of the session's token, after
 * any other change of that token's password has ended. */
static CK_RV setpin_plan_inlock(CK_SESSION_HANDLE hSession, bool pins_given,
				struct ef_key_plan *snap)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_fresh_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	/* No protected authentication path: both PINs must be given. */
	if (!pins_given)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	/* [PKCS#11 3.0 C_SetPIN] only in a R/W session. */
	if (!(s->flags & CKF_RW_SESSION))
		return EF_FAIL(CKR_SESSION_READ_ONLY);
	/* One password change per token at a time: a second one then reads
	 * the file the first wrote, and its old PIN is no longer right. */
	while (rv == CKR_OK && s->token->setpin) {
		rv = ef_global_wait_inlock();
		if (rv == CKR_OK)
			rv = ef_session_lookup_inlock(hSession, &s);
	}
	if (rv == CKR_OK)
		rv = ef_token_key_plan_inlock(s->token, snap);
	if (rv == CKR_OK)
		s->token->setpin = snap->ticket;
	return rv;
}

/* After a password change, whatever its result (changed): the file is
 * what it is now, whatever happened to the session meanwhile, so only the
 * token's flags wait for the lock.  The token may have been reloaded (same
 * slot, new generation: its flags start afresh) or made anew by
 * C_Initialize (another ticket). */
static void setpin_finish_inlock(const struct ef_key_plan *snap, CK_RV changed)
{
	ef_assert_locked();
	struct ef_token *t = ef_slots_find_inlock(snap->slot_id);
	if (t && t->setpin == snap->ticket)
		t->setpin = 0;
	if (t && t->generation == snap->generation)
		ef_token_note_pin_inlock(t, changed);
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
	       CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	struct ef_key_plan snap = {0};
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = setpin_plan_inlock(hSession, pOldPin && pNewPin, &snap);
		ef_unlock();
	}
	if (rv != CKR_OK)
		goto out;
	/* The key derivations, the write and the fsyncs, without the lock. */
	rv = ef_token_set_pin(&snap, pOldPin, ulOldLen, pNewPin, ulNewLen);
	if (ef_lock() == CKR_OK) {
		setpin_finish_inlock(&snap, rv);
		ef_unlock();
	}
	ef_lock_broadcast();
out:
	ef_key_plan_clear(&snap);
	EF_RETURN(rv);
}

/* Whether this login may go on, before and after the key is opened. */
static CK_RV login_allowed_inlock(const struct ef_session *s, CK_USER_TYPE userType)
{
	ef_assert_locked();
	switch (userType) {
	case CKU_USER:
		return ef_token_logged_in_inlock(s->token) ? EF_FAIL(CKR_USER_ALREADY_LOGGED_IN) : CKR_OK;
	case CKU_CONTEXT_SPECIFIC:
		/* [PKCS#11 3.0 C_Login] improper use of CKU_CONTEXT_SPECIFIC:
		 * CKR_OPERATION_NOT_INITIALIZED.  It re-proves the PIN for an
		 * operation with the private key; the key stays as it is. */
		if (!ef_session_op_active_inlock(s, EF_OP_SIGN) &&
		    !ef_session_op_active_inlock(s, EF_OP_DECRYPT))
			return EF_FAIL(CKR_OPERATION_NOT_INITIALIZED);
		return ef_token_logged_in_inlock(s->token) ? CKR_OK : EF_FAIL(CKR_USER_NOT_LOGGED_IN);
	case CKU_SO:
		/* SAT's files have one password; there is no security
		 * officer to log in as. */
		return EF_FAIL(ef_token_logged_in_inlock(s->token) ?
			       CKR_USER_ANOTHER_ALREADY_LOGGED_IN : CKR_PIN_INCORRECT);
	default:
		return EF_FAIL(CKR_USER_TYPE_INVALID);
	}
}

/* Before the key derivation: what to try, if this login may go on. */
static CK_RV login_plan_inlock(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
			       bool pin_given, struct ef_key_plan *snap)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_fresh_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	/* [PKCS#11 3.0 C_Login] pPin is NULL_PTR only on a token with a
	 * protected authentication path, which this one has not. */
	if (!pin_given)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	rv = login_allowed_inlock(s, userType);
	if (rv == CKR_OK)
		rv = ef_token_key_plan_inlock(s->token, snap);
	return rv;
}

/* After it: opened is what ef_key_plan_open answered.  A user's login
 * takes *key and *key_path into the token. */
static CK_RV login_finish_inlock(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
				 const struct ef_key_plan *snap, CK_RV opened,
				 struct ef_pkey **key, char **key_path)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = relookup_session_inlock(hSession, snap, &s);
	if (rv != CKR_OK)
		return rv;
	ef_token_note_pin_inlock(s->token, opened);
	/* Another thread may have logged in (or out) meanwhile. */
	rv = opened;
	if (rv == CKR_OK)
		rv = login_allowed_inlock(s, userType);
	if (rv == CKR_OK && userType == CKU_USER) {
		s->token->key = *key;
		s->token->key_path = *key_path;
		*key = NULL;
		*key_path = NULL;
	}
	return rv;
}

static CK_RV login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
		   CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct ef_key_plan snap = {0};
	struct ef_pkey *key = NULL;
	char *key_path = NULL;
	CK_RV opened;
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = login_plan_inlock(hSession, userType, pPin != NULL, &snap);
		ef_unlock();
	}
	if (rv != CKR_OK)
		goto out;
	/* The key derivation, once per candidate key, without the lock:
	 * doc/DESIGN.md §5, no call waits on another token's password work. */
	opened = ef_key_plan_open(&snap, pPin, ulPinLen, &key, &key_path);
	rv = ef_lock();
	if (rv == CKR_OK) {
		rv = login_finish_inlock(hSession, userType, &snap, opened, &key, &key_path);
		ef_unlock();
	}
out:
	if (key)
		ef_key_unref(key);
	free(key_path);
	ef_key_plan_clear(&snap);
	return rv;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	      CK_ULONG ulPinLen)
{
	EF_RETURN(login(hSession, userType, pPin, ulPinLen));
}

CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		  CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername EF_UNUSED,
		  CK_ULONG ulUsernameLen EF_UNUSED)
{
	/* [PKCS#11 3.0 C_LoginUser] a token without user names treats it as
	 * C_Login. */
	EF_RETURN(login(hSession, userType, pPin, ulPinLen));
}

static CK_RV logout_inlock(CK_SESSION_HANDLE hSession)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!ef_token_logged_in_inlock(s->token))
		return EF_FAIL(CKR_USER_NOT_LOGGED_IN);
	ef_sessions_drop_key_ops_inlock(s->token);
	ef_token_logout_inlock(s->token);
	return CKR_OK;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = logout_inlock(hSession);
		ef_unlock();
	}
	EF_RETURN(rv);
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	CK_RV rv = ef_lock();
	if (rv != CKR_OK)
		EF_RETURN(rv);
	if (pReserved || !pSlot) {
		rv = EF_FAIL(CKR_ARGUMENTS_BAD);
		goto out;
	}
	/* [PKCS#11 3.0 C_WaitForSlotEvent] blocks until an event occurs,
	 * unless CKF_DONT_BLOCK; C_Finalize from another thread makes it
	 * return CKR_CRYPTOKI_NOT_INITIALIZED. */
	for (;;) {
		rv = ef_hotplug_refresh_inlock(false);
		if (rv != CKR_OK || ef_slots_take_event_inlock(pSlot))
			break;
		if (flags & CKF_DONT_BLOCK) {
			rv = CKR_NO_EVENT;
			break;
		}
		rv = ef_hotplug_wait_inlock();
		if (rv != CKR_OK)
			break;
	}
out:
	ef_unlock();
	EF_RETURN(rv);
}
