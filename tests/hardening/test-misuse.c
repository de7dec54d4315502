/*
 * test-misuse.c - API misuse answered with the spec's return code, never
 * a crash: NULL pointers, invalid and stale handles, calls in the wrong
 * state, mechanism parameters of the wrong size, wrong hash/MGF
 * combinations, every output buffer size from 0 to the right one, calls
 * after C_Finalize, double C_Initialize, a pReserved that is no string.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tests/api checks the normal answers and a first layer of these; this
 * file goes through the whole function list systematically.  Signatures
 * that succeed after a too-small buffer are verified by OpenSSL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/api-util.h"
#include "tap.h"

static struct api_bundle fiel;
static EVP_PKEY *pub;
static const unsigned char msg[] = "mensaje para firmar";
#define MSGLEN (sizeof(msg) - 1)

/* --------------------------------------------------- NULL pointers */

static void test_nulls(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv,
		       CK_OBJECT_HANDLE cert)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_ULONG n = 0;
	CK_BYTE buf[512];
	CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };

	tap_diag("---- NULL pointers");
#define BAD(call, what) is_ul(call, CKR_ARGUMENTS_BAD, what " -> CKR_ARGUMENTS_BAD")
	BAD(P->C_GetInfo(NULL), "C_GetInfo(NULL)");
	BAD(P->C_GetSlotList(CK_TRUE, NULL, NULL), "C_GetSlotList(count NULL)");
	BAD(P->C_GetSlotInfo(slot, NULL), "C_GetSlotInfo(NULL)");
	BAD(P->C_GetTokenInfo(slot, NULL), "C_GetTokenInfo(NULL)");
	BAD(P->C_GetMechanismList(slot, NULL, NULL), "C_GetMechanismList(count NULL)");
	BAD(P->C_GetMechanismInfo(slot, CKM_RSA_PKCS, NULL), "C_GetMechanismInfo(NULL)");
	BAD(P->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), "C_OpenSession(handle NULL)");
	BAD(P->C_GetSessionInfo(s, NULL), "C_GetSessionInfo(NULL)");
	BAD(P->C_Login(s, CKU_USER, NULL, 9), "C_Login(PIN NULL, length 9)");
	BAD(P->C_SetPIN(s, NULL, 9, (CK_UTF8CHAR_PTR)"12345678b", 9), "C_SetPIN(old NULL, length 9)");
	BAD(P->C_FindObjectsInit(s, NULL, 1), "C_FindObjectsInit(template NULL, count 1)");
	is_ul(P->C_FindObjectsInit(s, NULL, 0), CKR_OK, "C_FindObjectsInit(NULL, 0): everything");
	BAD(P->C_FindObjects(s, NULL, 1, &n), "C_FindObjects(handles NULL, max 1)");
	BAD(P->C_FindObjects(s, (CK_OBJECT_HANDLE_PTR)buf, 1, NULL),
	    "C_FindObjects(count NULL)");
	is_ul(P->C_FindObjectsFinal(s), CKR_OK, "C_FindObjectsFinal");
	BAD(P->C_GetAttributeValue(s, cert, NULL, 1), "C_GetAttributeValue(template NULL, count 1)");
	is_ul(P->C_GetAttributeValue(s, cert, &a, 1), CKR_OK, "C_GetAttributeValue(value NULL): length");
	BAD(P->C_GetObjectSize(s, cert, NULL), "C_GetObjectSize(NULL)");
	BAD(P->C_SignInit(s, NULL, priv), "C_SignInit(mechanism NULL)");
	BAD(P->C_VerifyInit(s, NULL, priv), "C_VerifyInit(mechanism NULL)");
	BAD(P->C_DigestInit(s, NULL), "C_DigestInit(mechanism NULL)");
	BAD(P->C_DecryptInit(s, NULL, priv), "C_DecryptInit(mechanism NULL)");
	BAD(P->C_EncryptInit(s, NULL, priv), "C_EncryptInit(mechanism NULL)");
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit");
	BAD(P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, NULL), "C_Sign(length NULL)");
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit again (the error ended it)");
	BAD(P->C_Sign(s, NULL, 5, buf, &n), "C_Sign(data NULL, length 5)");
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit again");
	BAD(P->C_SignUpdate(s, NULL, 5), "C_SignUpdate(NULL, 5)");
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit again");
	BAD(P->C_SignFinal(s, buf, NULL), "C_SignFinal(length NULL)");
	is_ul(P->C_DigestInit(s, &(CK_MECHANISM){ CKM_SHA256, NULL, 0 }), CKR_OK, "C_DigestInit");
	BAD(P->C_Digest(s, (CK_BYTE_PTR)msg, MSGLEN, buf, NULL), "C_Digest(length NULL)");
	is_ul(P->C_VerifyInit(s, &m, api_one(s, CKO_PUBLIC_KEY)), CKR_OK,
	      "C_VerifyInit");
	BAD(P->C_Verify(s, (CK_BYTE_PTR)msg, MSGLEN, NULL, 256), "C_Verify(signature NULL)");
	BAD(P->C_GenerateRandom(s, NULL, 16), "C_GenerateRandom(NULL, 16)");
	BAD(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, (void *)buf), "C_WaitForSlotEvent(pReserved)");
	BAD(P->C_Finalize((void *)buf), "C_Finalize(pReserved non-NULL)");
	BAD(P->C_GetFunctionList(NULL), "C_GetFunctionList(NULL)");
	BAD(api_get_interface_list(NULL, NULL), "C_GetInterfaceList(count NULL)");
	BAD(api_get_interface(NULL, NULL, NULL, 0), "C_GetInterface(NULL)");
