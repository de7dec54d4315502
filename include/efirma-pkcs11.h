/*
 * efirma-pkcs11.h - public interface of the efirma-pkcs11 module.
 *
 * Copyright (C) 2026 the efirma-pkcs11 authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Applications include this header to read the SAT facts the module attaches
 * to each certificate object (RFC, CURP, número de certificado, e.firma or
 * CSD, persona física or moral) without parsing X.509 themselves.  It also
 * supplies the PKCS#11 3.0 definitions that p11-kit's 2.40 header lacks, so
 * one header is enough to call C_GetInterface and friends.
 */
#ifndef EFIRMA_PKCS11_H
#define EFIRMA_PKCS11_H

#include <p11-kit/pkcs11.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Vendor-defined attributes on the certificate object of every SAT token.
 * The range CKA_VENDOR_DEFINED | 0x45460000 ("EF") is this module's own.
 * String values are UTF-8 without a terminating NUL; an attribute that does
 * not apply (no representative for a persona física) has length 0.
 * ---------------------------------------------------------------------- */
#define CKA_EFIRMA_BASE            (CKA_VENDOR_DEFINED | 0x45460000UL)
/* The holder's RFC (12 characters for a company, 13 for a person). */
#define CKA_EFIRMA_RFC             (CKA_EFIRMA_BASE + 0x01)
/* The holder's CURP (empty for a company). */
#define CKA_EFIRMA_CURP            (CKA_EFIRMA_BASE + 0x02)
/* The 20-digit número de certificado, ASCII digits. */
#define CKA_EFIRMA_NUMERO          (CKA_EFIRMA_BASE + 0x03)
/* CK_ULONG: CKV_EFIRMA_KIND_* */
#define CKA_EFIRMA_KIND            (CKA_EFIRMA_BASE + 0x04)
/* CK_ULONG: CKV_EFIRMA_PERSONA_* */
#define CKA_EFIRMA_PERSONA         (CKA_EFIRMA_BASE + 0x05)
/* For a persona moral: the legal representative's RFC and CURP. */
#define CKA_EFIRMA_REP_RFC         (CKA_EFIRMA_BASE + 0x06)
#define CKA_EFIRMA_REP_CURP        (CKA_EFIRMA_BASE + 0x07)
/* The holder's name, UTF-8 (also CKA_LABEL of the certificate). */
#define CKA_EFIRMA_HOLDER          (CKA_EFIRMA_BASE + 0x08)
/* The branch (sucursal) a CSD was issued for; empty for an e.firma. */
#define CKA_EFIRMA_BRANCH          (CKA_EFIRMA_BASE + 0x09)

/* Where the token's bundle comes from, on the certificate object of every
 * token (SAT's or not), as the module found it when it loaded the token:
 * a bundle that moves is another token, in the same or another slot. */
/* CK_ULONG: CKV_EFIRMA_SOURCE_* */
#define CKA_EFIRMA_SOURCE (CKA_EFIRMA_BASE + 0x0A)
/* The removable volume's name, its folder under the mount root
 * (/media/$USER/KINGSTON: "KINGSTON"); empty for the other sources. */
#define CKA_EFIRMA_VOLUME (CKA_EFIRMA_BASE + 0x0B)
/* The certificate file (.cer) as the module opens it: the path written in
 * the configuration for a [bundle], the folder's path and the file's name
 * for the others.  File names are the bytes the file system holds: UTF-8
 * on a usual system, but not checked. */
#define CKA_EFIRMA_CERT_PATH (CKA_EFIRMA_BASE + 0x0C)

#define CKV_EFIRMA_KIND_UNKNOWN    0UL
#define CKV_EFIRMA_KIND_EFIRMA     1UL   /* firma electrónica avanzada (FIEL) */
#define CKV_EFIRMA_KIND_CSD        2UL   /* certificado de sello digital */

#define CKV_EFIRMA_PERSONA_FISICA  1UL
#define CKV_EFIRMA_PERSONA_MORAL   2UL

#define CKV_EFIRMA_SOURCE_BUNDLE 1UL /* a [bundle] (or cert=) of the configuration */
#define CKV_EFIRMA_SOURCE_FOLDER 2UL /* found in a [directory] folder */
#define CKV_EFIRMA_SOURCE_VOLUME 3UL /* found on a removable volume */

/* ------------------------------------------------------------------------
 * PKCS#11 3.0 definitions missing from a 2.40 system header.
 * Values are those of the OASIS PKCS#11 3.0 specification.
 * ---------------------------------------------------------------------- */
