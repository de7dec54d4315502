/*
 * entry_crypto.c - sign, verify, encrypt, decrypt, digest, random.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each call takes its operation out of the session under the lock and does
 * the RSA or hash work without it (session.h), so sessions signing in
 * parallel scale with the cores.
 *
 * [PKCS#11 3.0 §5.2] A call that produces output ends its operation unless
 * it returns CKR_BUFFER_TOO_SMALL or succeeds as a length query (NULL
 * output buffer); every other error ends it too.
 */
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "mech.h"

static CK_ATTRIBUTE_TYPE permission_of(enum ef_op_kind kind)
{
	switch (kind) {
	case EF_OP_SIGN: return CKA_SIGN;
	case EF_OP_VERIFY: return CKA_VERIFY;
	case EF_OP_ENCRYPT: return CKA_ENCRYPT;
	default: return CKA_DECRYPT;
	}
}

static CK_FLAGS flag_of(enum ef_op_kind kind)
{
	switch (kind) {
	case EF_OP_SIGN: return CKF_SIGN;
	case EF_OP_VERIFY: return CKF_VERIFY;
	case EF_OP_ENCRYPT: return CKF_ENCRYPT;
	case EF_OP_DECRYPT: return CKF_DECRYPT;
	default: return CKF_DIGEST;
	}
}

/* The key an operation of this kind may use, checked against the handle. */
static CK_RV key_for_inlock(const struct ef_token *t, CK_OBJECT_HANDLE h, enum ef_op_kind kind,
			    struct ef_pkey **key)
{
	ef_assert_locked();
	const struct ef_object *o = ef_token_object_inlock(t, h);
	if (!o) {
		if (h == ef_token_handle_inlock(t, EF_OBJ_PRIVKEY) && !ef_token_logged_in_inlock(t))
			return EF_FAIL(CKR_USER_NOT_LOGGED_IN);
		return EF_FAIL(CKR_KEY_HANDLE_INVALID);
	}
	if (o->klass != CKO_PRIVATE_KEY && o->klass != CKO_PUBLIC_KEY)
		return EF_FAIL(CKR_KEY_HANDLE_INVALID);
	/* e.firma keys may decrypt; a CSD's keyUsage forbids it, and its
	 * private key says CKA_DECRYPT = FALSE. */
	if (!ef_object_bool(o, permission_of(kind)))
		return EF_FAIL(CKR_KEY_FUNCTION_NOT_PERMITTED);
	*key = o->klass == CKO_PRIVATE_KEY ? t->key : t->pubkey;
	return *key ? CKR_OK : EF_FAIL(CKR_USER_NOT_LOGGED_IN);
}

/* The trace names the mechanism a client asked for: which form of RSA-PSS
 * NSS signs a TLS 1.3 handshake with, for one, is visible nowhere else
 * (tests/clients/test-firefox.sh reads it). */
static void trace_mechanism(const char *fn, const CK_MECHANISM *m)
{
	if (m && ef_log_trace_enabled())
		ef_log_trace("%s mechanism 0x%08lx", fn, (unsigned long)m->mechanism);
}

static CK_RV op_init_inlock(CK_SESSION_HANDLE hSession, enum ef_op_kind kind,
			    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	struct ef_session *s;
	struct ef_op *op = NULL;
	struct ef_pkey *key = NULL;
	ef_assert_locked();
	CK_RV rv = ef_session_fresh_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	struct ef_token *t = s->token;
	if (!pMechanism) {
		rv = EF_FAIL(CKR_ARGUMENTS_BAD);
		goto out;
	}
	if (ef_session_op_active_inlock(s, kind)) {
		rv = EF_FAIL(CKR_OPERATION_ACTIVE);
		goto out;
	}
	if (kind != EF_OP_DIGEST) {
		rv = key_for_inlock(t, hKey, kind, &key);
		if (rv != CKR_OK)
			goto out;
	}
	/* [PKCS#11 3.0 CKR_MECHANISM_INVALID] "an appropriate return value
	 * for an unknown mechanism or for a mechanism that the specified key
	 * does not support": CKM_RSA_PKCS decryption without
	 * allow-pkcs1-decrypt, for one (mech.c). */
	const struct ef_mech *m = ef_mech_find(pMechanism->mechanism);
	if (!m || !(ef_mech_flags(m, t->can_encrypt) & flag_of(kind))) {
		rv = EF_FAIL(CKR_MECHANISM_INVALID);
		goto out;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		rv = EF_FAIL(CKR_HOST_MEMORY);
		goto out;
	}
	op->kind = kind;
	op->mech = m;
	if (key) {
		op->key = ef_key_ref(key);
		op->key_bytes = ef_key_size(key);
	}
	rv = ef_mech_params(pMechanism, m, kind, op->key_bytes, &op->params, &op->label);
	if (rv != CKR_OK)
		goto out;
	/* Hash-and-sign mechanisms and digests hash as the data arrives. */
	if (!m->raw_input) {
		rv = ef_digest_new(m->hash, &op->digest);
		if (rv != CKR_OK)
			goto out;
	}
	s->ops[kind] = op;
	op = NULL;
out:
	ef_op_free(op);
	return rv;
}

