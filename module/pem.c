/*
 * pem.c - PEM armour: is there any, and the blocks one after the other
 * (certificates and keys both come in it).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "pem.h"

bool ef_pem_armored(const unsigned char *data, size_t len)
{
	static const char armor[] = "-----BEGIN ";

	return memmem(data, len, armor, sizeof(armor) - 1) != NULL;
}


void ef_pem_block_clear(struct ef_pem_block *b)
{
	OPENSSL_free(b->name);
	OPENSSL_free(b->header);
	/* The body may be a private key in the clear. */
	if (b->body != NULL)
		OPENSSL_clear_free(b->body, (size_t)(b->body_len > 0 ? b->body_len : 0));
	memset(b, 0, sizeof(*b));
}

/* Reads the next block; false at the end (or on an unreadable block,
 * which for our purposes is the same). */
bool ef_pem_next(BIO *bio, struct ef_pem_block *b)
{
	memset(b, 0, sizeof(*b));
	if (PEM_read_bio(bio, &b->name, &b->header, &b->body, &b->body_len) != 1) {
		memset(b, 0, sizeof(*b));
		return false;
	}
	return true;
}
