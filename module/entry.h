/*
 * entry.h - shared by the files that implement the C_* entry points.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Only the entry layer knows the function-list structures (DESIGN §5).
 * Every C_* function is hidden (the build exports only C_GetFunctionList,
 * C_GetInterfaceList and C_GetInterface); applications reach the rest
 * through the lists.
 */
#ifndef EF_ENTRY_H
#define EF_ENTRY_H

#include "efirma-pkcs11.h"
#include "global.h"
#include "log.h"
#include "session.h"
#include "slots.h"

/* The exit of an entry point: an internal result becomes its CKR, and
 * the trace shows the code with where it arose (log.h). */
#define EF_RETURN(rv) return ef_log_return(__func__, (rv))

/* The session and its token, with the lock held; on failure the lock is
 * released and the reason returned. */
CK_RV ef_enter_session(CK_SESSION_HANDLE h, struct ef_session **s);

/* The PKCS#11 3.0 entry points (the 2.40 ones are declared by pkcs11.h). */
CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
		     CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);
CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
		  CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
		  CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen);
CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags);
CK_RV ef_GetInfo30(CK_INFO_PTR pInfo);

#endif