#undef BAD
}

/* ----------------------------------------------------- bad handles */

static void test_handles(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv)
{
	CK_SESSION_HANDLE stale;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_BYTE buf[512];
	CK_ULONG n = sizeof buf;
	CK_SESSION_INFO si;
	CK_ATTRIBUTE a = { CKA_CLASS, buf, sizeof(CK_ULONG) };

	tap_diag("---- invalid and stale handles");
	if (!is_ul(api_open(slot, false, &stale), CKR_OK, "a session to close") ||
	    !is_ul(P->C_CloseSession(stale), CKR_OK, "closed: its handle is now stale"))
		return;
	const CK_SESSION_HANDLE bad[] = { 0, stale, 0xdeadbeef, (CK_SESSION_HANDLE)-1 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CK_SESSION_HANDLE h = bad[i];
		int wrong = 0;
		const char *first = NULL;
#define SH(call) do { CK_RV r_ = (call); if (r_ != CKR_SESSION_HANDLE_INVALID && !wrong++) first = #call; } while (0)
		SH(P->C_GetSessionInfo(h, &si));
		SH(P->C_CloseSession(h));
		SH(P->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)API_PIN, 9));
		SH(P->C_Logout(h));
		SH(P->C_SetPIN(h, (CK_UTF8CHAR_PTR)API_PIN, 9, (CK_UTF8CHAR_PTR)API_PIN, 9));
		SH(P->C_InitPIN(h, (CK_UTF8CHAR_PTR)API_PIN, 9));
		SH(P->C_FindObjectsInit(h, NULL, 0));
		SH(P->C_FindObjects(h, (CK_OBJECT_HANDLE_PTR)buf, 1, &n));
		SH(P->C_FindObjectsFinal(h));
		SH(P->C_GetAttributeValue(h, priv, &a, 1));
		SH(P->C_GetObjectSize(h, priv, &n));
		SH(P->C_SetAttributeValue(h, priv, &a, 1));
		SH(P->C_CopyObject(h, priv, &a, 1, &n));
		SH(P->C_DestroyObject(h, priv));
		SH(P->C_CreateObject(h, &a, 1, &n));
		SH(P->C_SignInit(h, &m, priv));
		SH(P->C_Sign(h, (CK_BYTE_PTR)msg, MSGLEN, buf, &n));
		SH(P->C_SignUpdate(h, (CK_BYTE_PTR)msg, MSGLEN));
		SH(P->C_SignFinal(h, buf, &n));
		SH(P->C_VerifyInit(h, &m, priv));
		SH(P->C_Verify(h, (CK_BYTE_PTR)msg, MSGLEN, buf, 256));
		SH(P->C_VerifyFinal(h, buf, 256));
		SH(P->C_DecryptInit(h, &m, priv));
		SH(P->C_Decrypt(h, buf, 256, buf, &n));
		SH(P->C_EncryptInit(h, &m, priv));
		SH(P->C_Encrypt(h, buf, 16, buf, &n));
		SH(P->C_DigestInit(h, &m));
		SH(P->C_Digest(h, buf, 16, buf, &n));
		SH(P->C_DigestKey(h, priv));
		SH(P->C_GenerateRandom(h, buf, 16));
		SH(P->C_SeedRandom(h, buf, 16));
		SH(P->C_WrapKey(h, &m, priv, priv, buf, &n));
		SH(P->C_GetOperationState(h, buf, &n));
		if (P3)
			SH(P3->C_SessionCancel(h, CKF_SIGN));
