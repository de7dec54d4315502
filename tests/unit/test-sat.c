/*
 * test-sat.c - unit tests for module/sat.c: text encodings, RFC/CURP
 * splitting, persona and kind, número, labels, padding, RFC syntax and the
 * Windows-1252 PIN form.  The last part reads the real SAT test
 * certificates with OpenSSL (the test's own extraction, not x509.c) and
 * checks the facts against SOURCE.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: test-sat [KEYONLY_DIR]  (default: the shared SAT test data); the
 * SAT test data root is taken as KEYONLY_DIR's parent folder.
 */
#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sat.h"
#include "tap.h"

#define DEFAULT_KEYONLY "/work/shared/testdata/sat/keyonly-certifica-2022-nonascii-password"

static struct ef_raw_str raw(const void *bytes, size_t len, enum ef_str_type type)
{
	struct ef_raw_str r = { bytes, len, type };
	return r;
}

static struct ef_raw_str raw_s(const char *s, enum ef_str_type type)
{
	return raw(s, strlen(s), type);
}

/* Converts and compares, freeing the result. */
static void check_utf8(struct ef_raw_str r, const char *want, const char *name)
{
	char *got = ef_sat_to_utf8(&r);

	is_str(got, want, "to_utf8: %s", name);
	free(got);
}

