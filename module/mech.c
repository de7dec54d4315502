/*
 * mech.c - the mechanism table: what the token can do, with honest flags.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mech.h"

#define SV (CKF_SIGN | CKF_VERIFY)
#define ED (CKF_ENCRYPT | CKF_DECRYPT)

/* Order matters only for C_GetMechanismList's output.
 *
 * No CKM_RSA_X_509: raw RSA with the private key answers any block, which
 * makes it a decryption oracle for every padding at once (doc/DESIGN.md §8);
 * its public half (raw verify, textbook encryption) has no use a signer
 * needs, so the mechanism is not offered at all. */
static const struct ef_mech mechs[] = {
	{ CKM_RSA_PKCS,            SV | ED, EF_PAD_PKCS1, EF_HASH_NONE,   true },
	{ CKM_RSA_PKCS_OAEP,       ED,      EF_PAD_OAEP,  EF_HASH_NONE,   true },
	{ CKM_RSA_PKCS_PSS,        SV,      EF_PAD_PSS,   EF_HASH_NONE,   true },
	{ CKM_SHA1_RSA_PKCS,       SV,      EF_PAD_PKCS1, EF_HASH_SHA1,   false },
	{ CKM_SHA224_RSA_PKCS,     SV,      EF_PAD_PKCS1, EF_HASH_SHA224, false },
	{ CKM_SHA256_RSA_PKCS,     SV,      EF_PAD_PKCS1, EF_HASH_SHA256, false },
	{ CKM_SHA384_RSA_PKCS,     SV,      EF_PAD_PKCS1, EF_HASH_SHA384, false },
	{ CKM_SHA512_RSA_PKCS,     SV,      EF_PAD_PKCS1, EF_HASH_SHA512, false },
	{ CKM_SHA1_RSA_PKCS_PSS,   SV,      EF_PAD_PSS,   EF_HASH_SHA1,   false },
	{ CKM_SHA224_RSA_PKCS_PSS, SV,      EF_PAD_PSS,   EF_HASH_SHA224, false },
	{ CKM_SHA256_RSA_PKCS_PSS, SV,      EF_PAD_PSS,   EF_HASH_SHA256, false },
	{ CKM_SHA384_RSA_PKCS_PSS, SV,      EF_PAD_PSS,   EF_HASH_SHA384, false },
	{ CKM_SHA512_RSA_PKCS_PSS, SV,      EF_PAD_PSS,   EF_HASH_SHA512, false },
	{ CKM_SHA_1,               CKF_DIGEST, EF_PAD_NONE, EF_HASH_SHA1,   false },
	{ CKM_SHA224,              CKF_DIGEST, EF_PAD_NONE, EF_HASH_SHA224, false },
	{ CKM_SHA256,              CKF_DIGEST, EF_PAD_NONE, EF_HASH_SHA256, false },
	{ CKM_SHA384,              CKF_DIGEST, EF_PAD_NONE, EF_HASH_SHA384, false },
	{ CKM_SHA512,              CKF_DIGEST, EF_PAD_NONE, EF_HASH_SHA512, false },
};
#define N_MECHS (sizeof(mechs) / sizeof(mechs[0]))

/* Set by C_Initialize from the configuration.  Atomic, so that the
 * mechanism table needs no lock (lock.h): this layer knows nothing of it. */
static atomic_bool pkcs1_decrypt;

void ef_mech_allow_pkcs1_decrypt(bool allow)
{
	atomic_store(&pkcs1_decrypt, allow);
}