/* C_SignInit, C_VerifyInit, C_EncryptInit, C_DecryptInit, C_DigestInit. */
static CK_RV op_init(CK_SESSION_HANDLE hSession, enum ef_op_kind kind, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hKey)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = op_init_inlock(hSession, kind, pMechanism, hKey);
		ef_unlock();
	}
	return rv;
}

/* The session behind h, with an operation of this kind to take out:
 * CKR_OPERATION_NOT_INITIALIZED when there is none, EF_R_OP_BUSY while
 * another thread has it out. */
static CK_RV session_with_op_inlock(CK_SESSION_HANDLE h, enum ef_op_kind kind,
				   struct ef_session **s)
{
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(h, s);
	if (rv == CKR_OK && !(*s)->ops[kind])
		rv = (*s)->out[kind] ? EF_FAIL(EF_R_OP_BUSY) :
				       EF_FAIL(CKR_OPERATION_NOT_INITIALIZED);
	return rv;
}

static CK_RV begin_input_inlock(CK_SESSION_HANDLE h, enum ef_op_kind kind, bool single,
				const CK_BYTE *in, CK_ULONG in_len, struct ef_op **taken)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = session_with_op_inlock(h, kind, &s);
	if (rv != CKR_OK)
		return rv;
	if (!in && in_len)
		rv = EF_FAIL(CKR_ARGUMENTS_BAD);
	else if (single && s->ops[kind]->multi)
		rv = EF_FAIL(CKR_OPERATION_ACTIVE);
	else
		rv = ef_session_take_op_inlock(s, kind, taken);
	if (rv != CKR_OK)
		ef_session_cancel_inlock(s, kind);
	return rv;
}

/* Takes out the operation for a call that consumes input (an Update, or
 * C_Verify).  single: the call must not follow an Update. */
static CK_RV begin_input(CK_SESSION_HANDLE h, enum ef_op_kind kind, bool single, const CK_BYTE *in,
			 CK_ULONG in_len, struct ef_op **taken)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = begin_input_inlock(h, kind, single, in, in_len, taken);
		ef_unlock();
	}
	return rv;
}

static size_t output_size(const struct ef_op *op)
{
	return op->kind == EF_OP_DIGEST ? ef_hash_size(op->mech->hash) : op->key_bytes;
}

static CK_RV begin_output_inlock(CK_SESSION_HANDLE h, enum ef_op_kind kind, bool single,
				 const CK_BYTE *in, CK_ULONG in_len, CK_BYTE_PTR out,
				 CK_ULONG_PTR out_len, struct ef_op **taken)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = session_with_op_inlock(h, kind, &s);
	if (rv != CKR_OK)
		return rv;
	struct ef_op *op = s->ops[kind];
	if (!out_len || (single && !in && in_len))
		rv = EF_FAIL(CKR_ARGUMENTS_BAD);
	else if (single && op->multi)
		rv = EF_FAIL(CKR_OPERATION_ACTIVE);
	if (rv != CKR_OK) {
		ef_session_cancel_inlock(s, kind);
		return rv;
	}
	size_t need = output_size(op);
	if (!out) {
		*out_len = need;
		return CKR_OK;
	}
	/* A decryption's length is known only once it is done. */
	if (*out_len < need && kind != EF_OP_DECRYPT) {
		*out_len = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	return ef_session_take_op_inlock(s, kind, taken);
}