static bool is_valid_utf8(const unsigned char *s, size_t len)
{
	/* An independent, table-free check: lead byte ranges from RFC 3629. */
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		size_t n;
		uint32_t cp, min;

		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xE0) == 0xC0) {
			n = 2; cp = b & 0x1F; min = 0x80;
		} else if ((b & 0xF0) == 0xE0) {
			n = 3; cp = b & 0x0F; min = 0x800;
		} else if ((b & 0xF8) == 0xF0) {
			n = 4; cp = b & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

/* A T61String that holds UTF-8 bytes (SAT's OCSP certificate does) is
 * read as UTF-8; real Latin-1 stays Latin-1. */
static void test_t61_with_utf8(void)
{
	static const unsigned char info[] = "Informaci\xC3\xB3n";
	static const unsigned char latin[] = "Informaci\xF3n";
	struct ef_raw_str a = { info, sizeof(info) - 1, EF_STR_LATIN1 };
	struct ef_raw_str b = { latin, sizeof(latin) - 1, EF_STR_LATIN1 };
	char *x = ef_sat_to_utf8(&a), *y = ef_sat_to_utf8(&b);
	is_str(x, "Informaci\xC3\xB3n", "T61String with UTF-8 bytes is read as UTF-8");
	is_str(y, "Informaci\xC3\xB3n", "T61String with Latin-1 bytes is read as Latin-1");
	free(x);
	free(y);
}

static void test_to_utf8(void)
{
	static const unsigned char han[] = { 0x48, 0x41, 0xD1 };
	static const unsigned char ascii_hi[] = { 'A', 0xE9, 'B' };
	static const unsigned char nul[] = { 'A', 0x00, 'B' };
	static const unsigned char bmp[] = { 0x00, 'N', 0x00, 0xD1, 0x20, 0xAC };
	static const unsigned char bmp_pair[] = { 0xD8, 0x3D, 0xDE, 0x00 };
	static const unsigned char bmp_lone[] = { 0xD8, 0x3D, 0x00, 'A' };
	static const unsigned char bmp_odd[] = { 0x00, 'A', 0x42 };
	static const unsigned char ucs4[] = { 0, 0, 0, 'A', 0, 0, 0, 0xD1, 0, 1, 0xF6, 0 };
	static const unsigned char ucs4_bad[] = { 0, 0x11, 0, 0, 0, 0, 0xD8, 0, 0, 0, 0 };
	static const unsigned char u8_ok[] = { 'N', 0xC3, 0x91, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80 };
	static const unsigned char u8_overlong[] = { 0xC0, 0xAF, 'x' };
	static const unsigned char u8_surrogate[] = { 0xED, 0xA0, 0x80, 'x' };
	static const unsigned char u8_trunc[] = { 'a', 0xE2, 0x82 };
	static const unsigned char u8_big[] = { 0xF4, 0x90, 0x80, 0x80 };
	static const unsigned char u8_nul[] = { 'a', 0x00, 'b' };

	check_utf8(raw(han, sizeof(han), EF_STR_LATIN1), "HA\xC3\x91", "Latin-1 T61 48 41 D1 -> HAÑ");
	check_utf8(raw_s("HERMANOS ANZURES \xD1" "ARVAEZ SA", EF_STR_LATIN1),
		   "HERMANOS ANZURES \xC3\x91" "ARVAEZ SA", "Latin-1 name");
	check_utf8(raw_s("CACX7605101P8", EF_STR_ASCII), "CACX7605101P8", "ASCII copied");
	check_utf8(raw(ascii_hi, sizeof(ascii_hi), EF_STR_ASCII), "A\xC3\xA9" "B", "ASCII with high byte read as Latin-1");
	check_utf8(raw(nul, sizeof(nul), EF_STR_ASCII), "A\xEF\xBF\xBD" "B", "embedded NUL (ASCII) -> U+FFFD");
	check_utf8(raw(nul, sizeof(nul), EF_STR_LATIN1), "A\xEF\xBF\xBD" "B", "embedded NUL (Latin-1) -> U+FFFD");
	check_utf8(raw(NULL, 0, EF_STR_UTF8), "", "absent -> empty");
	check_utf8(raw("", 0, EF_STR_UTF8), "", "empty -> empty");
	check_utf8(raw(bmp, sizeof(bmp), EF_STR_BMP), "N\xC3\x91\xE2\x82\xAC", "BMP N, Ñ, €");
	check_utf8(raw(bmp_pair, sizeof(bmp_pair), EF_STR_BMP), "\xF0\x9F\x98\x80", "BMP surrogate pair");
	check_utf8(raw(bmp_lone, sizeof(bmp_lone), EF_STR_BMP), "\xEF\xBF\xBD" "A", "BMP lone surrogate -> U+FFFD");
	check_utf8(raw(bmp_odd, sizeof(bmp_odd), EF_STR_BMP), "A\xEF\xBF\xBD", "BMP odd length -> U+FFFD");
	check_utf8(raw(ucs4, sizeof(ucs4), EF_STR_UNIVERSAL), "A\xC3\x91\xF0\x9F\x98\x80", "UCS-4 A, Ñ, U+1F600");
	check_utf8(raw(ucs4_bad, sizeof(ucs4_bad), EF_STR_UNIVERSAL),
		   "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", "UCS-4 > U+10FFFF, surrogate, short tail -> U+FFFD each");
	check_utf8(raw(u8_ok, sizeof(u8_ok), EF_STR_UTF8), "N\xC3\x91\xE2\x82\xAC\xF0\x9F\x98\x80", "valid UTF-8 kept");
	check_utf8(raw(u8_overlong, sizeof(u8_overlong), EF_STR_UTF8),
		   "\xEF\xBF\xBD\xEF\xBF\xBD" "x", "overlong C0 AF rejected");
	check_utf8(raw(u8_surrogate, sizeof(u8_surrogate), EF_STR_UTF8),
		   "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "x", "UTF-8 surrogate ED A0 80 rejected");
	check_utf8(raw(u8_trunc, sizeof(u8_trunc), EF_STR_UTF8), "a\xEF\xBF\xBD", "truncated sequence -> one U+FFFD");
	check_utf8(raw(u8_big, sizeof(u8_big), EF_STR_UTF8),
		   "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", "above U+10FFFF rejected");
	check_utf8(raw(u8_nul, sizeof(u8_nul), EF_STR_UTF8), "a\xEF\xBF\xBD" "b", "UTF-8 NUL -> U+FFFD");

	/* Every type, random bytes: always valid UTF-8 and no NUL inside. */
	{
		unsigned char buf[64];
		bool all_ok = true;
		unsigned seed = 12345;

		for (int it = 0; it < 20000 && all_ok; it++) {
			size_t len = (size_t)(it % 64);
			char *out;
			struct ef_raw_str r;

			for (size_t k = 0; k < len; k++) {
				seed = seed * 1103515245u + 12345u;
				buf[k] = (unsigned char)(seed >> 16);
			}
			r = raw(buf, len, (enum ef_str_type)(it % 5));
			out = ef_sat_to_utf8(&r);
			if (out == NULL || !is_valid_utf8((unsigned char *)out, strlen(out)))
				all_ok = false;
			if (out != NULL && len > 0 && strlen(out) == 0)
				all_ok = false;     /* nothing was silently dropped */
			free(out);
		}
		ok(all_ok, "to_utf8: 20000 random inputs give valid UTF-8, no inner NUL");
	}
}

static void subject_init(struct ef_sat_subject *s, const char *cn, const char *ou,
			 const char *uid, const char *ser, const char *serial)
{
	memset(s, 0, sizeof(*s));
	s->cn = cn ? raw_s(cn, EF_STR_UTF8) : raw(NULL, 0, EF_STR_UTF8);
	s->ou = ou ? raw_s(ou, EF_STR_UTF8) : raw(NULL, 0, EF_STR_UTF8);
	s->unique_id = uid ? raw_s(uid, EF_STR_ASCII) : raw(NULL, 0, EF_STR_ASCII);
	s->serial_attr = ser ? raw_s(ser, EF_STR_ASCII) : raw(NULL, 0, EF_STR_ASCII);
	s->serial = (const unsigned char *)serial;
	s->serial_len = serial ? strlen(serial) : 0;
}

#define KU_EFIRMA (EF_KU_DIGITAL_SIGNATURE | EF_KU_NON_REPUDIATION | \
		   EF_KU_DATA_ENCIPHERMENT | EF_KU_KEY_AGREEMENT)
#define KU_CSD (EF_KU_DIGITAL_SIGNATURE | EF_KU_NON_REPUDIATION)
#define EKU_EFIRMA (EF_EKU_CLIENT_AUTH | EF_EKU_EMAIL_PROTECTION)

static void test_facts(void)
{
	struct ef_sat_subject s;
	struct ef_sat_facts f;
	bool r;

	/* e.firma, persona física. */
	subject_init(&s, "XOCHILT CASAS CHAVEZ", NULL, "CACX7605101P8", "CACX760510MGTSHC04",
		     "30001000000500003282");
	s.key_usage = KU_EFIRMA;
	s.has_key_usage = true;
	s.ext_key_usage = EKU_EFIRMA;
	r = ef_sat_facts_from(&s, &f);
	ok(r, "facts: física e.firma has an RFC");
	is_str(f.rfc, "CACX7605101P8", "facts: física rfc");
	is_str(f.curp, "CACX760510MGTSHC04", "facts: física curp");
	is_str(f.rep_rfc, "", "facts: física has no representative RFC");
	is_str(f.rep_curp, "", "facts: física has no representative CURP");
	is_ul(f.persona, EF_SAT_FISICA, "facts: 13-char RFC is persona física");
	is_ul(f.kind, EF_SAT_EFIRMA, "facts: KU dataEncipherment + EKU -> e.firma");
	is_str(f.numero, "30001000000500003282", "facts: numero from ASCII serial");
	is_str(f.holder, "XOCHILT CASAS CHAVEZ", "facts: holder = CN");
	is_str(f.branch, "", "facts: no OU -> empty branch");
	ef_sat_facts_clear(&f);
	ok(f.holder == NULL && f.branch == NULL && f.rfc[0] == '\0', "facts_clear resets");

	/* e.firma, persona moral: "RFC / REP-RFC", " / REP-CURP". */
	subject_init(&s, "ESCUELA KEMPER URGATE SA DE CV", NULL, "EKU9003173C9 / VADA800927DJ3",
		     " / VADA800927HSRSRL05", "30001000000500003415");
	s.key_usage = KU_EFIRMA;
	s.has_key_usage = true;
	s.ext_key_usage = EKU_EFIRMA;
	r = ef_sat_facts_from(&s, &f);
	ok(r, "facts: moral has an RFC");
	is_str(f.rfc, "EKU9003173C9", "facts: moral company RFC split off");
	is_str(f.rep_rfc, "VADA800927DJ3", "facts: moral representative RFC");
	is_str(f.curp, "", "facts: company has no CURP");
	is_str(f.rep_curp, "VADA800927HSRSRL05", "facts: representative CURP");
	is_ul(f.persona, EF_SAT_MORAL, "facts: representative present -> moral");
	ef_sat_facts_clear(&f);

	/* CSD, persona moral, OU. */
	subject_init(&s, "ESCUELA KEMPER URGATE SA DE CV", "Sucursal 1", "EKU9003173C9 / VADA800927DJ3",
		     " / VADA800927HSRSRL05", "30001000000500003416");
	s.key_usage = KU_CSD;
	s.has_key_usage = true;
	r = ef_sat_facts_from(&s, &f);
	is_ul(f.kind, EF_SAT_CSD, "facts: OU + KU without encipherment -> CSD");
	is_str(f.branch, "Sucursal 1", "facts: branch = OU");
	ef_sat_facts_clear(&f);

	/* OU present but keyAgreement: e.firma wins. */
	s.key_usage = KU_CSD | EF_KU_KEY_AGREEMENT;
	ef_sat_facts_from(&s, &f);
	is_ul(f.kind, EF_SAT_EFIRMA, "facts: OU + keyAgreement -> e.firma");
	ef_sat_facts_clear(&f);

	/* OU present but clientAuth EKU: not a CSD. */
	s.key_usage = KU_CSD;
	s.ext_key_usage = EF_EKU_CLIENT_AUTH;
	ef_sat_facts_from(&s, &f);
	is_ul(f.kind, EF_SAT_EFIRMA, "facts: OU + clientAuth -> e.firma");
	ef_sat_facts_clear(&f);

	/* No OU, no telling KU/EKU: unknown. */
	subject_init(&s, "X", NULL, "CACX7605101P8", NULL, NULL);
	s.key_usage = KU_CSD;
	s.has_key_usage = true;
	ef_sat_facts_from(&s, &f);
	is_ul(f.kind, EF_SAT_UNKNOWN, "facts: no OU, KU signature only -> unknown");
	is_str(f.numero, "", "facts: no serial -> empty numero");
	ef_sat_facts_clear(&f);

	/* Only emailProtection, no OU: e.firma. */
	subject_init(&s, "X", NULL, "CACX7605101P8", NULL, NULL);
	s.ext_key_usage = EF_EKU_EMAIL_PROTECTION;
	ef_sat_facts_from(&s, &f);
	is_ul(f.kind, EF_SAT_EFIRMA, "facts: EKU emailProtection -> e.firma");
	ef_sat_facts_clear(&f);

	/* Persona by RFC length, counted in characters: HAÑ930228SM9 in
	 * Latin-1 (T61String) is 12 characters, 13 bytes once in UTF-8. */
	{
		static const unsigned char han[] = "HA\xD1" "930228SM9";

		subject_init(&s, NULL, NULL, NULL, NULL, NULL);
		s.unique_id = raw(han, sizeof(han) - 1, EF_STR_LATIN1);
		r = ef_sat_facts_from(&s, &f);
		ok(r, "facts: Latin-1 RFC accepted");
		is_str(f.rfc, "HA\xC3\x91" "930228SM9", "facts: Latin-1 RFC converted to UTF-8");
		is_ul(strlen(f.rfc), 13, "facts: HAÑ930228SM9 is 13 bytes");
		is_ul(f.persona, EF_SAT_MORAL, "facts: 12-character RFC (no representative) -> moral");
		is_str(f.holder, "", "facts: absent CN -> empty holder");
		ef_sat_facts_clear(&f);

		subject_init(&s, NULL, NULL, "IA\xC3\x91L750210963", "IANL750210HSRNZS09", NULL);
		s.unique_id.type = EF_STR_UTF8;
		ef_sat_facts_from(&s, &f);
		is_ul(f.persona, EF_SAT_FISICA, "facts: IAÑL750210963 (13 chars, 14 bytes) -> física");
		ef_sat_facts_clear(&f);

		subject_init(&s, NULL, NULL, "AAA010101AAA", "HEGT761003MDFRNN09", NULL);
		ef_sat_facts_from(&s, &f);
		is_ul(f.persona, EF_SAT_MORAL, "facts: 12-char ASCII RFC -> moral");
		is_str(f.curp, "", "facts: a company's lone CURP is not the company's");
		is_str(f.rep_curp, "HEGT761003MDFRNN09", "facts: ... it is the representative's");
		ef_sat_facts_clear(&f);
	}

	/* Blanks are trimmed around the parts. */
	subject_init(&s, "  Name  ", "  ", "  CACX7605101P8  ", "CACX760510MGTSHC04 ", NULL);
	ef_sat_facts_from(&s, &f);
	is_str(f.rfc, "CACX7605101P8", "facts: RFC trimmed");
	is_str(f.curp, "CACX760510MGTSHC04", "facts: CURP trimmed");
	is_str(f.holder, "Name", "facts: holder trimmed");
	is_str(f.branch, "", "facts: blank OU is no OU");
	ef_sat_facts_clear(&f);

	/* No RFC: false, but usable. */
	subject_init(&s, "Some CA", NULL, NULL, NULL, "\x01\x02");
	r = ef_sat_facts_from(&s, &f);
	ok(!r, "facts: no x500UniqueIdentifier -> false");
	is_str(f.rfc, "", "facts: no RFC -> rfc empty");
	is_str(f.holder, "Some CA", "facts: holder still filled without RFC");
	is_str(f.numero, "0102", "facts: non-digit serial in hex");
	ef_sat_facts_clear(&f);

	subject_init(&s, NULL, NULL, " / VADA800927DJ3", NULL, NULL);
	r = ef_sat_facts_from(&s, &f);
	ok(!r, "facts: only a representative RFC -> false");
	ef_sat_facts_clear(&f);

	/* Oversized attribute: cut, still NUL-terminated and valid UTF-8. */
	{
		char big[200];

		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[30] = '\xC3';   /* an Ñ straddling byte 31 */
		big[31] = '\x91';
		subject_init(&s, NULL, NULL, big, NULL, NULL);
		s.unique_id.type = EF_STR_UTF8;
		ef_sat_facts_from(&s, &f);
		ok(strlen(f.rfc) == 30 && is_valid_utf8((unsigned char *)f.rfc, strlen(f.rfc)),
		   "facts: oversized RFC cut on a character boundary (len %zu)", strlen(f.rfc));
		ef_sat_facts_clear(&f);
	}
	ok(!ef_sat_facts_from(NULL, &f) && f.holder == NULL, "facts: NULL subject -> false");
	ef_sat_facts_clear(&f);
}

static void test_numero(void)
{
	static const unsigned char digits[] = "30001000000500003282";
	static const unsigned char hex[] = { 0x00, 0x9A, 0x0B, 0xFF };
	static const unsigned char hex2[] = { 0x12, 0x34 };
	static const unsigned char mixed[] = { '3', '0', 0x01 };
	static const unsigned char zero[] = { 0x00 };
	char out[48];
	char small[5];

	ef_sat_numero(digits, sizeof(digits) - 1, out, sizeof(out));
	is_str(out, "30001000000500003282", "numero: ASCII digits");
	ef_sat_numero(hex, sizeof(hex), out, sizeof(out));
	is_str(out, "9A0BFF", "numero: leading 0x00 sign byte skipped, uppercase hex");
	ef_sat_numero(hex2, sizeof(hex2), out, sizeof(out));
	is_str(out, "1234", "numero: binary 12 34 -> hex");
	ef_sat_numero(mixed, sizeof(mixed), out, sizeof(out));
	is_str(out, "333001", "numero: digits then a non-digit -> hex of all");
	ef_sat_numero(zero, sizeof(zero), out, sizeof(out));
	is_str(out, "00", "numero: a lone zero byte -> 00");
	ef_sat_numero(NULL, 0, out, sizeof(out));
	is_str(out, "", "numero: no serial -> empty");
	ef_sat_numero(digits, sizeof(digits) - 1, small, sizeof(small));
	is_str(small, "3000", "numero: cut to the buffer");
	ef_sat_numero(hex, sizeof(hex), small, sizeof(small));
	is_str(small, "9A0B", "numero: hex cut on a whole byte");
}

static void test_labels(void)
{
	struct ef_sat_facts f;
	char out[64];
	char tiny[10];
	unsigned char field[32];
	char want[33];

	memset(&f, 0, sizeof(f));
	strcpy(f.rfc, "CACX7605101P8");
	f.kind = EF_SAT_EFIRMA;
	ef_sat_token_label(&f, out, sizeof(out));
	is_str(out, "e.firma CACX7605101P8", "label: e.firma");
	f.kind = EF_SAT_CSD;
	strcpy(f.rfc, "EKU9003173C9");
	ef_sat_token_label(&f, out, sizeof(out));
	is_str(out, "CSD EKU9003173C9", "label: CSD");
	f.kind = EF_SAT_UNKNOWN;
	ef_sat_token_label(&f, out, sizeof(out));
	is_str(out, "SAT EKU9003173C9", "label: unknown kind");
	f.kind = EF_SAT_EFIRMA;
	strcpy(f.rfc, "HA\xC3\x91" "930228SM9");
	ef_sat_token_label(&f, tiny, sizeof(tiny));
	is_str(tiny, "e.firma H", "label: cut to the buffer");
	ef_sat_token_label(&f, out, 11);
	is_str(out, "e.firma HA", "label: cut before a split Ñ");

	/* Padding into a 32-byte CK_UTF8CHAR field. */
	ef_pad_utf8(field, sizeof(field), "e.firma CACX7605101P8");
	memset(want, ' ', 32);
	memcpy(want, "e.firma CACX7605101P8", 21);
	ok(memcmp(field, want, 32) == 0, "pad: blank padded");
	ok(memchr(field, 0, sizeof(field)) == NULL, "pad: no NUL in the field");

	ef_pad_utf8(field, sizeof(field), "token:label:x");
	ok(memcmp(field, "token-label-x   ", 16) == 0, "pad: ':' replaced by '-'");

	/* 31 ASCII + Ñ (2 bytes): the Ñ does not fit whole, so it is left out. */
	ef_pad_utf8(field, sizeof(field), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xC3\x91" "Z");
	ok(field[31] == ' ' && memcmp(field, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 31) == 0,
	   "pad: cut on a UTF-8 character boundary");
	/* 30 ASCII + Ñ fits exactly. */
	ef_pad_utf8(field, sizeof(field), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xC3\x91" "Z");
	ok(field[30] == 0xC3 && field[31] == 0x91, "pad: a character ending at the field end is kept");
	ef_pad_utf8(field, sizeof(field), "");
	memset(want, ' ', 32);
	ok(memcmp(field, want, 32) == 0, "pad: empty text -> all blanks");
	ef_pad_utf8(field, sizeof(field), NULL);
	ok(memcmp(field, want, 32) == 0, "pad: NULL text -> all blanks");
	ef_pad_utf8(field, sizeof(field), "a\xFF" "b\tc");
	ok(memcmp(field, "a\xEF\xBF\xBD" "b c ", 8) == 0, "pad: invalid byte -> U+FFFD, control -> blank");
	{
		unsigned char guard[8];

		memset(guard, 'G', sizeof(guard));
		ef_pad_utf8(guard, 4, "0123456789");
		ok(memcmp(guard, "0123GGGG", 8) == 0, "pad: never writes past field_len");
	}
}

static void test_rfc_valid(void)
{
	static const char *good[] = {
		"CACX7605101P8", "EKU9003173C9", "AAA010101AAA", ("HA\xC3\x91" "930228SM9"),
		"IA\xC3\x91L750210963", "A&A010101AAA", "XAXX010101000", "VADA800927DJ3",
	};
	static const char *bad[] = {
		"", "CACX7605101P", "CACX7605101P8X", "CA7605101P8", "CACXX605101P8",
		"cacx7605101p8", "CACX7613101P8", "CACX7600101P8", "CACX7605321P8",
		"CACX7605001P8", "CACX760510-P8", "CACX 7605101P8", ("HA\xC3" "930228SM9"),
		("HA\xD1" "930228SM9"), "CACX7605101P8 ", "EKU9003173C9 / VADA800927DJ3",
		"CACX76O5101P8",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(ef_sat_rfc_valid(good[i]), "rfc_valid: '%s' accepted", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!ef_sat_rfc_valid(bad[i]), "rfc_valid: '%s' rejected", bad[i]);
	ok(!ef_sat_rfc_valid(NULL), "rfc_valid: NULL rejected");
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void test_cp1252(const char *keyonly)
{
	static const char *stems[] = {
		"csd_HAN930228SM9_certifica",
		"fiel_IANL750210963_certifica",
	};
	unsigned char out[64];

	for (size_t i = 0; i < sizeof(stems) / sizeof(stems[0]); i++) {
		char p8[1024], p1252[1024];
		unsigned char *u8, *cp;
		size_t u8_len = 0, cp_len = 0, n;

		snprintf(p8, sizeof(p8), "%s/%s.password.utf8.txt", keyonly, stems[i]);
		snprintf(p1252, sizeof(p1252), "%s/%s.password.cp1252.bin", keyonly, stems[i]);
		u8 = read_all(p8, &u8_len);
		cp = read_all(p1252, &cp_len);
		if (!ok(u8 != NULL && cp != NULL, "cp1252: read vectors for %s", stems[i])) {
			free(u8);
			free(cp);
			continue;
		}
		n = ef_sat_pin_cp1252(u8, u8_len, out, sizeof(out));
		is_ul(n, cp_len, "cp1252: %s length", stems[i]);
		ok(n == cp_len && memcmp(out, cp, cp_len) == 0, "cp1252: %s bytes match the .bin", stems[i]);
		n = ef_sat_pin_cp1252(u8, u8_len, out, cp_len - 1);
		is_ul(n, 0, "cp1252: %s does not fit one byte short", stems[i]);
		n = ef_sat_pin_cp1252(u8, u8_len, out, cp_len);
		is_ul(n, cp_len, "cp1252: %s fits exactly", stems[i]);
		free(u8);
		free(cp);
	}
	{
		/* € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ */
		static const char all80[] =
			"\xE2\x82\xAC\xE2\x80\x9A\xC6\x92\xE2\x80\x9E\xE2\x80\xA6\xE2\x80\xA0\xE2\x80\xA1"
			"\xCB\x86\xE2\x80\xB0\xC5\xA0\xE2\x80\xB9\xC5\x92\xC5\xBD\xE2\x80\x98\xE2\x80\x99"
			"\xE2\x80\x9C\xE2\x80\x9D\xE2\x80\xA2\xE2\x80\x93\xE2\x80\x94\xCB\x9C\xE2\x84\xA2"
			"\xC5\xA1\xE2\x80\xBA\xC5\x93\xC5\xBE\xC5\xB8";
		static const unsigned char want80[] = {
			0x80, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8E,
			0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9E, 0x9F,
		};
		size_t n = ef_sat_pin_cp1252((const unsigned char *)all80, strlen(all80), out, sizeof(out));

		ok(n == sizeof(want80) && memcmp(out, want80, n) == 0, "cp1252: the whole 0x80-0x9F row");
		n = ef_sat_pin_cp1252((const unsigned char *)"\xE2\x82\xAC", 3, out, sizeof(out));
		ok(n == 1 && out[0] == 0x80, "cp1252: € U+20AC -> 0x80");
		n = ef_sat_pin_cp1252((const unsigned char *)"a\xC2\xA0\xC3\xBF", 5, out, sizeof(out));
		ok(n == 3 && out[0] == 'a' && out[1] == 0xA0 && out[2] == 0xFF, "cp1252: U+00A0 and U+00FF map to themselves");
	}
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"12345678a", 9, out, sizeof(out)), 0,
	      "cp1252: pure ASCII -> 0 (no retry)");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"", 0, out, sizeof(out)), 0, "cp1252: empty -> 0");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"a\xF1", 2, out, sizeof(out)), 0,
	      "cp1252: invalid UTF-8 (already Latin-1) -> 0");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"a\xC3", 2, out, sizeof(out)), 0,
	      "cp1252: truncated UTF-8 -> 0");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"\xC0\xB1", 2, out, sizeof(out)), 0,
	      "cp1252: overlong UTF-8 -> 0");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"a\xE4\xB8\xAD", 4, out, sizeof(out)), 0,
	      "cp1252: U+4E2D not in Windows-1252 -> 0");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"a\xC2\x81", 3, out, sizeof(out)), 0,
	      "cp1252: U+0081 (undefined slot) -> 0");
	is_ul(ef_sat_pin_cp1252((const unsigned char *)"a\xC3\xB1", 3, NULL, 0), 0,
	      "cp1252: no output buffer -> 0");
	{
		unsigned char o2[4] = { 'x', 'x', 'x', 'x' };

		is_ul(ef_sat_pin_cp1252((const unsigned char *)"ab\xC3\xB1" "cd", 6, o2, sizeof(o2)), 0,
		      "cp1252: too long -> 0");
		ok(o2[0] == 0 && o2[1] == 0, "cp1252: a failed conversion leaves no PIN bytes behind");
	}
}

