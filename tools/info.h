/*
 * info.h - certificate facts on the terminal, shared by "info" and "list".
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_INFO_H
#define EF_INFO_H

#include <stdbool.h>
#include <stddef.h>

#include "certinfo.h"

enum { EF_VALID_OK, EF_VALID_SOON, EF_VALID_EXPIRED, EF_VALID_NOT_YET };

long long ef_now(void);
/* EF_VALID_*; *days: days left, or days since expiry, or days to start. */
int ef_validity_status(long long not_before, long long not_after, long long now, long *days);
/* The "valid:" line and a status line, with a WARNING when the certificate
 * expires within 30 days, has expired, or is not valid yet. */
void ef_print_validity(long long not_before, long long not_after);
const char *ef_persona_name(bool moral);
void ef_print_facts(const char *kind, bool moral, const char *rfc, const char *curp,
		    const char *rep_rfc, const char *rep_curp, const char *holder,
		    const char *branch, const char *numero);
/* Reads and parses a .cer; refuses (EF_EXIT_REFUSED, with a message) what
 * is not a SAT certificate.  Clear ci in every case. */
int ef_load_cert_file(const char *path, struct ef_certinfo *ci);

/* True when the bytes look like a private key file (encrypted PKCS#8 DER,
 * or PEM "... PRIVATE KEY"). */
bool ef_looks_like_key(const unsigned char *data, size_t len);

#endif
