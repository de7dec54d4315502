/*
 * entry_general.c - C_Initialize, C_Finalize, C_GetInfo and the function
 * lists and interfaces through which applications reach everything else.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "entry.h"
#include "platform.h"
#include "sat.h"

#ifndef EF_VERSION
#define EF_VERSION "0.1"
#endif

#define EXPORT __attribute__((visibility("default")))

/* The PKCS#11 3.0 functions this token has no use for. */
static CK_RV not_supported(void)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}
#define NOT_SUPPORTED(type) ((type)(void (*)(void))not_supported)

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
	const CK_C_INITIALIZE_ARGS *args = pInitArgs;
	const char *reserved = NULL;
	bool may_create_threads = true;

	if (args) {
		int given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
			    (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
		/* [PKCS#11 3.0 C_Initialize] the four mutex functions come
		 * all together or not at all. */
		if (given != 0 && given != 4)
			EF_RETURN(EF_FAIL(CKR_ARGUMENTS_BAD));
		/* Native locking serves every thread on this platform, so the
		 * callbacks (NSS passes them with CKF_OS_LOCKING_OK) are not
		 * needed. */
		may_create_threads = !(args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS);
		/* WORKAROUND(NSS, p11-kit): pReserved carries the
		 * configuration string ("parameters", x-init-reserved). */
		reserved = args->pReserved;
		/* [PKCS#11 3.0 CK_C_INITIALIZE_ARGS] pReserved: "reserved for
		 * future use.  Should be NULL_PTR" - so conformance suites pass
		 * small non-NULL values such as (void *)1 to see the module
		 * refuse them.  The first page is never mapped
		 * (vm.mmap_min_addr), so such a pointer cannot be a string:
		 * refuse it instead of reading it. */
		if (reserved != NULL && (uintptr_t)reserved < ef_os_page_size())
			EF_RETURN(EF_FAIL(CKR_ARGUMENTS_BAD));
	}
	EF_RETURN(ef_global_initialize(reserved, may_create_threads));
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
	if (pReserved)
		EF_RETURN(EF_FAIL(CKR_ARGUMENTS_BAD));
	EF_RETURN(ef_global_finalize());
}

static CK_RV fill_info(CK_INFO_PTR info, CK_BYTE major, CK_BYTE minor)
{
	CK_RV rv = ef_global_check();
	if (rv != CKR_OK)
		return rv;
	if (!info)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = major;
	info->cryptokiVersion.minor = minor;
	ef_pad_utf8(info->manufacturerID, sizeof(info->manufacturerID), "efirma-pkcs11");
	ef_pad_utf8(info->libraryDescription, sizeof(info->libraryDescription),
		    "SAT e.firma and CSD");
	unsigned vmaj = 0, vmin = 0;
	sscanf(EF_VERSION, "%u.%u", &vmaj, &vmin);
	info->libraryVersion.major = (CK_BYTE)vmaj;
	info->libraryVersion.minor = (CK_BYTE)vmin;
	return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
	EF_RETURN(fill_info(pInfo, 2, 40));
}

/* The same through the 3.0 interface, which must report 3.0. */
CK_RV ef_GetInfo30(CK_INFO_PTR pInfo)
{
	/* The trace names it as the application called it. */
	return ef_log_return("C_GetInfo", fill_info(pInfo, 3, 0));
}