/* Takes out the operation for a call that writes output and ends it.
 * A length query or a too small buffer is answered here (*taken stays
 * NULL) and leaves the operation active. */
static CK_RV begin_output(CK_SESSION_HANDLE h, enum ef_op_kind kind, bool single, const CK_BYTE *in,
			  CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len,
			  struct ef_op **taken)
{
	*taken = NULL;
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = begin_output_inlock(h, kind, single, in, in_len, out, out_len, taken);
		ef_unlock();
	}
	return rv;
}

/* [PKCS#11 3.0 §2.1.6-2.1.12] The raw RSA mechanisms (PKCS #1 v1.5, X.509,
 * PSS over a hash, OAEP) are single-part only: their input is one block. */
static bool single_part_only(const struct ef_op *op)
{
	return op->mech->raw_input;
}

/* The input to the RSA step: the finished hash, or the caller's block. */
static CK_RV rsa_input(struct ef_op *op, unsigned char *hash, const unsigned char **in,
		       size_t *in_len)
{
	if (!op->digest)
		return CKR_OK;
	*in = hash;
	*in_len = ef_hash_size(op->mech->hash);
	return ef_digest_final(op->digest, hash);
}

/* Ends an operation with its output.  in/in_len: the raw mechanisms'
 * block (hashing operations have already been fed). */
static CK_RV produce(struct ef_op *op, const unsigned char *in, size_t in_len,
		     CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	unsigned char hash[64];
	size_t len = 0;
	CK_RV rv;

	switch (op->kind) {
	case EF_OP_DIGEST:
		rv = ef_digest_final(op->digest, out);
		len = ef_hash_size(op->mech->hash);
		break;
	case EF_OP_SIGN:
		rv = rsa_input(op, hash, &in, &in_len);
		if (rv == CKR_OK)
			rv = ef_rsa_sign(op->key, &op->params, in, in_len, out, &len);
		break;
	case EF_OP_ENCRYPT:
		rv = ef_rsa_encrypt(op->key, &op->params, in, in_len, out, &len);
		break;
	case EF_OP_DECRYPT: {
		unsigned char *plain = malloc(op->key_bytes);
		if (!plain)
			return EF_FAIL(CKR_HOST_MEMORY);
		rv = ef_rsa_decrypt(op->key, &op->params, in, in_len, plain, &len);
		if (rv == CKR_OK && len > *out_len)
			rv = CKR_BUFFER_TOO_SMALL;
		else if (rv == CKR_OK && len)
			memcpy(out, plain, len);
		ef_free_secret(plain, op->key_bytes);
		break;
	}
	default:
		rv = EF_FAIL(CKR_GENERAL_ERROR);
		break;
	}
	if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL)
		*out_len = len;
	return rv;
}

/* C_Sign, C_Encrypt, C_Decrypt, C_Digest. */
static CK_RV single_part(CK_SESSION_HANDLE h, enum ef_op_kind kind, CK_BYTE_PTR in,
			 CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	struct ef_op *op;
	CK_RV rv = begin_output(h, kind, true, in, in_len, out, out_len, &op);
	if (rv != CKR_OK || !op)
		return rv;
	if (op->digest && in_len)
		rv = ef_digest_update(op->digest, in, in_len);
	if (rv == CKR_OK)
		rv = produce(op, in, in_len, out, out_len);
	/* Only a decryption learns late that the buffer is too small; its
	 * input is given again with the next call. */
	ef_session_return_op(h, op, rv == CKR_BUFFER_TOO_SMALL);
	return rv;
}

/* C_SignUpdate, C_VerifyUpdate, C_EncryptUpdate, C_DecryptUpdate,
 * C_DigestUpdate. */
static CK_RV update(CK_SESSION_HANDLE h, enum ef_op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len)
{
	struct ef_op *op;
	CK_RV rv = begin_input(h, kind, false, in, in_len, &op);
	if (rv != CKR_OK)
		return rv;
	if (single_part_only(op))
		rv = EF_FAIL(CKR_FUNCTION_NOT_SUPPORTED);
	else if (in_len)
		rv = ef_digest_update(op->digest, in, in_len);
	op->multi = true;
	ef_session_return_op(h, op, rv == CKR_OK);
	return rv;
}