#undef SH
		ok(!wrong, "session handle 0x%lx: 34 calls -> CKR_SESSION_HANDLE_INVALID%s%s", h,
		   wrong ? "; first wrong: " : "", wrong ? first : "");
	}
	/* Slot IDs. */
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO sli;
	CK_MECHANISM_INFO mi;
	const CK_SLOT_ID bad_slots[] = { 0, 1, slot + 1000, (CK_SLOT_ID)-1 };
	for (size_t i = 0; i < 4; i++) {
		CK_SLOT_ID id = bad_slots[i];
		CK_SESSION_HANDLE h;
		ok(P->C_GetSlotInfo(id, &sli) == CKR_SLOT_ID_INVALID &&
		   P->C_GetTokenInfo(id, &ti) == CKR_SLOT_ID_INVALID &&
		   P->C_GetMechanismList(id, NULL, &n) == CKR_SLOT_ID_INVALID &&
		   P->C_GetMechanismInfo(id, CKM_RSA_PKCS, &mi) == CKR_SLOT_ID_INVALID &&
		   P->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &h) == CKR_SLOT_ID_INVALID &&
		   P->C_CloseAllSessions(id) == CKR_SLOT_ID_INVALID &&
		   P->C_InitToken(id, (CK_UTF8CHAR_PTR)API_PIN, 9, buf) == CKR_SLOT_ID_INVALID,
		   "slot ID 0x%lx: 7 calls -> CKR_SLOT_ID_INVALID", id);
	}
	/* Object handles: made up, of another slot, the private key before
	 * login (a stale handle after logout). */
	CK_ULONG bad_objs[] = { 0, 0xdeadbeef, priv + 100, (priv & 0xffff) | (0x7fffUL << 16) };
	for (size_t i = 0; i < 4; i++) {
		CK_OBJECT_HANDLE o = bad_objs[i];
		ok(P->C_GetAttributeValue(s, o, &a, 1) == CKR_OBJECT_HANDLE_INVALID &&
		   P->C_GetObjectSize(s, o, &n) == CKR_OBJECT_HANDLE_INVALID &&
		   P->C_SetAttributeValue(s, o, &a, 1) == CKR_OBJECT_HANDLE_INVALID &&
		   P->C_DestroyObject(s, o) == CKR_OBJECT_HANDLE_INVALID &&
		   P->C_SignInit(s, &m, o) == CKR_KEY_HANDLE_INVALID &&
		   P->C_VerifyInit(s, &m, o) == CKR_KEY_HANDLE_INVALID,
		   "object handle 0x%lx: attributes -> CKR_OBJECT_HANDLE_INVALID, "
		   "keys -> CKR_KEY_HANDLE_INVALID", o);
	}
	/* The certificate as a key. */
	CK_OBJECT_HANDLE cert = api_leaf_cert(s);
	is_ul(P->C_SignInit(s, &m, cert), CKR_KEY_HANDLE_INVALID,
	      "C_SignInit with the certificate's handle -> CKR_KEY_HANDLE_INVALID");
}

/* ----------------------------------------------------- wrong state */

