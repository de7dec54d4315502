/*
 * sat.c - what SAT's files mean (see sat.h and doc/DESIGN.md §2).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure: no I/O, no OpenSSL, no PKCS#11 state.  Every input here comes from
 * a certificate or a user, so every byte sequence must be handled without
 * reading out of bounds and every output must be valid UTF-8.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sat.h"

#define EF_REPLACEMENT 0xFFFDu

/* ------------------------------------------------------------- UTF-8 */

size_t ef_utf8_put(unsigned char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* One big-endian code unit of width bytes (UCS-2: 2, UCS-4: 4) from
 * s[0..len): its length and value, or, cut short, all that is left and
 * U+FFFD. */
static size_t get_unit(const unsigned char *s, size_t len, size_t width, uint32_t *cp)
{
	if (len < width) {
		*cp = EF_REPLACEMENT;
		return len;
	}
	*cp = 0;
	for (size_t k = 0; k < width; k++)
		*cp = (*cp << 8) | s[k];
	return width;
}

/* Decodes one character of s[0..len).  On success returns its length and
 * sets *cp; on an invalid sequence returns 0 and sets *skip to the length
 * of the maximal ill-formed prefix (at least 1), so that one bad sequence
 * becomes one U+FFFD, as Unicode 15 section 3.9 ("U+FFFD Substitution of
 * Maximal Subparts") recommends.  Overlong forms, surrogates and values
 * above U+10FFFF are invalid (RFC 3629 section 3). */
static size_t get_utf8(const unsigned char *s, size_t len, uint32_t *cp, size_t *skip)
{
	/* Unicode 15 Table 3-7, "Well-Formed UTF-8 Byte Sequences": by the
	 * first byte, the length and the range of the second byte, which
	 * excludes overlong forms (E0, F0), surrogates (ED) and values above
	 * U+10FFFF (F4).  Any other first byte (C0, C1, F5..FF, a stray
	 * continuation) starts no character. */
	static const struct {
		unsigned char first_lo, first_hi, need, mask, lo, hi;
	} forms[] = {
		{ 0xC2, 0xDF, 2, 0x1F, 0x80, 0xBF },
		{ 0xE0, 0xE0, 3, 0x0F, 0xA0, 0xBF },
		{ 0xE1, 0xEC, 3, 0x0F, 0x80, 0xBF },
		{ 0xED, 0xED, 3, 0x0F, 0x80, 0x9F },
		{ 0xEE, 0xEF, 3, 0x0F, 0x80, 0xBF },
		{ 0xF0, 0xF0, 4, 0x07, 0x90, 0xBF },
		{ 0xF1, 0xF3, 4, 0x07, 0x80, 0xBF },
		{ 0xF4, 0xF4, 4, 0x07, 0x80, 0x8F },
	};
	unsigned char b = s[0];
	size_t need = 0;
	unsigned char lo = 0x80, hi = 0xBF;  /* range of the second byte */
	uint32_t v = 0;

	*skip = 1;
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		if (b >= forms[f].first_lo && b <= forms[f].first_hi) {
			need = forms[f].need;
			v = b & forms[f].mask;
			lo = forms[f].lo;
			hi = forms[f].hi;
			break;
		}
	}
	if (need == 0)
		return 0;
	for (size_t i = 1; i < need; i++) {
		unsigned char c;

		if (i >= len)
			return 0;
		c = s[i];
		if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF))
			return 0;
		v = (v << 6) | (c & 0x3F);
		*skip = i + 1;
	}
	*cp = v;
	return need;
}

/* The code point a certificate string may contribute to a label: NUL and
 * surrogates (lone halves, or UCS-4 values in the surrogate range) and
 * values beyond Unicode are replaced. */
static uint32_t sanitize_cp(uint32_t cp)
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return EF_REPLACEMENT;
	return cp;
}

/* Appends piece[0..n) to out[size] at *o when it fits whole; once a piece
 * does not fit, nothing more is written (so an escape is never cut). */
