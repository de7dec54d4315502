/*
 * certinfo.h - the facts of a SAT certificate, read offline with OpenSSL
 * and interpreted by the module's sat.c (shared by efirma-tool and
 * efirma-portal-verify).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_CERTINFO_H
#define EF_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sat.h"

enum ef_ci_status {
	EF_CI_OK = 0,
	EF_CI_NOT_CERT,   /* the bytes are not an X.509 certificate */
	EF_CI_NOT_SAT,    /* a certificate, but without an RFC: not SAT's */
	EF_CI_NOMEM,
};

struct ef_certinfo {
	X509 *x509;
	struct ef_sat_facts sat;  /* RFC, CURP, número, kind, persona, holder */
	char *subject;            /* one line, UTF-8 */
	char *issuer;             /* one line, UTF-8 */
	char *issuer_cn;          /* UTF-8, maybe "" */
	long long not_before, not_after;  /* seconds since the epoch, UTC */
	char sha256[96];          /* fingerprint, "AB:CD:..." */
	char sha1[64];
	unsigned key_bits;
};

/* Parses DER or PEM bytes.  On EF_CI_NOT_SAT the structure is filled (the
 * caller may still show it); clear it in every case. */
enum ef_ci_status ef_certinfo_parse(const unsigned char *data, size_t len,
				    struct ef_certinfo *ci);
void ef_certinfo_clear(struct ef_certinfo *ci);

/* True when sig is a PKCS#1 v1.5 signature of data with md by the
 * certificate's public key. */
bool ef_cert_verify(X509 *cert, const EVP_MD *md, const unsigned char *data, size_t len,
		    const unsigned char *sig, size_t sig_len);

/* "e.firma", "CSD" or "?" (not translated: these are SAT's names). */
const char *ef_kind_name(enum ef_sat_kind k);

#endif