static void test_state(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pubk)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_MECHANISM raw = { CKM_RSA_PKCS, NULL, 0 };
	CK_BYTE buf[512];
	CK_ULONG n = sizeof buf;

	tap_diag("---- operations in the wrong state");
	is_ul(P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &n), CKR_OPERATION_NOT_INITIALIZED,
	      "C_Sign without C_SignInit");
	is_ul(P->C_SignUpdate(s, (CK_BYTE_PTR)msg, MSGLEN), CKR_OPERATION_NOT_INITIALIZED,
	      "C_SignUpdate without C_SignInit");
	is_ul(P->C_SignFinal(s, buf, &n), CKR_OPERATION_NOT_INITIALIZED, "C_SignFinal without C_SignInit");
	is_ul(P->C_Verify(s, (CK_BYTE_PTR)msg, MSGLEN, buf, 256), CKR_OPERATION_NOT_INITIALIZED,
	      "C_Verify without C_VerifyInit");
	is_ul(P->C_VerifyFinal(s, buf, 256), CKR_OPERATION_NOT_INITIALIZED, "C_VerifyFinal without init");
	is_ul(P->C_Decrypt(s, buf, 256, buf, &n), CKR_OPERATION_NOT_INITIALIZED, "C_Decrypt without init");
	is_ul(P->C_Encrypt(s, buf, 16, buf, &n), CKR_OPERATION_NOT_INITIALIZED, "C_Encrypt without init");
	is_ul(P->C_Digest(s, buf, 16, buf, &n), CKR_OPERATION_NOT_INITIALIZED, "C_Digest without init");
	is_ul(P->C_DigestFinal(s, buf, &n), CKR_OPERATION_NOT_INITIALIZED, "C_DigestFinal without init");
	is_ul(P->C_DigestKey(s, priv), CKR_OPERATION_NOT_INITIALIZED, "C_DigestKey without init");
	is_ul(P->C_FindObjects(s, (CK_OBJECT_HANDLE_PTR)buf, 1, &n), CKR_OPERATION_NOT_INITIALIZED,
	      "C_FindObjects without init");
	is_ul(P->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED, "C_FindObjectsFinal without init");
	is_ul(P->C_FindObjectsInit(s, NULL, 0), CKR_OK, "C_FindObjectsInit");
	is_ul(P->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE, "C_FindObjectsInit twice");
	is_ul(P->C_FindObjectsFinal(s), CKR_OK, "C_FindObjectsFinal");
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit");
	is_ul(P->C_SignInit(s, &m, priv), CKR_OPERATION_ACTIVE, "C_SignInit twice -> CKR_OPERATION_ACTIVE");
	is_ul(P->C_SignUpdate(s, (CK_BYTE_PTR)msg, 4), CKR_OK, "C_SignUpdate");
	n = sizeof buf;
	is_ul(P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &n), CKR_OPERATION_ACTIVE,
	      "C_Sign after C_SignUpdate -> CKR_OPERATION_ACTIVE");
	is_ul(P->C_SignUpdate(s, (CK_BYTE_PTR)msg, 4), CKR_OPERATION_NOT_INITIALIZED,
	      "... which ended the operation");
	is_ul(P->C_SignInit(s, &raw, priv), CKR_OK, "C_SignInit(CKM_RSA_PKCS)");
	is_ul(P->C_SignUpdate(s, (CK_BYTE_PTR)msg, 4), CKR_FUNCTION_NOT_SUPPORTED,
	      "C_SignUpdate with raw RSA (single-part only)");
	is_ul(P->C_VerifyInit(s, &m, priv), CKR_KEY_FUNCTION_NOT_PERMITTED,
	      "C_VerifyInit with the private key -> CKR_KEY_FUNCTION_NOT_PERMITTED");
	is_ul(P->C_SignInit(s, &m, pubk), CKR_KEY_FUNCTION_NOT_PERMITTED,
	      "C_SignInit with the public key -> CKR_KEY_FUNCTION_NOT_PERMITTED");
	is_ul(P->C_DigestInit(s, &m), CKR_MECHANISM_INVALID, "C_DigestInit(CKM_SHA256_RSA_PKCS)");
	is_ul(P->C_SignInit(s, &(CK_MECHANISM){ CKM_SHA256, NULL, 0 }, priv), CKR_MECHANISM_INVALID,
	      "C_SignInit(CKM_SHA256)");
	is_ul(P->C_SignInit(s, &(CK_MECHANISM){ CKM_ECDSA, NULL, 0 }, priv), CKR_MECHANISM_INVALID,
	      "C_SignInit(CKM_ECDSA)");
	/* Functions that have nothing to do on this token. */
	CK_MECHANISM gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE o1, o2;
	is_ul(P->C_GenerateKeyPair(s, &gen, NULL, 0, NULL, 0, &o1, &o2), CKR_FUNCTION_NOT_SUPPORTED,
	      "C_GenerateKeyPair -> CKR_FUNCTION_NOT_SUPPORTED");
	n = sizeof buf;
	is_ul(P->C_WrapKey(s, &raw, pubk, priv, buf, &n), CKR_FUNCTION_NOT_SUPPORTED,
	      "C_WrapKey of the private key -> CKR_FUNCTION_NOT_SUPPORTED");
	is_ul(P->C_SignRecoverInit(s, &raw, priv), CKR_FUNCTION_NOT_SUPPORTED,
	      "C_SignRecoverInit -> CKR_FUNCTION_NOT_SUPPORTED");
}

/* ------------------------------------------------ mechanism parameters */