#ifndef CKO_PROFILE
#define CKO_PROFILE                      0x00000009UL
#endif
#ifndef CKA_PROFILE_ID
#define CKA_PROFILE_ID                   0x00000601UL
#endif
#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID                    0x0000004AUL
#endif
#ifndef CKP_INVALID_ID
#define CKP_INVALID_ID                   0x00000000UL
#define CKP_BASELINE_PROVIDER            0x00000001UL
#define CKP_EXTENDED_PROVIDER            0x00000002UL
#define CKP_AUTHENTICATION_TOKEN         0x00000003UL
#define CKP_PUBLIC_CERTIFICATES_TOKEN    0x00000004UL
#endif
#ifndef CKF_INTERFACE_FORK_SAFE
#define CKF_INTERFACE_FORK_SAFE          0x00000001UL
#endif
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED      0x00000202UL
#endif
#ifndef CKF_FIND_OBJECTS
#define CKF_FIND_OBJECTS                 0x00000040UL
#endif
#ifndef CKF_END_OF_MESSAGE
#define CKF_END_OF_MESSAGE               0x00000001UL
#endif
#ifndef CKF_MESSAGE_ENCRYPT
#define CKF_MESSAGE_ENCRYPT              0x00000002UL
#define CKF_MESSAGE_DECRYPT              0x00000004UL
#define CKF_MESSAGE_SIGN                 0x00000008UL
#define CKF_MESSAGE_VERIFY               0x00000010UL
#define CKF_MULTI_MESSAGE                0x00000020UL
#endif