#define COMMON_2_40(get_info)                                                      \
	C_Initialize, C_Finalize, get_info, C_GetFunctionList, C_GetSlotList,     \
	C_GetSlotInfo, C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo,    \
	C_InitToken, C_InitPIN, C_SetPIN, C_OpenSession, C_CloseSession,          \
	C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,                \
	C_SetOperationState, C_Login, C_Logout, C_CreateObject, C_CopyObject,     \
	C_DestroyObject, C_GetObjectSize, C_GetAttributeValue,                    \
	C_SetAttributeValue, C_FindObjectsInit, C_FindObjects,                    \
	C_FindObjectsFinal, C_EncryptInit, C_Encrypt, C_EncryptUpdate,            \
	C_EncryptFinal, C_DecryptInit, C_Decrypt, C_DecryptUpdate,                \
	C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey,      \
	C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal,             \
	C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify,                 \
	C_VerifyUpdate, C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover,      \
	C_DigestEncryptUpdate, C_DecryptDigestUpdate, C_SignEncryptUpdate,        \
	C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair, C_WrapKey,       \
	C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,                 \
	C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST functions_2_40 = {
	{ 2, 40 },
	COMMON_2_40(C_GetInfo)
};

static CK_FUNCTION_LIST_3_0 functions_3_0 = {
	{ 3, 0 },
	COMMON_2_40(ef_GetInfo30),
	C_GetInterfaceList, C_GetInterface, C_LoginUser, C_SessionCancel,
	NOT_SUPPORTED(CK_C_MessageEncryptInit), NOT_SUPPORTED(CK_C_EncryptMessage),
	NOT_SUPPORTED(CK_C_EncryptMessageBegin), NOT_SUPPORTED(CK_C_EncryptMessageNext),
	NOT_SUPPORTED(CK_C_MessageEncryptFinal), NOT_SUPPORTED(CK_C_MessageDecryptInit),
	NOT_SUPPORTED(CK_C_DecryptMessage), NOT_SUPPORTED(CK_C_DecryptMessageBegin),
	NOT_SUPPORTED(CK_C_DecryptMessageNext), NOT_SUPPORTED(CK_C_MessageDecryptFinal),
	NOT_SUPPORTED(CK_C_MessageSignInit), NOT_SUPPORTED(CK_C_SignMessage),
	NOT_SUPPORTED(CK_C_SignMessageBegin), NOT_SUPPORTED(CK_C_SignMessageNext),
	NOT_SUPPORTED(CK_C_MessageSignFinal), NOT_SUPPORTED(CK_C_MessageVerifyInit),
	NOT_SUPPORTED(CK_C_VerifyMessage), NOT_SUPPORTED(CK_C_VerifyMessageBegin),
	NOT_SUPPORTED(CK_C_VerifyMessageNext), NOT_SUPPORTED(CK_C_MessageVerifyFinal),
};

static CK_CHAR interface_name[] = "PKCS 11";

/* 3.0 first: an application that takes the first interface gets the
 * newest.  No interface claims CKF_INTERFACE_FORK_SAFE: after fork() the
 * child must call C_Initialize and log in again (doc/DESIGN.md §4). */
static CK_INTERFACE interfaces[] = {
	{ interface_name, &functions_3_0, 0 },
	{ interface_name, &functions_2_40, 0 },
};
#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	/* doc/DESIGN.md §4: this call always answers with the 2.40 table; 3.0 is
	 * only reached through C_GetInterface. */
	*ppFunctionList = &functions_2_40;
	return CKR_OK;
}

EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	if (!pInterfacesList) {
		*pulCount = N_INTERFACES;
		return CKR_OK;
	}
	if (*pulCount < N_INTERFACES) {
		*pulCount = N_INTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(pInterfacesList, interfaces, sizeof(interfaces));
	*pulCount = N_INTERFACES;
	return CKR_OK;
}

EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
			    CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	if (!ppInterface)
		return CKR_ARGUMENTS_BAD;
	for (size_t i = 0; i < N_INTERFACES; i++) {
		const CK_VERSION *v = interfaces[i].pFunctionList;
		if (pInterfaceName &&
		    strcmp((const char *)pInterfaceName, (const char *)interfaces[i].pInterfaceName))
			continue;
		if (pVersion && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		/* [PKCS#11 3.0 C_GetInterface] the interface must have every
		 * flag asked for. */
		if ((interfaces[i].flags & flags) != flags)
			continue;
		*ppInterface = &interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