static void test_params(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv)
{
	CK_RSA_PKCS_PSS_PARAMS pss[2];
	CK_RSA_PKCS_OAEP_PARAMS oaep[2];
	CK_MECHANISM m;
	tap_diag("---- mechanism parameters");
	memset(pss, 0, sizeof pss);
	pss[0] = (CK_RSA_PKCS_PSS_PARAMS){ CKM_SHA256, CKG_MGF1_SHA256, 32 };
	const CK_ULONG sizes[] = { 0, 1, sizeof pss[0] - 1, sizeof pss[0] + 1, 2 * sizeof pss[0] };
	for (size_t i = 0; i < 5; i++) {
		m = (CK_MECHANISM){ CKM_SHA256_RSA_PKCS_PSS, pss, sizes[i] };
		is_ul(P->C_SignInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID,
		      "PSS parameters of %lu bytes -> CKR_MECHANISM_PARAM_INVALID", sizes[i]);
	}
	m = (CK_MECHANISM){ CKM_SHA256_RSA_PKCS_PSS, NULL, sizeof pss[0] };
	is_ul(P->C_SignInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID, "PSS parameters NULL with a length");
	struct { CK_MECHANISM_TYPE mech, hash; CK_RSA_PKCS_MGF_TYPE mgf; CK_ULONG slen; CK_RV want;
		 const char *what; } combos[] = {
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA256, 20, CKR_MECHANISM_PARAM_INVALID,
		  "SHA256-PSS with hashAlg SHA-1" },
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_MD5, CKG_MGF1_SHA256, 16, CKR_MECHANISM_PARAM_INVALID,
		  "SHA256-PSS with hashAlg MD5" },
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, 0x99, 32, CKR_MECHANISM_PARAM_INVALID,
		  "SHA256-PSS with an unknown MGF" },
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA1, 32, CKR_OK,
		  "SHA256-PSS with MGF1-SHA1 (allowed by the spec)" },
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 256 - 32 - 2, CKR_OK,
		  "SHA256-PSS with the largest salt (222)" },
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 256 - 32 - 1,
		  CKR_MECHANISM_PARAM_INVALID, "SHA256-PSS with a salt one too long (223)" },
		{ CKM_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, (CK_ULONG)-1,
		  CKR_MECHANISM_PARAM_INVALID, "PSS with salt length (CK_ULONG)-1" },
		{ CKM_RSA_PKCS_PSS, 0xdead, CKG_MGF1_SHA512, 0, CKR_MECHANISM_PARAM_INVALID,
		  "PSS with an unknown hash" },
	};
	for (size_t i = 0; i < sizeof combos / sizeof combos[0]; i++) {
		pss[0] = (CK_RSA_PKCS_PSS_PARAMS){ combos[i].hash, combos[i].mgf, combos[i].slen };
		m = (CK_MECHANISM){ combos[i].mech, pss, sizeof pss[0] };
		CK_RV rv = P->C_SignInit(s, &m, priv);
		is_ul(rv, combos[i].want, "%s -> %s", combos[i].what, ef_rv_name(combos[i].want));
		if (rv == CKR_OK) {
			unsigned char sig[256], h[32];
			CK_ULONG n = sizeof sig;
			EVP_Digest(msg, MSGLEN, h, NULL, EVP_sha256(), NULL);
			rv = P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, sig, &n);
			ok(rv == CKR_OK && api_verify_pss(pub, EVP_sha256(),
				combos[i].mgf == CKG_MGF1_SHA1 ? EVP_sha1() : EVP_sha256(),
				(int)combos[i].slen, msg, MSGLEN, sig, n),
			   "... the signature verifies with OpenSSL");
		}
	}
	/* OAEP */
	memset(oaep, 0, sizeof oaep);
	oaep[0] = (CK_RSA_PKCS_OAEP_PARAMS){ CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	for (size_t i = 0; i < 5; i++) {
		CK_ULONG sz = i < 2 ? i : i == 2 ? sizeof oaep[0] - 1 : i == 3 ? sizeof oaep[0] + 1 :
			      2 * sizeof oaep[0];
		m = (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, oaep, sz };
		is_ul(P->C_DecryptInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID,
		      "OAEP parameters of %lu bytes -> CKR_MECHANISM_PARAM_INVALID", sz);
	}
	oaep[0].ulSourceDataLen = 8;   /* NULL label with a length */
	m = (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, oaep, sizeof oaep[0] };
	is_ul(P->C_DecryptInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID,
	      "OAEP label NULL with length 8 -> CKR_MECHANISM_PARAM_INVALID");
	oaep[0] = (CK_RSA_PKCS_OAEP_PARAMS){ CKM_SHA256, CKG_MGF1_SHA256, 7, NULL, 0 };
	is_ul(P->C_DecryptInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID,
	      "OAEP with an unknown source -> CKR_MECHANISM_PARAM_INVALID");
	oaep[0] = (CK_RSA_PKCS_OAEP_PARAMS){ CKM_MD5, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	is_ul(P->C_DecryptInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID,
	      "OAEP with hash MD5 -> CKR_MECHANISM_PARAM_INVALID");
	/* Parameters given to mechanisms that take none. */
	m = (CK_MECHANISM){ CKM_SHA256_RSA_PKCS, pss, sizeof pss[0] };
	is_ul(P->C_SignInit(s, &m, priv), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_SHA256_RSA_PKCS with a parameter -> CKR_MECHANISM_PARAM_INVALID");
	m = (CK_MECHANISM){ CKM_SHA256, pss, 4 };
	is_ul(P->C_DigestInit(s, &m), CKR_MECHANISM_PARAM_INVALID,
	      "CKM_SHA256 with a parameter -> CKR_MECHANISM_PARAM_INVALID");
}

/* ------------------------------------------------ output buffer sizes */

static void test_buffers(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pubk,
			 CK_OBJECT_HANDLE cert)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char *buf;
	CK_ULONG n;
	int bad = 0;

	tap_diag("---- every output buffer size from 0 to the right one");
	/* C_Sign: 0..255 are too small and keep the operation; 256 signs. */
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit");
	for (CK_ULONG size = 0; size < 256; size++) {
		buf = malloc(size ? size : 1);
		n = size;
		CK_RV rv = P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &n);
		if (rv != CKR_BUFFER_TOO_SMALL || n != 256)
			bad++;
		free(buf);
	}
	is_ul(bad, 0, "C_Sign with each buffer of 0..255 bytes -> CKR_BUFFER_TOO_SMALL, length 256");
	buf = malloc(256);
	n = 256;
	is_ul(P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &n), CKR_OK, "... then 256 bytes signs");
	ok(api_verify_pkcs1(pub, EVP_sha256(), msg, MSGLEN, buf, n), "... verified by OpenSSL");
	free(buf);

	/* C_SignFinal, the same. */
	bad = 0;
	is_ul(P->C_SignInit(s, &m, priv), CKR_OK, "C_SignInit");
	is_ul(P->C_SignUpdate(s, (CK_BYTE_PTR)msg, MSGLEN), CKR_OK, "C_SignUpdate");
	for (CK_ULONG size = 0; size < 256; size++) {
		buf = malloc(size ? size : 1);
		n = size;
		if (P->C_SignFinal(s, buf, &n) != CKR_BUFFER_TOO_SMALL || n != 256)
			bad++;
		free(buf);
	}
	is_ul(bad, 0, "C_SignFinal with each buffer of 0..255 bytes -> CKR_BUFFER_TOO_SMALL");
	buf = malloc(256);
	n = 256;
	is_ul(P->C_SignFinal(s, buf, &n), CKR_OK, "... then 256 bytes signs");
	ok(api_verify_pkcs1(pub, EVP_sha256(), msg, MSGLEN, buf, n), "... verified by OpenSSL");
	free(buf);

	/* C_Digest: 0..31 then 32. */
	bad = 0;
	CK_MECHANISM dm = { CKM_SHA256, NULL, 0 };
	is_ul(P->C_DigestInit(s, &dm), CKR_OK, "C_DigestInit(SHA-256)");
	for (CK_ULONG size = 0; size < 32; size++) {
		buf = malloc(size ? size : 1);
		n = size;
		if (P->C_Digest(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &n) != CKR_BUFFER_TOO_SMALL || n != 32)
			bad++;
		free(buf);
	}
	is_ul(bad, 0, "C_Digest with each buffer of 0..31 bytes -> CKR_BUFFER_TOO_SMALL, length 32");
	unsigned char h[32], want[32];
	n = 32;
	EVP_Digest(msg, MSGLEN, want, NULL, EVP_sha256(), NULL);
	ok(P->C_Digest(s, (CK_BYTE_PTR)msg, MSGLEN, h, &n) == CKR_OK && n == 32 &&
	   memcmp(h, want, 32) == 0, "... then 32 bytes: the SHA-256 OpenSSL computes");

	/* C_Decrypt: OAEP of 16 bytes, buffers 0..15 too small; the
	 * ciphertext is given again each time. */
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM om = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
	unsigned char ct[256], plain[16];
	api_random(plain, sizeof plain);
	size_t ctlen = api_encrypt(pub, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), EVP_sha256(), NULL, 0,
				   plain, sizeof plain, ct, sizeof ct);
	bad = 0;
	if (is_ul(P->C_DecryptInit(s, &om, priv), CKR_OK, "C_DecryptInit(OAEP)") && ctlen == 256) {
		for (CK_ULONG size = 0; size < 16; size++) {
			buf = malloc(size ? size : 1);
			n = size;
			CK_RV rv = P->C_Decrypt(s, ct, ctlen, buf, &n);
			if (rv != CKR_BUFFER_TOO_SMALL || n < 16)
				bad++;
			free(buf);
		}
		is_ul(bad, 0, "C_Decrypt with each buffer of 0..15 bytes -> CKR_BUFFER_TOO_SMALL");
		unsigned char out[16];
		n = 16;
		ok(P->C_Decrypt(s, ct, ctlen, out, &n) == CKR_OK && n == 16 && !memcmp(out, plain, 16),
		   "... then 16 bytes: the plaintext");
	}
	/* C_Encrypt with the public key: 0..255 then 256. */
	CK_MECHANISM em = { CKM_RSA_PKCS, NULL, 0 };
	bad = 0;
	if (is_ul(P->C_EncryptInit(s, &em, pubk), CKR_OK, "C_EncryptInit(CKM_RSA_PKCS)")) {
		for (CK_ULONG size = 0; size < 256; size++) {
			buf = malloc(size ? size : 1);
			n = size;
			if (P->C_Encrypt(s, plain, 16, buf, &n) != CKR_BUFFER_TOO_SMALL || n != 256)
				bad++;
			free(buf);
		}
		is_ul(bad, 0, "C_Encrypt with each buffer of 0..255 bytes -> CKR_BUFFER_TOO_SMALL");
		n = 256;
		is_ul(P->C_Encrypt(s, plain, 16, ct, &n), CKR_OK, "... then 256 bytes encrypts");
	}

	/* C_GetAttributeValue(CKA_VALUE of the certificate). */
	CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };
	P->C_GetAttributeValue(s, cert, &a, 1);
	CK_ULONG full = a.ulValueLen;
	bad = 0;
	for (CK_ULONG size = 0; size < full; size++) {
		a.pValue = malloc(size ? size : 1);
		a.ulValueLen = size;
		if (P->C_GetAttributeValue(s, cert, &a, 1) != CKR_BUFFER_TOO_SMALL ||
		    a.ulValueLen != CK_UNAVAILABLE_INFORMATION)
			bad++;
		free(a.pValue);
	}
	is_ul(bad, 0, "CKA_VALUE with each buffer of 0..%lu bytes -> CKR_BUFFER_TOO_SMALL + "
	      "CK_UNAVAILABLE_INFORMATION", full - 1);
}

