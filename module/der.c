/*
 * der.c - the DER reader and writer (der.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <limits.h>
#include <string.h>

#include "der.h"

/* ---------------------------------------------------------------- reading */

/* Lengths in the long form: k octets, big endian (X.690 §8.1.3.5). */
bool ef_der_next(struct ef_der *d, unsigned *tag, struct ef_der *val, struct ef_der *tlv)
{
	const unsigned char *p = d->p;
	size_t n = d->n, len, hdr;

	if (p == NULL || n < 2 || (p[0] & 0x1f) == 0x1f)
		return false;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t k = p[1] & 0x7f;

		if (k == 0 || k > 4 || n < 2 + k)
			return false;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = (len << 8) | p[2 + i];
		hdr = 2 + k;
	}
	if (len > n - hdr)
		return false;
	if (tag != NULL)
		*tag = p[0];
	if (val != NULL)
		*val = (struct ef_der){ p + hdr, len };
	if (tlv != NULL)
		*tlv = (struct ef_der){ p, hdr + len };
	d->p += hdr + len;
	d->n -= hdr + len;
	return true;
}

bool ef_der_take(struct ef_der *d, unsigned tag, struct ef_der *val, struct ef_der *tlv)
{
	struct ef_der save = *d;
	unsigned t = 0;

	if (!ef_der_next(d, &t, val, tlv) || t != tag) {
		*d = save;
		return false;
	}
	return true;
}

bool ef_der_peek(const struct ef_der *d, unsigned tag)
{
	return d->n > 0 && d->p[0] == tag;
}

bool ef_der_oid_is(struct ef_der oid, const unsigned char *b, size_t n)
{
	return oid.n == n && memcmp(oid.p, b, n) == 0;
}

bool ef_der_oid_under(struct ef_der oid, const unsigned char *arc, size_t n)
{
	return oid.n > n && memcmp(oid.p, arc, n) == 0;
}

bool ef_der_uint(struct ef_der v, struct ef_der *mag)
{
	if (v.n == 0 || (v.p[0] & 0x80))
		return false;
	while (v.n > 1 && v.p[0] == 0) {
		v.p++;
		v.n--;
	}
	*mag = v;
	return true;
}

bool ef_der_small_uint(struct ef_der v, unsigned long max, unsigned long *out)
{
	struct ef_der m;
	unsigned long x = 0;

	if (!ef_der_uint(v, &m) || m.n > sizeof(unsigned long))
		return false;
	for (size_t i = 0; i < m.n; i++) {
		if (x > (ULONG_MAX >> 8))
			return false;
		x = (x << 8) | m.p[i];
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

/* ---------------------------------------------------------------- writing */

size_t ef_der_hdr_len(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : len < 0x1000000 ? 5 : 6;
}

size_t ef_der_put_hdr(unsigned char *p, unsigned tag, size_t len)
{
	size_t h = ef_der_hdr_len(len);

	p[0] = (unsigned char)tag;
	if (h == 2) {
		p[1] = (unsigned char)len;
	} else {
		p[1] = (unsigned char)(0x80 | (h - 2));
		for (size_t i = 0; i < h - 2; i++)
			p[h - 1 - i] = (unsigned char)(len >> (8 * i));
	}
	return h;
}

unsigned char *ef_der_put(unsigned char *p, unsigned tag, const void *val, size_t len)
{
	p += ef_der_put_hdr(p, tag, len);
	if (len > 0)
		memcpy(p, val, len);
	return p + len;
}
