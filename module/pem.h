/*
 * pem.h - reading PEM armour block by block (pem.c), for the
 * certificate and key readers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_PEM_H
#define EF_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/types.h>

/* True when the bytes hold a "-----BEGIN " line anywhere. */
bool ef_pem_armored(const unsigned char *data, size_t len);

/* One PEM block: its label, headers and decoded body (OpenSSL-allocated). */
struct ef_pem_block {
	char *name;
	char *header;
	unsigned char *body;
	long body_len;
};

/* Reads the next block; false at the end (or on an unreadable block,
 * which for our purposes is the same). */
bool ef_pem_next(BIO *bio, struct ef_pem_block *b);
/* Frees the block, wiping its body (it may be a private key in the clear). */
void ef_pem_block_clear(struct ef_pem_block *b);

#endif
