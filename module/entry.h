/*
 * entry.h - shared by the files that implement the C_* entry points.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Only the entry layer knows the function-list structures (doc/DESIGN.md §5).
 * Every C_* function is hidden (the build exports only C_GetFunctionList,
 * C_GetInterfaceList and C_GetInterface); applications reach the rest
 * through the lists.
 */
#ifndef EF_ENTRY_H
#define EF_ENTRY_H

#include "efirma-pkcs11.h"
#include "ca_pool.h"
#include "global.h"
#include "hotplug.h"
#include "log.h"
#include "session.h"
#include "slots.h"

/* A parameter an entry point has no use for (the function list fixes
 * every signature). */
#define EF_UNUSED __attribute__((unused))

/* The exit of an entry point: an internal result becomes its CKR, and
 * the trace shows the code with where it arose (log.h). */
#define EF_RETURN(rv) return ef_log_return(__func__, (rv))

/* Every entry point shows the lock it takes and releases, around a
 * function of its file that finds what a handle names and does the work
 * (global.h, doc/HACKING.md "Locking"):
 *
 *	CK_RV rv = ef_lock();
 *	if (rv == CKR_OK) {
 *		rv = get_token_info_inlock(slotID, pInfo);
 *		ef_unlock();
 *	}
 *	EF_RETURN(rv);
 *
 * where get_token_info_inlock begins with ef_token_lookup_inlock(slotID,
 * &t) (ef_session_lookup_inlock is in session.h). */

/* Takes the lock and releases it: CKR_OK when the session is open, else
 * why not.  For the calls that need nothing else of it; the session
 * handle is checked all the same, before what the token can do. */
CK_RV ef_session_exists(CK_SESSION_HANDLE hSession);
/* The same, then CKR_FUNCTION_NOT_SUPPORTED: for the calls this token
 * has no use for. */
CK_RV ef_session_unsupported(CK_SESSION_HANDLE hSession);

/* The session, for the calls that start work on its token (C_Login,
 * C_SetPIN, an operation or a search): the bundles' changes are noticed
 * first (hotplug.h), so a session whose token went away answers
 * CKR_SESSION_HANDLE_INVALID even where nothing else follows the files. */
CK_RV ef_session_fresh_lookup_inlock(CK_SESSION_HANDLE hSession, struct ef_session **s);

/* The slot: CKR_SLOT_ID_INVALID when no slot has this ID. */
CK_RV ef_slot_lookup_inlock(CK_SLOT_ID id, struct ef_token **t);
/* The token in a slot: CKR_SLOT_ID_INVALID, or CKR_TOKEN_NOT_PRESENT when
 * the slot has none. */
CK_RV ef_token_lookup_inlock(CK_SLOT_ID id, struct ef_token **t);

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
