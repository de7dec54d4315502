/*
 * result.h - the module's internal results: conditions it names for
 * itself, in the same CK_RV as the codes of pkcs11.h, and the one place
 * that turns each into the code a caller sees.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A borrowed CKR would hide what the code means (CKR_FUNCTION_FAILED for
 * "another thread holds this operation", CKR_KEY_HANDLE_INVALID for "this
 * key belongs to another certificate"), and a caller of the function that
 * produced it could not tell the condition from a real CKR_ of the same
 * value.  The values sit in the vendor-defined range, which the module
 * never returns, and never leave it: ef_rv_public maps them at the two
 * borders, the C_* functions' exit (EF_RETURN, entry.h) and the crypto
 * layer's (crypto.h documents only CKR_ values).
 */
#ifndef EF_RESULT_H
#define EF_RESULT_H

#include <stdbool.h>
#include "efirma-pkcs11.h"

#define EF_R_BASE ((CK_RV)(CKR_VENDOR_DEFINED | 0x0ef00000UL))

/* Another thread is inside this operation of the session (it took the
 * operation out to work on it without the lock, session.h). */
#define EF_R_OP_BUSY ((CK_RV)(EF_R_BASE + 1))
/* The key opens, but it belongs to another certificate: among a folder's
 * unclaimed keys that is expected, for a bundle's named key a mistake;
 * token.c decides what it means for the login. */
#define EF_R_KEY_OF_OTHER_CERT ((CK_RV)(EF_R_BASE + 2))
/* The bytes are not a private key.  After decrypting them with the
 * password, that means the password was wrong (garbage with a valid
 * padding). */
#define EF_R_NOT_A_KEY ((CK_RV)(EF_R_BASE + 3))

#define EF_R_LAST EF_R_NOT_A_KEY

static inline bool ef_rv_internal(CK_RV rv)
{
	return rv > EF_R_BASE && rv <= EF_R_LAST;
}

/* The code a caller outside the module gets for rv: rv itself unless it
 * is an internal result. */
static inline CK_RV ef_rv_public(CK_RV rv)
{
	switch (rv) {
	case EF_R_OP_BUSY:
		/* Two threads cannot share one operation: the second
		 * gets the generic failure, "could not be performed". */
		return CKR_FUNCTION_FAILED;
	case EF_R_KEY_OF_OTHER_CERT:
		/* A broken bundle; token.c answers the login itself. */
		return CKR_DEVICE_ERROR;
	case EF_R_NOT_A_KEY:
		return CKR_DATA_INVALID;
	default:
		return ef_rv_internal(rv) ? CKR_GENERAL_ERROR : rv;
	}
}

#endif