const struct ef_mech *ef_mech_find(CK_MECHANISM_TYPE type)
{
	for (size_t i = 0; i < N_MECHS; i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

CK_FLAGS ef_mech_flags(const struct ef_mech *m, bool can_encrypt)
{
	CK_FLAGS flags = m->flags;
	/* A CSD's keyUsage has no encipherment: its token must not advertise
	 * what the certificate forbids. */
	if (!can_encrypt)
		flags &= ~(CKF_ENCRYPT | CKF_DECRYPT);
	/* PKCS#1 v1.5 decryption with OpenSSL 3.0 (no implicit rejection)
	 * tells a valid padding from an invalid one: a Bleichenbacher oracle
	 * that forges signatures with the holder's key.  Encryption, a
	 * public-key operation, leaks nothing and stays. */
	if (m->pad == EF_PAD_PKCS1 && !atomic_load(&pkcs1_decrypt))
		flags &= ~CKF_DECRYPT;
	return flags;
}

CK_RV ef_mech_list(bool can_encrypt, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	CK_ULONG n = 0;
	for (size_t i = 0; i < N_MECHS; i++)
		if (ef_mech_flags(&mechs[i], can_encrypt))
			n++;
	if (!list) {
		*count = n;
		return CKR_OK;
	}
	if (*count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	n = 0;
	for (size_t i = 0; i < N_MECHS; i++)
		if (ef_mech_flags(&mechs[i], can_encrypt))
			list[n++] = mechs[i].type;
	*count = n;
	return CKR_OK;
}

CK_RV ef_mech_info(CK_MECHANISM_TYPE type, bool can_encrypt, CK_MECHANISM_INFO_PTR info)
{
	const struct ef_mech *m = ef_mech_find(type);
	CK_FLAGS flags = m ? ef_mech_flags(m, can_encrypt) : 0;
	if (!flags)
		return EF_FAIL(CKR_MECHANISM_INVALID);
	info->flags = flags;
	if (flags & CKF_DIGEST) {
		info->ulMinKeySize = 0;
		info->ulMaxKeySize = 0;
	} else {
		info->ulMinKeySize = EF_RSA_MIN_BITS;
		info->ulMaxKeySize = EF_RSA_MAX_BITS;
	}
	return CKR_OK;
}

enum ef_hash ef_mech_hash_of(CK_MECHANISM_TYPE digest_mech)
{
	switch (digest_mech) {
	case CKM_SHA_1: return EF_HASH_SHA1;
	case CKM_SHA224: return EF_HASH_SHA224;
	case CKM_SHA256: return EF_HASH_SHA256;
	case CKM_SHA384: return EF_HASH_SHA384;
	case CKM_SHA512: return EF_HASH_SHA512;
	default: return EF_HASH_NONE;
	}
}

static enum ef_hash mgf_hash(CK_RSA_PKCS_MGF_TYPE mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1: return EF_HASH_SHA1;
	case CKG_MGF1_SHA224: return EF_HASH_SHA224;
	case CKG_MGF1_SHA256: return EF_HASH_SHA256;
	case CKG_MGF1_SHA384: return EF_HASH_SHA384;
	case CKG_MGF1_SHA512: return EF_HASH_SHA512;
	default: return EF_HASH_NONE;
	}
}

static bool no_parameter(const CK_MECHANISM *mechanism)
{
	return mechanism->pParameter == NULL && mechanism->ulParameterLen == 0;
}

static CK_FLAGS op_flag(enum ef_op_kind op)
{
	switch (op) {
	case EF_OP_SIGN: return CKF_SIGN;
	case EF_OP_VERIFY: return CKF_VERIFY;
	case EF_OP_ENCRYPT: return CKF_ENCRYPT;
	case EF_OP_DECRYPT: return CKF_DECRYPT;
	default: return CKF_DIGEST;
	}
}

/* The parameter structure of size bytes a mechanism must carry, or NULL. */
static const void *param_struct(const CK_MECHANISM *mechanism, size_t size)
{
	return mechanism->ulParameterLen == size ? mechanism->pParameter : NULL;
}

/* The hash and MGF1 hash both PSS and OAEP parameters name; false when
 * either is not one of the token's. */
static bool hash_and_mgf(CK_MECHANISM_TYPE hash_alg, CK_RSA_PKCS_MGF_TYPE mgf,
			 struct ef_rsa_params *p)
{
	p->hash = ef_mech_hash_of(hash_alg);
	p->mgf1 = mgf_hash(mgf);
	return p->hash != EF_HASH_NONE && p->mgf1 != EF_HASH_NONE;
}

static CK_RV pss_params(const CK_MECHANISM *mechanism, const struct ef_mech *m,
			size_t key_bytes, struct ef_rsa_params *p)
{
	const CK_RSA_PKCS_PSS_PARAMS *pss = param_struct(mechanism, sizeof(*pss));
	if (!pss || !hash_and_mgf(pss->hashAlg, pss->mgf, p))
		return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	/* [PKCS#11 3.0 §2.1.15] For CKM_SHAx_RSA_PKCS_PSS the hashAlg of the
	 * parameters names the hash the mechanism itself applies. */
	if (m->hash != EF_HASH_NONE && m->hash != p->hash)
		return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	/* [RFC 8017 §9.1.1] emLen >= hLen + sLen + 2; emLen is the modulus
	 * size in bytes for every modulus whose bit length is not 1 mod 8. */
	size_t hlen = ef_hash_size(p->hash);
	if (key_bytes < hlen + 2 || pss->sLen > key_bytes - hlen - 2)
		return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	p->salt_len = pss->sLen;
	return CKR_OK;
}

static CK_RV oaep_params(const CK_MECHANISM *mechanism, struct ef_rsa_params *p,
			 unsigned char **label_copy)
{
	const CK_RSA_PKCS_OAEP_PARAMS *oaep = param_struct(mechanism, sizeof(*oaep));
	if (!oaep || !hash_and_mgf(oaep->hashAlg, oaep->mgf, p))
		return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	if (oaep->source == 0) {
		/* Some applications pass source 0 for "no label". */
		if (oaep->ulSourceDataLen != 0)
			return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
		return CKR_OK;
	}
	if (oaep->source != CKZ_DATA_SPECIFIED)
		return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	if (oaep->ulSourceDataLen == 0)
		return CKR_OK;
	if (!oaep->pSourceData)
		return EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	*label_copy = malloc(oaep->ulSourceDataLen);
	if (!*label_copy)
		return EF_FAIL(CKR_HOST_MEMORY);
	memcpy(*label_copy, oaep->pSourceData, oaep->ulSourceDataLen);
	p->label = *label_copy;
	p->label_len = oaep->ulSourceDataLen;
	return CKR_OK;
}

CK_RV ef_mech_params(const CK_MECHANISM *mechanism, const struct ef_mech *m,
		     enum ef_op_kind op, size_t key_bytes,
		     struct ef_rsa_params *p, unsigned char **label_copy)
{
	memset(p, 0, sizeof(*p));
	*label_copy = NULL;
	if (!(m->flags & op_flag(op)))
		return EF_FAIL(CKR_MECHANISM_INVALID);
	p->pad = m->pad;
	p->hash = m->hash;
	switch (m->pad) {
	case EF_PAD_PSS:
		return pss_params(mechanism, m, key_bytes, p);
	case EF_PAD_OAEP:
		return oaep_params(mechanism, p, label_copy);
	default:
		/* [PKCS#11 3.0 §2.1] RSA PKCS #1 v1.5, X.509 and the digests
		 * take no parameter. */
		return no_parameter(mechanism) ? CKR_OK : EF_FAIL(CKR_MECHANISM_PARAM_INVALID);
	}
}