#if CRYPTOKI_VERSION_MAJOR < 3
/* The interface record of PKCS#11 3.0 section 3.6. */
typedef struct CK_INTERFACE {
	CK_CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;

/* The 3.0 function list: the 2.40 list followed by the 3.0 additions,
 * in the order the specification fixes. */
typedef struct CK_FUNCTION_LIST_3_0 CK_FUNCTION_LIST_3_0;
typedef CK_FUNCTION_LIST_3_0 *CK_FUNCTION_LIST_3_0_PTR;
typedef CK_FUNCTION_LIST_3_0_PTR *CK_FUNCTION_LIST_3_0_PTR_PTR;

typedef CK_RV (*CK_C_GetInterfaceList)(CK_INTERFACE_PTR pInterfacesList,
				       CK_ULONG_PTR pulCount);
typedef CK_RV (*CK_C_GetInterface)(CK_UTF8CHAR_PTR pInterfaceName,
				   CK_VERSION_PTR pVersion,
				   CK_INTERFACE_PTR_PTR ppInterface,
				   CK_FLAGS flags);
typedef CK_RV (*CK_C_LoginUser)(CK_SESSION_HANDLE hSession,
				CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
				CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
				CK_ULONG ulUsernameLen);
typedef CK_RV (*CK_C_SessionCancel)(CK_SESSION_HANDLE hSession,
				    CK_FLAGS flags);
typedef CK_RV (*CK_C_MessageEncryptInit)(CK_SESSION_HANDLE hSession,
					 CK_MECHANISM_PTR pMechanism,
					 CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_EncryptMessage)(CK_SESSION_HANDLE hSession,
				     CK_VOID_PTR pParameter,
				     CK_ULONG ulParameterLen,
				     CK_BYTE_PTR pAssociatedData,
				     CK_ULONG ulAssociatedDataLen,
				     CK_BYTE_PTR pPlaintext,
				     CK_ULONG ulPlaintextLen,
				     CK_BYTE_PTR pCiphertext,
				     CK_ULONG_PTR pulCiphertextLen);
typedef CK_RV (*CK_C_EncryptMessageBegin)(CK_SESSION_HANDLE hSession,
					  CK_VOID_PTR pParameter,
					  CK_ULONG ulParameterLen,
					  CK_BYTE_PTR pAssociatedData,
					  CK_ULONG ulAssociatedDataLen);
typedef CK_RV (*CK_C_EncryptMessageNext)(CK_SESSION_HANDLE hSession,
					 CK_VOID_PTR pParameter,
					 CK_ULONG ulParameterLen,
					 CK_BYTE_PTR pPlaintextPart,
					 CK_ULONG ulPlaintextPartLen,
					 CK_BYTE_PTR pCiphertextPart,
					 CK_ULONG_PTR pulCiphertextPartLen,
					 CK_FLAGS flags);
typedef CK_RV (*CK_C_MessageEncryptFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_MessageDecryptInit)(CK_SESSION_HANDLE hSession,
					 CK_MECHANISM_PTR pMechanism,
					 CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_DecryptMessage)(CK_SESSION_HANDLE hSession,
				     CK_VOID_PTR pParameter,
				     CK_ULONG ulParameterLen,
				     CK_BYTE_PTR pAssociatedData,
				     CK_ULONG ulAssociatedDataLen,
				     CK_BYTE_PTR pCiphertext,
				     CK_ULONG ulCiphertextLen,
				     CK_BYTE_PTR pPlaintext,
				     CK_ULONG_PTR pulPlaintextLen);
typedef CK_RV (*CK_C_DecryptMessageBegin)(CK_SESSION_HANDLE hSession,
					  CK_VOID_PTR pParameter,
					  CK_ULONG ulParameterLen,
					  CK_BYTE_PTR pAssociatedData,
					  CK_ULONG ulAssociatedDataLen);
typedef CK_RV (*CK_C_DecryptMessageNext)(CK_SESSION_HANDLE hSession,
					 CK_VOID_PTR pParameter,
					 CK_ULONG ulParameterLen,
					 CK_BYTE_PTR pCiphertextPart,
					 CK_ULONG ulCiphertextPartLen,
					 CK_BYTE_PTR pPlaintextPart,
					 CK_ULONG_PTR pulPlaintextPartLen,
					 CK_FLAGS flags);
typedef CK_RV (*CK_C_MessageDecryptFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_MessageSignInit)(CK_SESSION_HANDLE hSession,
				      CK_MECHANISM_PTR pMechanism,
				      CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_SignMessage)(CK_SESSION_HANDLE hSession,
				  CK_VOID_PTR pParameter,
				  CK_ULONG ulParameterLen, CK_BYTE_PTR pData,
				  CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
				  CK_ULONG_PTR pulSignatureLen);
typedef CK_RV (*CK_C_SignMessageBegin)(CK_SESSION_HANDLE hSession,
				       CK_VOID_PTR pParameter,
				       CK_ULONG ulParameterLen);
typedef CK_RV (*CK_C_SignMessageNext)(CK_SESSION_HANDLE hSession,
				      CK_VOID_PTR pParameter,
				      CK_ULONG ulParameterLen,
				      CK_BYTE_PTR pData, CK_ULONG ulDataLen,
				      CK_BYTE_PTR pSignature,
				      CK_ULONG_PTR pulSignatureLen);
typedef CK_RV (*CK_C_MessageSignFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_MessageVerifyInit)(CK_SESSION_HANDLE hSession,
					CK_MECHANISM_PTR pMechanism,
					CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_VerifyMessage)(CK_SESSION_HANDLE hSession,
				    CK_VOID_PTR pParameter,
				    CK_ULONG ulParameterLen, CK_BYTE_PTR pData,
				    CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
				    CK_ULONG ulSignatureLen);
typedef CK_RV (*CK_C_VerifyMessageBegin)(CK_SESSION_HANDLE hSession,
					 CK_VOID_PTR pParameter,
					 CK_ULONG ulParameterLen);
typedef CK_RV (*CK_C_VerifyMessageNext)(CK_SESSION_HANDLE hSession,
					CK_VOID_PTR pParameter,
					CK_ULONG ulParameterLen,
					CK_BYTE_PTR pData, CK_ULONG ulDataLen,
					CK_BYTE_PTR pSignature,
					CK_ULONG ulSignatureLen);
typedef CK_RV (*CK_C_MessageVerifyFinal)(CK_SESSION_HANDLE hSession);

struct CK_FUNCTION_LIST_3_0 {
	CK_VERSION version;
	CK_C_Initialize C_Initialize;
	CK_C_Finalize C_Finalize;
	CK_C_GetInfo C_GetInfo;
	CK_C_GetFunctionList C_GetFunctionList;
	CK_C_GetSlotList C_GetSlotList;
	CK_C_GetSlotInfo C_GetSlotInfo;
	CK_C_GetTokenInfo C_GetTokenInfo;
	CK_C_GetMechanismList C_GetMechanismList;
	CK_C_GetMechanismInfo C_GetMechanismInfo;
	CK_C_InitToken C_InitToken;
	CK_C_InitPIN C_InitPIN;
	CK_C_SetPIN C_SetPIN;
	CK_C_OpenSession C_OpenSession;
	CK_C_CloseSession C_CloseSession;
	CK_C_CloseAllSessions C_CloseAllSessions;
	CK_C_GetSessionInfo C_GetSessionInfo;
	CK_C_GetOperationState C_GetOperationState;
	CK_C_SetOperationState C_SetOperationState;
	CK_C_Login C_Login;
	CK_C_Logout C_Logout;
	CK_C_CreateObject C_CreateObject;
	CK_C_CopyObject C_CopyObject;
	CK_C_DestroyObject C_DestroyObject;
	CK_C_GetObjectSize C_GetObjectSize;
	CK_C_GetAttributeValue C_GetAttributeValue;
	CK_C_SetAttributeValue C_SetAttributeValue;
	CK_C_FindObjectsInit C_FindObjectsInit;
	CK_C_FindObjects C_FindObjects;
	CK_C_FindObjectsFinal C_FindObjectsFinal;
	CK_C_EncryptInit C_EncryptInit;
	CK_C_Encrypt C_Encrypt;
	CK_C_EncryptUpdate C_EncryptUpdate;
	CK_C_EncryptFinal C_EncryptFinal;
	CK_C_DecryptInit C_DecryptInit;
	CK_C_Decrypt C_Decrypt;
	CK_C_DecryptUpdate C_DecryptUpdate;
	CK_C_DecryptFinal C_DecryptFinal;
	CK_C_DigestInit C_DigestInit;
	CK_C_Digest C_Digest;
	CK_C_DigestUpdate C_DigestUpdate;
	CK_C_DigestKey C_DigestKey;
	CK_C_DigestFinal C_DigestFinal;
	CK_C_SignInit C_SignInit;
	CK_C_Sign C_Sign;
	CK_C_SignUpdate C_SignUpdate;
	CK_C_SignFinal C_SignFinal;
	CK_C_SignRecoverInit C_SignRecoverInit;
	CK_C_SignRecover C_SignRecover;
	CK_C_VerifyInit C_VerifyInit;
	CK_C_Verify C_Verify;
	CK_C_VerifyUpdate C_VerifyUpdate;
	CK_C_VerifyFinal C_VerifyFinal;
	CK_C_VerifyRecoverInit C_VerifyRecoverInit;
	CK_C_VerifyRecover C_VerifyRecover;
	CK_C_DigestEncryptUpdate C_DigestEncryptUpdate;
	CK_C_DecryptDigestUpdate C_DecryptDigestUpdate;
	CK_C_SignEncryptUpdate C_SignEncryptUpdate;
	CK_C_DecryptVerifyUpdate C_DecryptVerifyUpdate;
	CK_C_GenerateKey C_GenerateKey;
	CK_C_GenerateKeyPair C_GenerateKeyPair;
	CK_C_WrapKey C_WrapKey;
	CK_C_UnwrapKey C_UnwrapKey;
	CK_C_DeriveKey C_DeriveKey;
	CK_C_SeedRandom C_SeedRandom;
	CK_C_GenerateRandom C_GenerateRandom;
	CK_C_GetFunctionStatus C_GetFunctionStatus;
	CK_C_CancelFunction C_CancelFunction;
	CK_C_WaitForSlotEvent C_WaitForSlotEvent;
	/* PKCS#11 3.0 additions */
	CK_C_GetInterfaceList C_GetInterfaceList;
	CK_C_GetInterface C_GetInterface;
	CK_C_LoginUser C_LoginUser;
	CK_C_SessionCancel C_SessionCancel;
	CK_C_MessageEncryptInit C_MessageEncryptInit;
	CK_C_EncryptMessage C_EncryptMessage;
	CK_C_EncryptMessageBegin C_EncryptMessageBegin;
	CK_C_EncryptMessageNext C_EncryptMessageNext;
	CK_C_MessageEncryptFinal C_MessageEncryptFinal;
	CK_C_MessageDecryptInit C_MessageDecryptInit;
	CK_C_DecryptMessage C_DecryptMessage;
	CK_C_DecryptMessageBegin C_DecryptMessageBegin;
	CK_C_DecryptMessageNext C_DecryptMessageNext;
	CK_C_MessageDecryptFinal C_MessageDecryptFinal;
	CK_C_MessageSignInit C_MessageSignInit;
	CK_C_SignMessage C_SignMessage;
	CK_C_SignMessageBegin C_SignMessageBegin;
	CK_C_SignMessageNext C_SignMessageNext;
	CK_C_MessageSignFinal C_MessageSignFinal;
	CK_C_MessageVerifyInit C_MessageVerifyInit;
	CK_C_VerifyMessage C_VerifyMessage;
	CK_C_VerifyMessageBegin C_VerifyMessageBegin;
	CK_C_VerifyMessageNext C_VerifyMessageNext;
	CK_C_MessageVerifyFinal C_MessageVerifyFinal;
};
#endif /* CRYPTOKI_VERSION_MAJOR < 3 */

#ifdef __cplusplus
}
#endif

#endif /* EFIRMA_PKCS11_H */
