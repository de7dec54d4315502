/*
 * mech.h - the mechanisms the token offers and the checks on their
 * parameters.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_MECH_H
#define EF_MECH_H

#include <stdbool.h>
#include "efirma-pkcs11.h"
#include "crypto.h"

/* The smallest and largest RSA keys the implementation handles, reported in
 * CK_MECHANISM_INFO: a SAT key is 2048 bits; CA keys are 4096. */
#define EF_RSA_MIN_BITS 1024UL
#define EF_RSA_MAX_BITS 16384UL

enum ef_op_kind { EF_OP_SIGN, EF_OP_VERIFY, EF_OP_ENCRYPT, EF_OP_DECRYPT,
		  EF_OP_DIGEST, EF_OP_KINDS };

struct ef_mech {
	CK_MECHANISM_TYPE type;
	CK_FLAGS flags;        /* CKF_SIGN, CKF_DECRYPT, ... as offered */
	enum ef_pad pad;
	enum ef_hash hash;     /* hash-and-sign and digest mechanisms: the hash */
	bool raw_input;        /* sign/verify input is given as is (no hashing here) */
};

/* NULL when the mechanism is not offered at all. */
const struct ef_mech *ef_mech_find(CK_MECHANISM_TYPE type);

/* CKM_RSA_PKCS decryption: off unless the configuration turns it on
 * (allow-pkcs1-decrypt).  Called by C_Initialize, under the global lock. */
void ef_mech_allow_pkcs1_decrypt(bool allow);

/* The flags the mechanism has on a token; 0 when the token does not offer
 * it.  can_encrypt: the certificate's keyUsage allows encipherment
 * (e.firma). */
CK_FLAGS ef_mech_flags(const struct ef_mech *m, bool can_encrypt);

/* Fills the list per the PKCS#11 two-call convention. */
CK_RV ef_mech_list(bool can_encrypt, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV ef_mech_info(CK_MECHANISM_TYPE type, bool can_encrypt, CK_MECHANISM_INFO_PTR info);

/* Checks pMechanism for an operation with a key of key_bytes and derives the
 * crypto parameters.  The OAEP label is copied into *label_copy (malloc'd,
 * caller frees); p->label points into it.  CKR_MECHANISM_INVALID when the
 * mechanism cannot do this operation, CKR_MECHANISM_PARAM_INVALID for bad
 * parameters. */
CK_RV ef_mech_params(const CK_MECHANISM *mechanism, const struct ef_mech *m,
		     enum ef_op_kind op, size_t key_bytes,
		     struct ef_rsa_params *p, unsigned char **label_copy);

/* CKM_SHA256 -> EF_HASH_SHA256 ...; EF_HASH_NONE for anything else. */
enum ef_hash ef_mech_hash_of(CK_MECHANISM_TYPE digest_mech);

#endif
