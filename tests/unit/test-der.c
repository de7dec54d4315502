/*
 * test-der.c - unit tests for module/der.c, the DER reader and writer:
 * short and long lengths, what the reader refuses, INTEGERs, OIDs, and
 * headers written at every length boundary read back by the reader.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "der.h"
#include "tap.h"

#define SPAN(...) ((struct ef_der){ (const unsigned char[]){ __VA_ARGS__ }, \
	sizeof((const unsigned char[]){ __VA_ARGS__ }) })

static int same_span(struct ef_der a, struct ef_der b)
{
	return a.p == b.p && a.n == b.n;
}

static void test_next_short(void)
{
	struct ef_der d = SPAN(0x04, 0x03, 'a', 'b', 'c', 0x05, 0x00), val, tlv;
	const unsigned char *start = d.p;
	unsigned tag = 0;

	ok(ef_der_next(&d, &tag, &val, &tlv), "next: a short-form TLV is read");
	is_ul(tag, EF_DER_OCTET_STRING, "next: its tag");
	ok(val.p == start + 2 && val.n == 3 && memcmp(val.p, "abc", 3) == 0,
	   "next: its contents follow the two header octets");
	ok(tlv.p == start && tlv.n == 5, "next: the whole TLV, header included");
	ok(d.p == start + 5 && d.n == 2, "next: the span moves past it");
	ok(ef_der_next(&d, &tag, &val, NULL) && tag == EF_DER_NULL && val.n == 0 && d.n == 0,
	   "next: an empty TLV (NULL) ends the span");
	ok(!ef_der_next(&d, NULL, NULL, NULL), "next: nothing is left to read");
}

static void test_next_long(void)
{
	unsigned char buf[4 + 300];
	struct ef_der d, val;
	unsigned tag = 0;

	memset(buf, 0xab, sizeof(buf));
	buf[0] = EF_DER_SEQUENCE;
	buf[1] = 0x81;
	buf[2] = 0x80;
	d = (struct ef_der){ buf, 3 + 0x80 };
	ok(ef_der_next(&d, &tag, &val, NULL) && val.n == 0x80 && val.p == buf + 3 && d.n == 0,
	   "next: one length octet (0x81 0x80)");
	buf[1] = 0x82;
	buf[2] = 0x01;
	buf[3] = 0x2c;
	d = (struct ef_der){ buf, 4 + 300 };
	ok(ef_der_next(&d, &tag, &val, NULL) && val.n == 300 && val.p == buf + 4 && d.n == 0,
	   "next: two length octets (0x82 0x01 0x2c)");
}

static void test_next_refuses(void)
{
	const struct { struct ef_der d; const char *why; } bad[] = {
		{ SPAN(0x04), "a lone tag octet" },
		{ SPAN(0x1f, 0x81, 0x01, 0x00), "a multi-octet tag" },
		{ SPAN(0x30, 0x80, 0x00, 0x00), "an indefinite length (BER, not DER)" },
		{ SPAN(0x04, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00), "five length octets" },
		{ SPAN(0x04, 0x82, 0x01), "length octets cut short" },
		{ SPAN(0x04, 0x03, 'a', 'b'), "contents cut short" },
		{ SPAN(0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00), "a length far past the end" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ef_der d = bad[i].d;

		ok(!ef_der_next(&d, NULL, NULL, NULL) && same_span(d, bad[i].d),
		   "next refuses %s and leaves the span as it was", bad[i].why);
	}
	struct ef_der none = { NULL, 0 };
	ok(!ef_der_next(&none, NULL, NULL, NULL), "next: an empty span");
}

static void test_take_peek(void)
{
	struct ef_der d = SPAN(0x02, 0x01, 0x05, 0x04, 0x00), save = d, val;

	ok(ef_der_peek(&d, EF_DER_INTEGER) && !ef_der_peek(&d, EF_DER_OCTET_STRING),
	   "peek: sees the next tag only");
	ok(!ef_der_take(&d, EF_DER_OCTET_STRING, &val, NULL) && same_span(d, save),
	   "take: another tag leaves the span as it was");
	ok(ef_der_take(&d, EF_DER_INTEGER, &val, NULL) && val.n == 1 && val.p[0] == 5,
	   "take: the right tag is consumed");
	ok(ef_der_take(&d, EF_DER_OCTET_STRING, NULL, NULL) && d.n == 0,
	   "take: outputs may be NULL");
	ok(!ef_der_peek(&d, EF_DER_OCTET_STRING), "peek: nothing in an empty span");
}

static void test_integers(void)
{
	struct ef_der mag;
	unsigned long x = 0;

	ok(ef_der_uint(SPAN(0x00), &mag) && mag.n == 1 && mag.p[0] == 0, "uint: zero is one octet");
	ok(ef_der_uint(SPAN(0x00, 0x00, 0x80, 0x01), &mag) && mag.n == 2 && mag.p[0] == 0x80,
	   "uint: leading zeros are dropped");
	ok(!ef_der_uint(SPAN(0x80), &mag), "uint: a negative value is refused");
	ok(!ef_der_uint((struct ef_der){ (const unsigned char *)"", 0 }, &mag),
	   "uint: an empty INTEGER is refused");

	ok(ef_der_small_uint(SPAN(0x08, 0x00), 2048, &x) && x == 2048, "small_uint: 2048 within 2048");
	ok(!ef_der_small_uint(SPAN(0x08, 0x01), 2048, &x), "small_uint: 2049 over 2048");
	ok(ef_der_small_uint(SPAN(0x00, 0xff, 0xff, 0xff, 0xff), 0xffffffffUL, &x) && x == 0xffffffffUL,
	   "small_uint: a leading zero before a high bit");
	ok(!ef_der_small_uint(SPAN(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
			      (unsigned long)-1, &x),
	   "small_uint: more octets than an unsigned long holds");
	ok(!ef_der_small_uint(SPAN(0xff), 10, &x), "small_uint: a negative value");
}

static void test_oids(void)
{
	/* 2.5.4.3 (commonName) under 2.5.4 */
	struct ef_der cn = SPAN(0x55, 0x04, 0x03), arc = SPAN(0x55, 0x04);

	ok(ef_der_oid_is(cn, EF_OID_BYTES(0x55, 0x04, 0x03)), "oid_is: the same bytes");
	ok(!ef_der_oid_is(cn, EF_OID_BYTES(0x55, 0x04, 0x0b)), "oid_is: another OID");
	ok(!ef_der_oid_is(cn, EF_OID_BYTES(0x55, 0x04)), "oid_is: a prefix is not the OID");
	ok(ef_der_oid_under(cn, EF_OID_BYTES(0x55, 0x04)), "oid_under: below its arc");
	ok(!ef_der_oid_under(arc, EF_OID_BYTES(0x55, 0x04)), "oid_under: an arc is not below itself");
	ok(!ef_der_oid_under(cn, EF_OID_BYTES(0x55, 0x1d)), "oid_under: another arc");
}