/* C_SignFinal, C_EncryptFinal, C_DecryptFinal, C_DigestFinal. */
static CK_RV final(CK_SESSION_HANDLE h, enum ef_op_kind kind, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len)
{
	struct ef_op *op;
	CK_RV rv = begin_output(h, kind, false, NULL, 0, out, out_len, &op);
	if (rv != CKR_OK || !op)
		return rv;
	rv = single_part_only(op) ? EF_FAIL(CKR_FUNCTION_NOT_SUPPORTED) :
				    produce(op, NULL, 0, out, out_len);
	ef_session_return_op(h, op, false);
	return rv;
}

static CK_RV check_signature(struct ef_op *op, const unsigned char *in, size_t in_len,
			     const CK_BYTE *sig, CK_ULONG sig_len)
{
	unsigned char hash[64];
	if (!sig)
		return EF_FAIL(CKR_ARGUMENTS_BAD);
	CK_RV rv = rsa_input(op, hash, &in, &in_len);
	if (rv == CKR_OK)
		rv = ef_rsa_verify(op->key, &op->params, in, in_len, sig, sig_len);
	return rv;
}

/* ------------------------------------------------------------- signing */

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	trace_mechanism(__func__, pMechanism);
	EF_RETURN(op_init(hSession, EF_OP_SIGN, pMechanism, hKey));
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	     CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	EF_RETURN(single_part(hSession, EF_OP_SIGN, pData, ulDataLen, pSignature, pulSignatureLen));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	EF_RETURN(update(hSession, EF_OP_SIGN, pPart, ulPartLen));
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	EF_RETURN(final(hSession, EF_OP_SIGN, pSignature, pulSignatureLen));
}

/* ----------------------------------------------------------- verifying */

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	trace_mechanism(__func__, pMechanism);
	EF_RETURN(op_init(hSession, EF_OP_VERIFY, pMechanism, hKey));
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	struct ef_op *op;
	CK_RV rv = begin_input(hSession, EF_OP_VERIFY, true, pData, ulDataLen, &op);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	if (op->digest && ulDataLen)
		rv = ef_digest_update(op->digest, pData, ulDataLen);
	if (rv == CKR_OK)
		rv = check_signature(op, pData, ulDataLen, pSignature, ulSignatureLen);
	ef_session_return_op(hSession, op, false);
	EF_RETURN(rv);
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	EF_RETURN(update(hSession, EF_OP_VERIFY, pPart, ulPartLen));
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	struct ef_op *op;
	CK_RV rv = begin_input(hSession, EF_OP_VERIFY, false, NULL, 0, &op);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	rv = single_part_only(op) ? EF_FAIL(CKR_FUNCTION_NOT_SUPPORTED) :
		check_signature(op, NULL, 0, pSignature, ulSignatureLen);
	ef_session_return_op(hSession, op, false);
	EF_RETURN(rv);
}

/* -------------------------------------------------- encrypt and decrypt */

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	trace_mechanism(__func__, pMechanism);
	EF_RETURN(op_init(hSession, EF_OP_ENCRYPT, pMechanism, hKey));
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	EF_RETURN(single_part(hSession, EF_OP_ENCRYPT, pData, ulDataLen, pEncryptedData,
			      pulEncryptedDataLen));
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
		      CK_BYTE_PTR pEncryptedPart EF_UNUSED,
		      CK_ULONG_PTR pulEncryptedPartLen EF_UNUSED)
{
	EF_RETURN(update(hSession, EF_OP_ENCRYPT, pPart, ulPartLen));
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
		     CK_ULONG_PTR pulLastEncryptedPartLen)
{
	EF_RETURN(final(hSession, EF_OP_ENCRYPT, pLastEncryptedPart, pulLastEncryptedPartLen));
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	trace_mechanism(__func__, pMechanism);
	EF_RETURN(op_init(hSession, EF_OP_DECRYPT, pMechanism, hKey));
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
		CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	EF_RETURN(single_part(hSession, EF_OP_DECRYPT, pEncryptedData, ulEncryptedDataLen, pData,
			      pulDataLen));
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart EF_UNUSED,
		      CK_ULONG_PTR pulPartLen EF_UNUSED)
{
	EF_RETURN(update(hSession, EF_OP_DECRYPT, pEncryptedPart, ulEncryptedPartLen));
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
	EF_RETURN(final(hSession, EF_OP_DECRYPT, pLastPart, pulLastPartLen));
}

