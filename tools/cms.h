/*
 * cms.h - CMS (PKCS#7) SignedData made with the token's key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_CMS_H
#define EF_CMS_H

#include <stdbool.h>
#include <stddef.h>

#include "p11.h"

/* SHA-256 with RSA, signed attributes (content type, signing time, message
 * digest), the signer's certificate included; the content inside unless
 * detached.  *out is the DER ContentInfo, malloc'd.  The session must be
 * logged in; key is the token's private key. */
int ef_cms_sign(struct ef_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		const unsigned char *cert_der, size_t cert_len,
		const unsigned char *data, size_t len, bool detached,
		unsigned char **out, size_t *out_len);

#endif