static void test_lists(CK_SLOT_ID slot)
{
	CK_ULONG count = 0, n;
	CK_MECHANISM_TYPE mechs[64];
	int bad = 0;
	P->C_GetMechanismList(slot, NULL, &count);
	for (CK_ULONG size = 0; size < count; size++) {
		n = size;
		if (P->C_GetMechanismList(slot, mechs, &n) != CKR_BUFFER_TOO_SMALL || n != count)
			bad++;
	}
	is_ul(bad, 0, "C_GetMechanismList with 0..%lu entries -> CKR_BUFFER_TOO_SMALL, count %lu",
	      count - 1, count);
	n = count;
	is_ul(P->C_GetMechanismList(slot, mechs, &n), CKR_OK, "... then %lu entries", count);
	CK_INTERFACE ifs[4];
	n = 0;
	is_ul(api_get_interface_list(ifs, &n), CKR_BUFFER_TOO_SMALL,
	      "C_GetInterfaceList with 0 entries -> CKR_BUFFER_TOO_SMALL");
}

/* ------------------------------------------------ after C_Finalize */

static void test_after_finalize(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_BYTE buf[512];
	CK_ULONG n = sizeof buf;
	CK_INFO info;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO ssi;
	CK_SESSION_HANDLE h;
	CK_ATTRIBUTE a = { CKA_CLASS, buf, sizeof(CK_ULONG) };
	int wrong = 0;
	const char *first = NULL;

	tap_diag("---- calls after C_Finalize");
	is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize");
#define NI(call) do { CK_RV r_ = (call); if (r_ != CKR_CRYPTOKI_NOT_INITIALIZED && !wrong++) first = #call; } while (0)
	NI(P->C_Finalize(NULL));
	NI(P->C_GetInfo(&info));
	NI(P->C_GetSlotList(CK_TRUE, NULL, &n));
	NI(P->C_GetSlotInfo(slot, &si));
	NI(P->C_GetTokenInfo(slot, &ti));
	NI(P->C_GetMechanismList(slot, NULL, &n));
	NI(P->C_InitToken(slot, (CK_UTF8CHAR_PTR)API_PIN, 9, buf));
	NI(P->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h));
	NI(P->C_CloseSession(s));
	NI(P->C_CloseAllSessions(slot));
	NI(P->C_GetSessionInfo(s, &ssi));
	NI(P->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)API_PIN, 9));
	NI(P->C_Logout(s));
	NI(P->C_SetPIN(s, (CK_UTF8CHAR_PTR)API_PIN, 9, (CK_UTF8CHAR_PTR)API_PIN, 9));
	NI(P->C_FindObjectsInit(s, NULL, 0));
	NI(P->C_FindObjects(s, (CK_OBJECT_HANDLE_PTR)buf, 1, &n));
	NI(P->C_FindObjectsFinal(s));
	NI(P->C_GetAttributeValue(s, priv, &a, 1));
	NI(P->C_SignInit(s, &m, priv));
	NI(P->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &n));
	NI(P->C_VerifyInit(s, &m, priv));
	NI(P->C_DecryptInit(s, &m, priv));
	NI(P->C_DigestInit(s, &m));
	NI(P->C_GenerateRandom(s, buf, 8));
	NI(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &h, NULL));
	NI(P->C_GetFunctionStatus(s));
	if (P3)
		NI(P3->C_SessionCancel(s, CKF_SIGN));
