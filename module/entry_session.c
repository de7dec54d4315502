/*
 * entry_session.c - opening, closing and describing sessions.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "entry.h"

static CK_RV open_session_inlock(CK_SLOT_ID slotID, CK_FLAGS flags, CK_SESSION_HANDLE_PTR phSession)
{
	struct ef_token *t;
	ef_assert_locked();
	CK_RV rv = ef_token_lookup_inlock(slotID, &t);
	if (rv != CKR_OK)
		return rv;
	if (!phSession)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	/* [PKCS#11 3.0 C_OpenSession] for legacy reasons the flag must be
	 * set. */
	if (!(flags & CKF_SERIAL_SESSION))
		return EF_FAIL(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	/* doc/DESIGN.md §4: pkcs11-tool --test opens R/W sessions; writes
	 * are refused per call instead. */
	return ef_session_open_inlock(t, flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION), phSession);
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication EF_UNUSED,
		    CK_NOTIFY Notify EF_UNUSED, CK_SESSION_HANDLE_PTR phSession)
{
	/* Notify: no callbacks, nothing here ever waits for a person. */
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = open_session_inlock(slotID, flags, phSession);
		ef_unlock();
	}
	EF_RETURN(rv);
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = ef_session_close_inlock(hSession);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV close_all_sessions_inlock(CK_SLOT_ID slotID)
{
	struct ef_token *t;
	ef_assert_locked();
	CK_RV rv = ef_slot_lookup_inlock(slotID, &t);
	if (rv == CKR_OK)
		ef_session_close_all_inlock(t);
	return rv;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = close_all_sessions_inlock(slotID);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV get_session_info_inlock(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	pInfo->slotID = s->token->slot_id;
	pInfo->state = ef_session_state_inlock(s);
	pInfo->flags = s->flags;
	pInfo->ulDeviceError = 0;
	return CKR_OK;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = get_session_info_inlock(hSession, pInfo);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV session_cancel_inlock(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	static const struct { CK_FLAGS flag; enum ef_op_kind kind; } map[] = {
		{ CKF_SIGN, EF_OP_SIGN }, { CKF_VERIFY, EF_OP_VERIFY },
		{ CKF_ENCRYPT, EF_OP_ENCRYPT }, { CKF_DECRYPT, EF_OP_DECRYPT },
		{ CKF_DIGEST, EF_OP_DIGEST },
	};
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].flag)
			ef_session_cancel_inlock(s, map[i].kind);
	if (flags & CKF_FIND_OBJECTS)
		s->finding = false;
	return CKR_OK;
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = session_cancel_inlock(hSession, flags);
		ef_unlock();
	}
	EF_RETURN(rv);
}

static CK_RV session_exists_inlock(CK_SESSION_HANDLE hSession)
{
	struct ef_session *s;
	ef_assert_locked();
	return ef_session_lookup_inlock(hSession, &s);
}

CK_RV ef_session_exists(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = session_exists_inlock(hSession);
		ef_unlock();
	}
	return rv;
}

CK_RV ef_session_unsupported(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = ef_session_exists(hSession);
	return rv != CKR_OK ? rv : EF_FAIL(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState EF_UNUSED,
			  CK_ULONG_PTR pulOperationStateLen EF_UNUSED)
{
	/* A running OpenSSL hash cannot be exported. */
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState EF_UNUSED,
			  CK_ULONG ulOperationStateLen EF_UNUSED,
			  CK_OBJECT_HANDLE hEncryptionKey EF_UNUSED,
			  CK_OBJECT_HANDLE hAuthenticationKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession EF_UNUSED)
{
	CK_RV rv = ef_global_check();
	/* [PKCS#11 3.0 §5.16] legacy: always CKR_FUNCTION_NOT_PARALLEL. */
	EF_RETURN(rv != CKR_OK ? rv : EF_FAIL(CKR_FUNCTION_NOT_PARALLEL));
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession EF_UNUSED)
{
	CK_RV rv = ef_global_check();
	EF_RETURN(rv != CKR_OK ? rv : EF_FAIL(CKR_FUNCTION_NOT_PARALLEL));
}