/* ------------------------------------------------------------- digests */

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	trace_mechanism(__func__, pMechanism);
	EF_RETURN(op_init(hSession, EF_OP_DIGEST, pMechanism, CK_INVALID_HANDLE));
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	EF_RETURN(single_part(hSession, EF_OP_DIGEST, pData, ulDataLen, pDigest, pulDigestLen));
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	EF_RETURN(update(hSession, EF_OP_DIGEST, pPart, ulPartLen));
}

static CK_RV digest_key_inlock(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	struct ef_session *s;
	ef_assert_locked();
	CK_RV rv = ef_session_lookup_inlock(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!ef_session_op_active_inlock(s, EF_OP_DIGEST))
		return EF_FAIL(CKR_OPERATION_NOT_INITIALIZED);
	if (!ef_token_object_inlock(s->token, hKey))
		return EF_FAIL(CKR_KEY_HANDLE_INVALID);
	/* Only secret keys can be digested, and the RSA key's private half
	 * never leaves the token. */
	return EF_FAIL(CKR_KEY_INDIGESTIBLE);
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	CK_RV rv = ef_lock();
	if (rv == CKR_OK) {
		rv = digest_key_inlock(hSession, hKey);
		ef_unlock();
	}
	EF_RETURN(rv);
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	EF_RETURN(final(hSession, EF_OP_DIGEST, pDigest, pulDigestLen));
}

/* -------------------------------------------------------------- random */

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	CK_RV rv = ef_session_exists(hSession);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	/* The arguments are checked before what the token can do. */
	if (!pSeed && ulSeedLen)
		EF_RETURN(EF_FAIL(CKR_ARGUMENTS_BAD));
	/* [PKCS#11 3.0 C_SeedRandom] OpenSSL's DRBG seeds itself from the
	 * operating system; outside seed is not taken. */
	EF_RETURN(EF_FAIL(CKR_RANDOM_SEED_NOT_SUPPORTED));
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	CK_RV rv = ef_session_exists(hSession);
	if (rv != CKR_OK)
		EF_RETURN(rv);
	if (!RandomData && ulRandomLen)
		EF_RETURN(EF_FAIL(CKR_ARGUMENTS_BAD));
	EF_RETURN(ulRandomLen ? ef_random(RandomData, ulRandomLen) : CKR_OK);
}

/* ----------------------------------------------- what this token lacks */

/* Recovery and dual-function operations: no mechanism here offers them
 * (ef_session_unsupported). */

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
			CK_OBJECT_HANDLE hKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData EF_UNUSED,
		    CK_ULONG ulDataLen EF_UNUSED, CK_BYTE_PTR pSignature EF_UNUSED,
		    CK_ULONG_PTR pulSignatureLen EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism EF_UNUSED,
			  CK_OBJECT_HANDLE hKey EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature EF_UNUSED,
		      CK_ULONG ulSignatureLen EF_UNUSED, CK_BYTE_PTR pData EF_UNUSED,
		      CK_ULONG_PTR pulDataLen EF_UNUSED)
{
	EF_RETURN(ef_session_unsupported(hSession));
}

#define DUAL(name)                                                                        \
	CK_RV name(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pIn EF_UNUSED,                 \
		   CK_ULONG ulInLen EF_UNUSED, CK_BYTE_PTR pOut EF_UNUSED,                \
		   CK_ULONG_PTR pulOutLen EF_UNUSED)                                      \
	{                                                                                 \
		EF_RETURN(ef_session_unsupported(hSession));                              \
	}
DUAL(C_DigestEncryptUpdate)
DUAL(C_DecryptDigestUpdate)
DUAL(C_SignEncryptUpdate)
DUAL(C_DecryptVerifyUpdate)