/* ---------------------------------------------------------------------
 * The real SAT test certificates: the test extracts the raw attribute
 * strings with OpenSSL itself and checks what sat.c makes of them.
 * ------------------------------------------------------------------- */

static enum ef_str_type str_type(int asn1_type)
{
	switch (asn1_type) {
	case V_ASN1_UTF8STRING: return EF_STR_UTF8;
	case V_ASN1_T61STRING: return EF_STR_LATIN1;
	case V_ASN1_BMPSTRING: return EF_STR_BMP;
	case V_ASN1_UNIVERSALSTRING: return EF_STR_UNIVERSAL;
	default: return EF_STR_ASCII;
	}
}

static struct ef_raw_str name_entry(const X509_NAME *name, int nid)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	struct ef_raw_str r = { NULL, 0, EF_STR_ASCII };
	const ASN1_STRING *v;

	if (idx < 0)
		return r;
	v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	r.bytes = ASN1_STRING_get0_data(v);
	r.len = (size_t)ASN1_STRING_length(v);
	r.type = str_type(ASN1_STRING_type(v));
	return r;
}

struct expect {
	const char *dir, *file;
	const char *rfc, *curp, *rep_rfc, *rep_curp, *numero, *holder, *branch, *label;
	enum ef_sat_kind kind;
	enum ef_sat_persona persona;
};