static void put_piece(char *out, size_t size, size_t *o, bool *full, const char *piece,
		      size_t n)
{
	if (!*full && size > 0 && *o + n < size)
		memcpy(out + *o, piece, n);
	else
		*full = true;
	*o += n;
}

size_t ef_escape_text(const char *in, size_t len, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, written = 0;
	bool full = false;

	for (size_t i = 0; i < len;) {
		char esc[8];
		uint32_t cp;
		size_t skip, n = get_utf8(s + i, len - i, &cp, &skip);

		if (n == 0) {
			/* Not UTF-8: one byte shown as \xHH, so a lone 0x9B
			 * (CSI for a Latin-1 terminal) is never sent raw. */
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			put_piece(out, size, &o, &full, esc, 4);
			i++;
		} else if (cp == '\\') {
			put_piece(out, size, &o, &full, "\\\\", 2);
			i++;
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			esc[0] = '\\';
			esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
			put_piece(out, size, &o, &full, esc, 2);
			i++;
		} else if (cp < 0x20 || cp == 0x7F) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
			put_piece(out, size, &o, &full, esc, 4);
			i++;
		} else if (cp >= 0x80 && cp <= 0x9F) {
			/* C1 controls in UTF-8 form (U+009B is CSI too). */
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			put_piece(out, size, &o, &full, esc, 6);
			i += n;
		} else {
			put_piece(out, size, &o, &full, in + i, n);
			i += n;
		}
		if (!full)
			written = o;
	}
	if (size > 0)
		out[written] = '\0';
	return o;
}

/* True when the bytes have at least one non-ASCII character and all of
 * them form valid UTF-8. */
static bool is_non_ascii_utf8(const unsigned char *in, size_t len)
{
	bool high = false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t skip, n = get_utf8(in + i, len - i, &cp, &skip);
		if (n == 0)
			return false;
		high |= cp >= 0x80;
		i += n;
	}
	return high;
}

char *ef_sat_to_utf8(const struct ef_raw_str *s)
{
	const unsigned char *in;
	unsigned char *out, *o;
	size_t len, i = 0;
	enum ef_str_type type;

	if (s == NULL || s->bytes == NULL)
		return strdup("");
	in = s->bytes;
	len = s->len;
	type = s->type;
	/* Some CA software puts UTF-8 bytes in a T61String (SAT's OCSP
	 * certificate: "Informaci\xC3\xB3n").  Latin-1 names essentially never
	 * form valid multi-byte UTF-8 ("Ã" followed by a C1 control), so
	 * valid UTF-8 is read as UTF-8. */
	if ((type == EF_STR_LATIN1 || type == EF_STR_ASCII) && is_non_ascii_utf8(in, len))
		type = EF_STR_UTF8;
	/* Worst case: every input byte becomes a 3-byte U+FFFD (UTF-8 with
	 * garbage, Latin-1 takes at most 2, UCS-2 2 bytes -> 3, UCS-4 4 -> 4). */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(3 * len + 1);
	if (out == NULL)
		return NULL;
	o = out;

	while (i < len) {
		uint32_t cp;
		size_t n, skip;

		switch (type) {
		case EF_STR_UTF8:
			n = get_utf8(in + i, len - i, &cp, &skip);
			if (n == 0) {
				cp = EF_REPLACEMENT;
				n = skip;
			}
			break;
		case EF_STR_BMP:
			n = get_unit(in + i, len - i, 2, &cp);
			/* UCS-2 has no surrogates, but some writers emit UTF-16:
			 * a well-formed pair is accepted, a lone half is not. */
			if (cp >= 0xD800 && cp <= 0xDBFF && len - i >= 4) {
				uint32_t lo;

				get_unit(in + i + 2, len - i - 2, 2, &lo);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					n = 4;
				}
			}
			break;
		case EF_STR_UNIVERSAL:
			n = get_unit(in + i, len - i, 4, &cp);
			break;
		case EF_STR_LATIN1:
		case EF_STR_ASCII:
		default:
			/* T61String as SAT writes it is Latin-1 (0xD1 = Ñ).  An
			 * "ASCII" type with high bytes is out of spec; reading it
			 * as Latin-1 keeps the name legible instead of
			 * discarding it. */
			cp = in[i];
			n = 1;
			break;
		}
		o += ef_utf8_put(o, sanitize_cp(cp));
		i += n;
	}
	*o = '\0';
	return (char *)out;
}