#undef NI
	ok(!wrong, "27 calls after C_Finalize -> CKR_CRYPTOKI_NOT_INITIALIZED%s%s",
	   wrong ? "; first wrong: " : "", wrong ? first : "");
	CK_FUNCTION_LIST_PTR again = NULL;
	ok(P->C_GetFunctionList(&again) == CKR_OK && again == P,
	   "C_GetFunctionList still works after C_Finalize");
	/* A conformance suite's "non-NULL reserved pointer": not a string. */
	CK_C_INITIALIZE_ARGS bad = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, (CK_VOID_PTR)1 };
	is_ul(P->C_Initialize(&bad), CKR_ARGUMENTS_BAD,
	      "C_Initialize with pReserved = (void *)1 -> CKR_ARGUMENTS_BAD, no crash");
	bad.pReserved = (CK_VOID_PTR)4095;
	is_ul(P->C_Initialize(&bad), CKR_ARGUMENTS_BAD,
	      "C_Initialize with pReserved in the first page -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "... and the module stays uninitialised");
	/* Double C_Initialize. */
	is_ul(api_init_bundle(&fiel), CKR_OK, "C_Initialize again");
	is_ul(api_init_bundle(&fiel), CKR_CRYPTOKI_ALREADY_INITIALIZED,
	      "a second C_Initialize -> CKR_CRYPTOKI_ALREADY_INITIALIZED");
	is_ul(P->C_GetSessionInfo(s, &ssi), CKR_SESSION_HANDLE_INVALID,
	      "a session of the earlier life -> CKR_SESSION_HANDLE_INVALID");
	is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

int main(void)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	api_setup_env();
	if (!ok(api_load() && api_get_interface_list && api_get_interface, "module loads") ||
	    !ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &fiel), "SAT bundle") ||
	    !is_ul(api_init_bundle(&fiel), CKR_OK, "C_Initialize") ||
	    !is_ul(api_first_token_slot(&slot), CKR_OK, "token") ||
	    !is_ul(api_open(slot, true, &s), CKR_OK, "session"))
		return tap_done();
	pub = api_cert_pubkey(fiel.cer);
	CK_OBJECT_HANDLE cert = api_leaf_cert(s), pubk = api_one(s, CKO_PUBLIC_KEY);
	/* The private key's handle before login: stale until C_Login. */
	is_ul(api_login(s, fiel.pin), CKR_OK, "C_Login");
	CK_OBJECT_HANDLE priv = api_one(s, CKO_PRIVATE_KEY);
	is_ul(P->C_Logout(s), CKR_OK, "C_Logout");
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_ATTRIBUTE a = { CKA_CLASS, NULL, 0 };
	/* [PKCS#11 2.40 C_Logout] it stays invalid, even after a new login. */
	is_ul(P->C_SignInit(s, &m, priv), CKR_KEY_HANDLE_INVALID,
	      "the private key's handle after logout: C_SignInit -> CKR_KEY_HANDLE_INVALID");
	is_ul(P->C_GetAttributeValue(s, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID,
	      "... C_GetAttributeValue -> CKR_OBJECT_HANDLE_INVALID");
	is_ul(api_login(s, fiel.pin), CKR_OK, "C_Login");
	priv = api_one(s, CKO_PRIVATE_KEY);

	TAP_PART(test_nulls(slot, s, priv, cert));
	TAP_PART(test_handles(slot, s, priv));
	TAP_PART(test_state(s, priv, pubk));
	TAP_PART(test_params(s, priv));
	TAP_PART(test_buffers(s, priv, pubk, cert));
	TAP_PART(test_lists(slot));
	TAP_PART(test_after_finalize(slot, s, priv));
	EVP_PKEY_free(pub);
	return tap_done();
}
