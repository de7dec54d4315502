/*
 * entry_session.c - opening, closing and describing sessions.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "entry.h"

CK_RV ef_enter_session(CK_SESSION_HANDLE h, struct ef_session **s)
{
	CK_RV rv = ef_global_enter();
	if (rv != CKR_OK)
		return rv;
	*s = ef_session_get_inlock(h);
	if (!*s) {
		ef_global_unlock();
		return CKR_SESSION_HANDLE_INVALID;
	}
	return CKR_OK;
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
		    CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	(void)pApplication;
	(void)Notify;   /* no callbacks: nothing here ever waits for a person */
	CK_RV rv = ef_global_enter();
	if (rv != CKR_OK)
		EF_RETURN(rv);
	struct ef_token *t = ef_slots_find_inlock(slotID);
	if (!t)
		rv = CKR_SLOT_ID_INVALID;
	else if (!t->present)
		rv = CKR_TOKEN_NOT_PRESENT;
	else if (!phSession)
		rv = CKR_ARGUMENTS_BAD;
	/* [PKCS#11 3.0 C_OpenSession] for legacy reasons the flag must be
	 * set. */
	else if (!(flags & CKF_SERIAL_SESSION))
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	else
		/* DESIGN §4: pkcs11-tool --test opens R/W sessions; writes
		 * are refused per call instead. */
		rv = ef_session_open_inlock(t, flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION),
					    phSession);
	ef_global_unlock();
	EF_RETURN(rv);
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = ef_global_enter();
	if (rv != CKR_OK)
		EF_RETURN(rv);
	rv = ef_session_close_inlock(hSession);
	ef_global_unlock();
	EF_RETURN(rv);
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv = ef_global_enter();
	if (rv != CKR_OK)
		EF_RETURN(rv);
	struct ef_token *t = ef_slots_find_inlock(slotID);
	if (!t)
		rv = CKR_SLOT_ID_INVALID;
	else
		ef_session_close_all_inlock(t);
	ef_global_unlock();
	EF_RETURN(rv);
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct ef_session *s;
	CK_RV rv = ef_enter_session(hSession, &s);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	if (!pInfo) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		pInfo->slotID = s->token->slot_id;
		pInfo->state = ef_session_state(s);
		pInfo->flags = s->flags;
		pInfo->ulDeviceError = 0;
	}
	ef_global_unlock();
	EF_RETURN(rv);
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	static const struct { CK_FLAGS flag; enum ef_op_kind kind; } map[] = {
		{ CKF_SIGN, EF_OP_SIGN }, { CKF_VERIFY, EF_OP_VERIFY },
		{ CKF_ENCRYPT, EF_OP_ENCRYPT }, { CKF_DECRYPT, EF_OP_DECRYPT },
		{ CKF_DIGEST, EF_OP_DIGEST },
	};
	struct ef_session *s;
	CK_RV rv = ef_enter_session(hSession, &s);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].flag)
			ef_session_cancel_inlock(s, map[i].kind);
	if (flags & CKF_FIND_OBJECTS)
		s->finding = false;
	ef_global_unlock();
	EF_RETURN(CKR_OK);
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			  CK_ULONG_PTR pulOperationStateLen)
{
	(void)pOperationState;
	(void)pulOperationStateLen;
	struct ef_session *s;
	CK_RV rv = ef_enter_session(hSession, &s);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	ef_global_unlock();
	/* A running OpenSSL hash cannot be exported. */
	EF_RETURN(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			  CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			  CK_OBJECT_HANDLE hAuthenticationKey)
{
	(void)pOperationState;
	(void)ulOperationStateLen;
	(void)hEncryptionKey;
	(void)hAuthenticationKey;
	struct ef_session *s;
	CK_RV rv = ef_enter_session(hSession, &s);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	ef_global_unlock();
	EF_RETURN(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	(void)hSession;
	CK_RV rv = ef_global_check();
	/* [PKCS#11 3.0 §5.16] legacy: always CKR_FUNCTION_NOT_PARALLEL. */
	EF_RETURN(rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	(void)hSession;
	CK_RV rv = ef_global_check();
	EF_RETURN(rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL);
}