/* Number of characters in valid UTF-8 text (each lead byte counts one). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/* Copies s[0..len) into dst[size] NUL-terminated, cutting before a
 * character that would not fit whole. */
static void copy_utf8_cut(char *dst, size_t size, const char *s, size_t len)
{
	size_t n;

	if (size == 0)
		return;
	n = len < size - 1 ? len : size - 1;
	if (n < len) {
		/* Back up over continuation bytes to a character start. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trimmed copy of s[0..len) into dst. */
static void copy_trimmed(char *dst, size_t size, const char *s, size_t len)
{
	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	copy_utf8_cut(dst, size, s, len);
}

/* "A / B" -> a = "A", b = "B"; no '/' -> a = the whole text, b = "".
 * SAT writes x500UniqueIdentifier and serialNumber of a persona moral as
 * "company / representative" (the company has no CURP, so that one reads
 * " / CURP"). */
static void split_pair(const char *text, char *a, size_t a_size, char *b, size_t b_size)
{
	const char *slash = strchr(text, '/');

	if (slash == NULL) {
		copy_trimmed(a, a_size, text, strlen(text));
		copy_trimmed(b, b_size, "", 0);
		return;
	}
	copy_trimmed(a, a_size, text, (size_t)(slash - text));
	copy_trimmed(b, b_size, slash + 1, strlen(slash + 1));
}

static char *trimmed_dup(const struct ef_raw_str *s)
{
	char *t = ef_sat_to_utf8(s);
	size_t start = 0, end;

	if (t == NULL)
		return NULL;
	end = strlen(t);
	while (start < end && is_blank(t[start]))
		start++;
	while (end > start && is_blank(t[end - 1]))
		end--;
	memmove(t, t + start, end - start);
	t[end - start] = '\0';
	return t;
}

static enum ef_sat_kind classify(const struct ef_sat_subject *subj, bool has_ou)
{
	const uint32_t enc = EF_KU_DATA_ENCIPHERMENT | EF_KU_KEY_AGREEMENT;
	uint32_t ku = subj->has_key_usage ? subj->key_usage : 0;

	/* doc/DESIGN.md §2: "e.firma: keyUsage digitalSignature,
	 * nonRepudiation, dataEncipherment, keyAgreement; EKU clientAuth +
	 * emailProtection; no OU.  CSD: keyUsage digitalSignature +
	 * nonRepudiation, and an OU (the branch)."  The OU is the CSD's mark;
	 * it only counts when nothing says e.firma. */
	if (has_ou && (ku & enc) == 0 && (subj->ext_key_usage & EF_EKU_CLIENT_AUTH) == 0)
		return EF_SAT_CSD;
	if ((ku & enc) != 0 ||
	    (subj->ext_key_usage & (EF_EKU_CLIENT_AUTH | EF_EKU_EMAIL_PROTECTION)) != 0)
		return EF_SAT_EFIRMA;
	return EF_SAT_UNKNOWN;
}

bool ef_sat_facts_from(const struct ef_sat_subject *subj, struct ef_sat_facts *f)
{
	char *uid = NULL, *ser = NULL;
	bool ok = false;

	memset(f, 0, sizeof(*f));
	f->persona = EF_SAT_FISICA;
	if (subj == NULL)
		return false;

	f->holder = trimmed_dup(&subj->cn);
	f->branch = trimmed_dup(&subj->ou);
	uid = ef_sat_to_utf8(&subj->unique_id);
	ser = ef_sat_to_utf8(&subj->serial_attr);
	if (f->holder == NULL || f->branch == NULL || uid == NULL || ser == NULL)
		goto out;

	split_pair(uid, f->rfc, sizeof(f->rfc), f->rep_rfc, sizeof(f->rep_rfc));
	split_pair(ser, f->curp, sizeof(f->curp), f->rep_curp, sizeof(f->rep_curp));

	/* An RFC has 12 characters for a company and 13 for a person (the
	 * count is in characters: "HAÑ930228SM9" is 12 of them in 13 bytes),
	 * and only a company names a legal representative. */
	if (f->rep_rfc[0] != '\0' || f->rep_curp[0] != '\0' || utf8_chars(f->rfc) == 12)
		f->persona = EF_SAT_MORAL;
	if (f->persona == EF_SAT_MORAL && f->rep_curp[0] == '\0' && f->curp[0] != '\0') {
		/* A company has no CURP: a lone one is the representative's. */
		memcpy(f->rep_curp, f->curp, sizeof(f->rep_curp));
		f->curp[0] = '\0';
	}

	f->kind = classify(subj, f->branch[0] != '\0');
	ef_sat_numero(subj->serial, subj->serial_len, f->numero, sizeof(f->numero));
	ok = f->rfc[0] != '\0';
out:
	free(uid);
	free(ser);
	return ok;
}

void ef_sat_facts_clear(struct ef_sat_facts *f)
{
	if (f == NULL)
		return;
	free(f->holder);
	free(f->branch);
	memset(f, 0, sizeof(*f));
}

void ef_sat_numero(const unsigned char *serial, size_t len, char *out, size_t out_size)
{
	static const char hex[] = "0123456789ABCDEF";
	bool digits = true;
	size_t o = 0;

	if (out == NULL || out_size == 0)
		return;
	out[0] = '\0';
	if (serial == NULL)
		return;
	/* DER prefixes a 0x00 when the first content byte has its top bit
	 * set; it is not part of the number. */
	if (len > 1 && serial[0] == 0x00) {
		serial++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (serial[i] < '0' || serial[i] > '9') {
			digits = false;
			break;
		}
	}
	/* SAT: "The X.509 serial is the ASCII of the 20-digit número de
	 * certificado" (doc/DESIGN.md §2). */
	if (digits) {
		for (size_t i = 0; i < len && o + 1 < out_size; i++)
			out[o++] = (char)serial[i];
	} else {
		for (size_t i = 0; i < len && o + 2 < out_size; i++) {
			out[o++] = hex[serial[i] >> 4];
			out[o++] = hex[serial[i] & 0x0F];
		}
	}
	out[o] = '\0';
}

void ef_sat_token_label(const struct ef_sat_facts *f, char *out, size_t out_size)
{
	const char *prefix;
	size_t plen, rlen;

	if (out == NULL || out_size == 0)
		return;
	out[0] = '\0';
	if (f == NULL)
		return;
	switch (f->kind) {
	case EF_SAT_EFIRMA:
		prefix = "e.firma";
		break;
	case EF_SAT_CSD:
		prefix = "CSD";
		break;
	default:
		prefix = "SAT";
		break;
	}
	plen = strlen(prefix);
	copy_utf8_cut(out, out_size, prefix, plen);
	rlen = strnlen(f->rfc, sizeof(f->rfc));
	if (rlen == 0 || plen + 1 >= out_size)
		return;
	out[plen] = ' ';
	copy_utf8_cut(out + plen + 1, out_size - plen - 1, f->rfc, rlen);
}

void ef_pad_utf8(unsigned char *field, size_t field_len, const char *text)
{
	static const unsigned char fffd[3] = { 0xEF, 0xBF, 0xBD };
	const unsigned char *t = (const unsigned char *)text;
	size_t o = 0, len;

	if (field == NULL || field_len == 0)
		return;
	/* [PKCS#11 3.0 section 3.2] CK_UTF8CHAR fields "must be padded with
	 * the blank character (' ')" and "should not be null-terminated". */
	memset(field, ' ', field_len);
	if (t == NULL)
		return;
	len = strlen(text);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t skip, n = get_utf8(t + i, len - i, &cp, &skip);
		const unsigned char *src = t + i;

		if (n == 0) {
			/* Labels may come from a configuration file: keep
			 * the field valid UTF-8 whatever it held. */
			src = fffd;
			n = sizeof(fffd);
			i += skip;
		} else {
			i += n;
		}
		if (o + n > field_len)
			break;
		if (n == 1) {
			unsigned char c = src[0];

			/* WORKAROUND(NSS): nicknames are "token:label", so a
			 * colon in a token label splits the name wrongly. */
			if (c == ':')
				c = '-';
			else if (c < 0x20 || c == 0x7F)
				c = ' ';    /* a fixed-width display field */
			field[o++] = c;
		} else {
			memcpy(field + o, src, n);
			o += n;
		}
	}
}

/* ------------------------------------------------------------------ RFC */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool two_digits(const char *s, int lo, int hi)
{
	int v;

	if (!is_digit(s[0]) || !is_digit(s[1]))
		return false;
	v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi;
}

bool ef_sat_rfc_valid(const char *rfc)
{
	const char *p = rfc;
	int letters = 0;

	if (rfc == NULL)
		return false;
	/* Name part: A-Z, Ñ (UTF-8 C3 91) and '&', 3 for a company, 4 for a
	 * person. */
	for (;;) {
		if (*p >= 'A' && *p <= 'Z') {
			p++;
		} else if (*p == '&') {
			p++;
		} else if ((unsigned char)p[0] == 0xC3 && (unsigned char)p[1] == 0x91) {
			p += 2;
		} else {
			break;
		}
		letters++;
		if (letters > 4)
			return false;
	}
	if (letters < 3)
		return false;
	/* Date of birth or incorporation, YYMMDD. */
	for (int i = 0; i < 6; i++) {
		if (!is_digit(p[i]))
			return false;
	}
	if (!two_digits(p + 2, 1, 12) || !two_digits(p + 4, 1, 31))
		return false;
	p += 6;
	/* Homoclave (2) and check digit (1). */
	for (int i = 0; i < 3; i++) {
		if (!((p[i] >= 'A' && p[i] <= 'Z') || is_digit(p[i])))
			return false;
	}
	return p[3] == '\0';
}

/* -------------------------------------------------------- Windows-1252 */

/* Windows-1252 differs from Latin-1 only in 0x80..0x9F; these are the
 * code points of that row (0 = undefined: 0x81, 0x8D, 0x8F, 0x90, 0x9D). */
static const uint16_t cp1252_80[32] = {
	0x20AC, 0x0000, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x0000, 0x017D, 0x0000,
	0x0000, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x0000, 0x017E, 0x0178,
};

static bool cp1252_byte(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF)) {
		*b = (unsigned char)cp;
		return true;
	}
	/* U+0080..U+009F themselves have no Windows-1252 byte. */
	for (unsigned i = 0; i < 32; i++) {
		if (cp1252_80[i] != 0 && cp1252_80[i] == cp) {
			*b = (unsigned char)(0x80 + i);
			return true;
		}
	}
	return false;
}

size_t ef_sat_pin_cp1252(const unsigned char *pin, size_t pin_len,
			 unsigned char *out, size_t out_size)
{
	bool ascii = true;
	size_t o = 0;

	if (pin == NULL || out == NULL)
		return 0;
	for (size_t i = 0; i < pin_len; i++) {
		if (pin[i] >= 0x80) {
			ascii = false;
			break;
		}
	}
	/* A pure ASCII PIN has the same bytes in both encodings: no retry. */
	if (ascii)
		return 0;
	/* SOURCE.md: keys made by SAT's Certifica were encrypted with the
	 * password's Windows-1252 bytes. */
	for (size_t i = 0; i < pin_len;) {
		uint32_t cp;
		size_t skip, n = get_utf8(pin + i, pin_len - i, &cp, &skip);

		if (n == 0 || o >= out_size || !cp1252_byte(cp, &out[o]))
			goto fail;
		o++;
		i += n;
	}
	return o;
fail:
	/* Part of a secret: leave nothing behind. */
	explicit_bzero(out, out_size);
	return 0;
}