static void test_real(const char *root)
{
	/* From SOURCE.md's table. */
	static const struct expect ex[] = {
		{ "fiel-pf-CACX7605101P8-2023", "CACX7605101P8_fiel.cer", "CACX7605101P8", "CACX760510MGTSHC04",
		  "", "", "30001000000500003282", "XOCHILT CASAS CHAVEZ", "", "e.firma CACX7605101P8",
		  EF_SAT_EFIRMA, EF_SAT_FISICA },
		{ "fiel-pm-EKU9003173C9-2023", "EKU9003173C9_fiel.cer", "EKU9003173C9", "", "VADA800927DJ3",
		  "VADA800927HSRSRL05", "30001000000500003415", "ESCUELA KEMPER URGATE SA DE CV", "",
		  "e.firma EKU9003173C9", EF_SAT_EFIRMA, EF_SAT_MORAL },
		{ "csd-pf-CACX7605101P8-2023", "CACX7605101P8_csd.cer", "CACX7605101P8", "CACX760510MGTSHC04",
		  "", "", "30001000000500003316", "XOCHILT CASAS CHAVEZ", "Sucirsa 1", "CSD CACX7605101P8",
		  EF_SAT_CSD, EF_SAT_FISICA },
		{ "csd-pm-EKU9003173C9-2023", "EKU9003173C9_csd.cer", "EKU9003173C9", "", "VADA800927DJ3",
		  "VADA800927HSRSRL05", "30001000000500003416", "ESCUELA KEMPER URGATE SA DE CV", "Sucursal 1",
		  "CSD EKU9003173C9", EF_SAT_CSD, EF_SAT_MORAL },
		{ "fiel-pf-IANL750210963-2019-expired", "IANL750210963_fiel.cer", "IA\xC3\x91L750210963",
		  "IANL750210HSRNZS09", "", "", "30001000000400002431", "LUIS IAN \xC3\x91UZCO", "",
		  "e.firma IA\xC3\x91L750210963", EF_SAT_EFIRMA, EF_SAT_FISICA },
		{ "fiel-pm-HAN930228SM9-2019-expired", "HAN930228SM9_fiel.cer", "HA\xC3\x91" "930228SM9", "",
		  "KAHO641101B39", "KAHO641101HNTLKS06", "30001000000400002421",
		  "HERMANOS ANZURES \xC3\x91" "ARVAEZ SA", "", "e.firma HA\xC3\x91" "930228SM9",
		  EF_SAT_EFIRMA, EF_SAT_MORAL },
		{ "csd-pm-AAA010101AAA-2017-expired", NULL, "AAA010101AAA", "", "HEGT7610034S2",
		  "HEGT761003MDFRNN09", "30001000000300023708", NULL, "CSD01_AAA010101AAA",
		  "CSD AAA010101AAA", EF_SAT_CSD, EF_SAT_MORAL },
		{ "fiel-pm-AAA010101AAA-2017-expired", NULL, "AAA010101AAA", "", "HEGT7610034S2",
		  "HEGT761003MDFRNN09", "30001000000300023685", NULL, "", "e.firma AAA010101AAA",
		  EF_SAT_EFIRMA, EF_SAT_MORAL },
	};

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		const struct expect *e = &ex[i];
		char path[2048];
		unsigned char *der;
		const unsigned char *p;
		size_t der_len = 0;
		X509 *x = NULL;
		struct ef_sat_subject s;
		struct ef_sat_facts f;
		const ASN1_INTEGER *sn;
		uint32_t ku;
		char label[64];

		if (e->file != NULL) {
			snprintf(path, sizeof(path), "%s/%s/%s", root, e->dir, e->file);
		} else {
			/* The 2017 folders name the .cer differently: take the
			 * one DER .cer there. */
			snprintf(path, sizeof(path), "%s/%s/%s", root, e->dir,
				 strncmp(e->dir, "csd", 3) == 0 ? "AAA010101AAA_csd01.cer" : "AAA010101AAA_fiel.cer");
		}
		der = read_all(path, &der_len);
		p = der;
		if (der != NULL)
			x = d2i_X509(NULL, &p, (long)der_len);
		if (!ok(x != NULL, "real: parse %s", path)) {
			free(der);
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.cn = name_entry(X509_get_subject_name(x), NID_commonName);
		s.ou = name_entry(X509_get_subject_name(x), NID_organizationalUnitName);
		s.unique_id = name_entry(X509_get_subject_name(x), NID_x500UniqueIdentifier);
		s.serial_attr = name_entry(X509_get_subject_name(x), NID_serialNumber);
		sn = X509_get0_serialNumber(x);
		s.serial = ASN1_STRING_get0_data(sn);
		s.serial_len = (size_t)ASN1_STRING_length(sn);
		ku = X509_get_key_usage(x);
		s.has_key_usage = ku != UINT32_MAX;
		/* OpenSSL's KU_* constants follow the DER bit string layout;
		 * map them to RFC 5280 bit numbers. */
		if (s.has_key_usage) {
			if (ku & KU_DIGITAL_SIGNATURE) s.key_usage |= EF_KU_DIGITAL_SIGNATURE;
			if (ku & KU_NON_REPUDIATION) s.key_usage |= EF_KU_NON_REPUDIATION;
			if (ku & KU_KEY_ENCIPHERMENT) s.key_usage |= EF_KU_KEY_ENCIPHERMENT;
			if (ku & KU_DATA_ENCIPHERMENT) s.key_usage |= EF_KU_DATA_ENCIPHERMENT;
			if (ku & KU_KEY_AGREEMENT) s.key_usage |= EF_KU_KEY_AGREEMENT;
		}
		if (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) {
			uint32_t xku = X509_get_extended_key_usage(x);

			if (xku & XKU_SSL_CLIENT) s.ext_key_usage |= EF_EKU_CLIENT_AUTH;
			if (xku & XKU_SMIME) s.ext_key_usage |= EF_EKU_EMAIL_PROTECTION;
		}
		ok(ef_sat_facts_from(&s, &f), "real %s: is a SAT certificate", e->dir);
		is_str(f.rfc, e->rfc, "real %s: rfc", e->dir);
		is_str(f.curp, e->curp, "real %s: curp", e->dir);
		is_str(f.rep_rfc, e->rep_rfc, "real %s: rep_rfc", e->dir);
		is_str(f.rep_curp, e->rep_curp, "real %s: rep_curp", e->dir);
		is_str(f.numero, e->numero, "real %s: numero", e->dir);
		if (e->holder != NULL)
			is_str(f.holder, e->holder, "real %s: holder", e->dir);
		is_str(f.branch, e->branch, "real %s: branch", e->dir);
		is_ul(f.kind, e->kind, "real %s: kind", e->dir);
		is_ul(f.persona, e->persona, "real %s: persona", e->dir);
		ok(ef_sat_rfc_valid(f.rfc), "real %s: rfc_valid", e->dir);
		ef_sat_token_label(&f, label, sizeof(label));
		is_str(label, e->label, "real %s: token label", e->dir);
		ef_sat_facts_clear(&f);
		X509_free(x);
		free(der);
	}
}

int main(int argc, char **argv)
{
	const char *keyonly = argc > 1 ? argv[1] : DEFAULT_KEYONLY;
	char *copy = strdup(keyonly);
	const char *root = copy ? dirname(copy) : ".";

	TAP_PART(test_to_utf8());
	TAP_PART(test_t61_with_utf8());
	TAP_PART(test_facts());
	TAP_PART(test_numero());
	TAP_PART(test_labels());
	TAP_PART(test_rfc_valid());
	TAP_PART(test_cp1252(keyonly));
	TAP_PART(test_real(root));
	free(copy);
	return tap_done();
}
