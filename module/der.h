/*
 * der.h - a small DER reader and writer: spans, tags, lengths, INTEGERs
 * and OIDs, nothing that knows what a certificate or a key is.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure functions: no OpenSSL, no I/O, no allocation.  The module reads the
 * few fields it needs from certificates, SubjectPublicKeyInfo and PKCS#8
 * containers with it instead of OpenSSL's d2i functions: those decode a
 * certificate's public key and cache its SHA-1 in whatever library context
 * the object carries (the default one unless the caller knows the
 * X509_new_ex trick for each path), and d2i_X509_SIG plus PKCS8_decrypt
 * cannot be given the PIN's exact bytes and our context at every step.
 * OpenSSL still does all the cryptography (crypto.h).  efirma-tool links
 * it too, for the one DER header it writes by hand (tools/cms.c).
 */
#ifndef EF_DER_H
#define EF_DER_H

#include <stdbool.h>
#include <stddef.h>

/* The universal tags the module reads or writes (X.690 §8). */
enum {
	EF_DER_BOOLEAN = 0x01, EF_DER_INTEGER = 0x02, EF_DER_BIT_STRING = 0x03,
	EF_DER_OCTET_STRING = 0x04, EF_DER_NULL = 0x05, EF_DER_OID = 0x06,
	EF_DER_UTF8 = 0x0c, EF_DER_NUMERIC = 0x12, EF_DER_PRINTABLE = 0x13,
	EF_DER_T61 = 0x14, EF_DER_IA5 = 0x16, EF_DER_UTCTIME = 0x17,
	EF_DER_GENTIME = 0x18, EF_DER_VISIBLE = 0x1a, EF_DER_UNIVERSAL = 0x1c,
	EF_DER_BMP = 0x1e, EF_DER_SEQUENCE = 0x30, EF_DER_SET = 0x31,
};

/* A span of DER bytes, borrowed; reading consumes it from the front. */
struct ef_der {
	const unsigned char *p;
	size_t n;
};

/* ---------------------------------------------------------------- reading */

/* Splits off the next TLV: its tag, its contents (val) and the whole TLV
 * (tlv); any output may be NULL.  Definite lengths of at most four octets
 * only (DER), and single-octet tags: X.509 and PKCS#8 use nothing else.
 * false, d untouched, when the bytes are not such a TLV. */
bool ef_der_next(struct ef_der *d, unsigned *tag, struct ef_der *val, struct ef_der *tlv);
/* Takes the next TLV only if it has this tag; d untouched otherwise. */
bool ef_der_take(struct ef_der *d, unsigned tag, struct ef_der *val, struct ef_der *tlv);
/* True when the next TLV starts with this tag (nothing is checked beyond). */
bool ef_der_peek(const struct ef_der *d, unsigned tag);

/* INTEGER contents as an unsigned big-endian magnitude without leading
 * zeros; false for a negative or empty value. */
bool ef_der_uint(struct ef_der v, struct ef_der *mag);
/* INTEGER contents as a number in [0, max]; false for anything else. */
bool ef_der_small_uint(struct ef_der v, unsigned long max, unsigned long *out);

/* An OID's content octets as two arguments (bytes, count), for the
 * functions below and ef_der_put:  ef_der_oid_is(oid, EF_OID_BYTES(0x55, 4, 3)). */
#define EF_OID_BYTES(...) ((const unsigned char[]){ __VA_ARGS__ }), \
	sizeof((const unsigned char[]){ __VA_ARGS__ })

/* True when the OID contents are exactly these bytes. */
bool ef_der_oid_is(struct ef_der oid, const unsigned char *b, size_t n);
/* True when the OID lies strictly below this arc. */
bool ef_der_oid_under(struct ef_der oid, const unsigned char *arc, size_t n);

/* ---------------------------------------------------------------- writing */

/* The length of the tag and length octets in front of len content bytes
 * (2 to 6; lengths from 2^32 up are not representable here: the callers
 * write kilobytes). */
size_t ef_der_hdr_len(size_t len);
/* Writes a tag and length at p (ef_der_hdr_len(len) bytes); returns how
 * many it wrote. */
size_t ef_der_put_hdr(unsigned char *p, unsigned tag, size_t len);
/* Writes a whole TLV at p; returns the end of what it wrote. */
unsigned char *ef_der_put(unsigned char *p, unsigned tag, const void *val, size_t len);

#endif