/* Every length where the header grows by one octet, and one below it. */
static void test_header_boundaries(void)
{
	static const struct { size_t len; size_t hdr; unsigned char want[6]; } v[] = {
		{ 0, 2, { 0x30, 0x00 } },
		{ 0x7f, 2, { 0x30, 0x7f } },
		{ 0x80, 3, { 0x30, 0x81, 0x80 } },
		{ 0xff, 3, { 0x30, 0x81, 0xff } },
		{ 0x100, 4, { 0x30, 0x82, 0x01, 0x00 } },
		{ 0xffff, 4, { 0x30, 0x82, 0xff, 0xff } },
		{ 0x10000, 5, { 0x30, 0x83, 0x01, 0x00, 0x00 } },
		{ 0xffffff, 5, { 0x30, 0x83, 0xff, 0xff, 0xff } },
		{ 0x1000000, 6, { 0x30, 0x84, 0x01, 0x00, 0x00, 0x00 } },
		{ 0xffffffff, 6, { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff } },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned char hdr[8];
		size_t h;

		memset(hdr, 0xee, sizeof(hdr));
		is_ul(ef_der_hdr_len(v[i].len), v[i].hdr, "hdr_len(0x%zx)", v[i].len);
		h = ef_der_put_hdr(hdr, EF_DER_SEQUENCE, v[i].len);
		ok(h == v[i].hdr && memcmp(hdr, v[i].want, h) == 0 && hdr[h] == 0xee,
		   "put_hdr(0x%zx) writes exactly its %zu octets", v[i].len, v[i].hdr);
	}
}

/* What the writer writes, the reader reads back whole. */
static void test_round_trip(void)
{
	static const size_t sizes[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0xffff, 0x10000, 0x12345 };
	bool all = true;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i], total = ef_der_hdr_len(len) + len;
		unsigned char *val = malloc(len + 1), *buf = malloc(total + 1), *end;
		struct ef_der d, got, tlv;
		unsigned tag = 0;

		if (val == NULL || buf == NULL) {
			all = false;
			tap_diag("out of memory");
			free(val);
			free(buf);
			break;
		}
		for (size_t j = 0; j < len; j++)
			val[j] = (unsigned char)(j * 7 + 1);
		end = ef_der_put(buf, EF_DER_OCTET_STRING, val, len);
		d = (struct ef_der){ buf, total };
		if (end != buf + total || !ef_der_next(&d, &tag, &got, &tlv) ||
		    tag != EF_DER_OCTET_STRING || got.n != len ||
		    (len > 0 && memcmp(got.p, val, len) != 0) || tlv.n != total || d.n != 0) {
			all = false;
			tap_diag("round trip of %zu content octets failed", len);
		}
		free(val);
		free(buf);
	}
	ok(all, "put then next: tag, contents and length survive at every boundary");

	unsigned char nul[2];
	ok(ef_der_put(nul, EF_DER_NULL, NULL, 0) == nul + 2 && nul[0] == 0x05 && nul[1] == 0x00,
	   "put: empty contents may be NULL");
}

int main(void)
{
	TAP_PART(test_next_short());
	TAP_PART(test_next_long());
	TAP_PART(test_next_refuses());
	TAP_PART(test_take_peek());
	TAP_PART(test_integers());
	TAP_PART(test_oids());
	TAP_PART(test_header_boundaries());
	TAP_PART(test_round_trip());
	return tap_done();
}
