/*
 * secret.c - memory for key material and passwords: wiped before it is
 * given back, and kept out of core dumps when it is ours to map.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "platform.h"

void ef_cleanse(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

/* Pairs with plain malloc: other files hand us buffers they malloc'd, and
 * everything this file returns for ef_free_secret is malloc'd too. */
void ef_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	ef_cleanse(p, len);
	free(p);
}

/* The mapping's size sits in front of the buffer; 16 bytes keep the
 * buffer aligned for any type. */
#define EF_SECRET_HDR 16

void *ef_secret_alloc(size_t len)
{
	size_t ps = ef_os_page_size(), total;
	unsigned char *m;

	if (len > SIZE_MAX - EF_SECRET_HDR - ps) {
		errno = ENOMEM;
		return NULL;
	}
	total = (len + EF_SECRET_HDR + ps - 1) / ps * ps;
	m = ef_os_pages_alloc(total);
	if (m == NULL)
		return NULL;
	memcpy(m, &total, sizeof(total));
	return m + EF_SECRET_HDR;
}

void ef_secret_free(void *p)
{
	unsigned char *m;
	size_t total;

	if (p == NULL)
		return;
	m = (unsigned char *)p - EF_SECRET_HDR;
	memcpy(&total, m, sizeof(total));
	/* Unmapping alone would leave the bytes in the freed page frames
	 * until the kernel hands them out again. */
	OPENSSL_cleanse(m, total);
	ef_os_pages_free(m, total);
}
