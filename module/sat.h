/*
 * sat.h - what SAT's files mean: RFC, CURP, número de certificado, e.firma
 * versus CSD, persona física versus moral, labels and text encodings.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure functions: no I/O, no OpenSSL, no PKCS#11 state.  x509.c extracts
 * the raw values from the certificate; this file interprets them.
 */
#ifndef EF_SAT_H
#define EF_SAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the bytes of a directory string are encoded in the certificate. */
enum ef_str_type {
	EF_STR_ASCII,     /* PrintableString, IA5String, VisibleString, NumericString */
	EF_STR_UTF8,      /* UTF8String */
	EF_STR_LATIN1,    /* T61String/TeletexString: SAT writes Latin-1 bytes */
	EF_STR_BMP,       /* BMPString, UCS-2 big endian */
	EF_STR_UNIVERSAL, /* UniversalString, UCS-4 big endian */
};

/* A raw value as found in the certificate; bytes == NULL when absent. */
struct ef_raw_str {
	const unsigned char *bytes;
	size_t len;
	enum ef_str_type type;
};

/* Returns a malloc'd, NUL-terminated, always valid UTF-8 copy (invalid or
 * unrepresentable input becomes U+FFFD), or NULL on allocation failure.
 * An absent value gives "". */
char *ef_sat_to_utf8(const struct ef_raw_str *s);

/* Text from a certificate, a file or a peer made safe for a terminal or a
 * log line: every control character (C0, DEL, and C1 in UTF-8 form) and
 * every byte that is not part of valid UTF-8 is written as a visible
 * escape (\n, \r, \t, \xHH, \u00HH), and a backslash as \\, so the
 * output cannot move the cursor, forge a line or pass for an escape.
 * Valid UTF-8 otherwise passes unchanged.  Writes at most size bytes to out
 * (NUL-terminated when size > 0, cut only between characters/escapes) and,
 * like snprintf, returns the length the whole escaped text needs. */
size_t ef_escape_text(const char *in, size_t len, char *out, size_t size);

/* keyUsage bits as in RFC 5280 (bit 0 = digitalSignature). */
#define EF_KU_DIGITAL_SIGNATURE  (1u << 0)
#define EF_KU_NON_REPUDIATION    (1u << 1)
#define EF_KU_KEY_ENCIPHERMENT   (1u << 2)
#define EF_KU_DATA_ENCIPHERMENT  (1u << 3)
#define EF_KU_KEY_AGREEMENT      (1u << 4)
#define EF_KU_KEY_CERT_SIGN      (1u << 5)
#define EF_KU_CRL_SIGN           (1u << 6)

#define EF_EKU_CLIENT_AUTH       (1u << 0)
#define EF_EKU_EMAIL_PROTECTION  (1u << 1)

enum ef_sat_kind { EF_SAT_UNKNOWN = 0, EF_SAT_EFIRMA = 1, EF_SAT_CSD = 2 };
enum ef_sat_persona { EF_SAT_FISICA = 1, EF_SAT_MORAL = 2 };

/* The SAT facts of one certificate, all UTF-8, NUL-terminated. */
struct ef_sat_facts {
	char rfc[32];        /* the holder's RFC, e.g. "CACX7605101P8", "HAÑ930228SM9" */
	char curp[32];       /* the holder's CURP; "" for a company */
	char rep_rfc[32];    /* persona moral: the representative's RFC, else "" */
	char rep_curp[32];   /* persona moral: the representative's CURP, else "" */
	char numero[48];     /* the 20-digit número de certificado */
	char *holder;        /* malloc'd: the holder's name (CN) */
	char *branch;        /* malloc'd: the OU (CSD branch), or "" */
	enum ef_sat_kind kind;
	enum ef_sat_persona persona;
};

/* What x509.c reads from a certificate for ef_sat_facts_from. */
struct ef_sat_subject {
	struct ef_raw_str cn;           /* 2.5.4.3 */
	struct ef_raw_str ou;           /* 2.5.4.11 */
	struct ef_raw_str unique_id;    /* x500UniqueIdentifier 2.5.4.45: "RFC" or "RFC / REP-RFC" */
	struct ef_raw_str serial_attr;  /* serialNumber 2.5.4.5: "CURP" or " / REP-CURP" */
	const unsigned char *serial;    /* the X.509 serial INTEGER contents (no tag/length) */
	size_t serial_len;
	uint32_t key_usage;             /* EF_KU_*; 0 when the extension is absent */
	bool has_key_usage;
	uint32_t ext_key_usage;         /* EF_EKU_* */
};

/* Interprets the subject; false when the certificate carries no RFC at all
 * (not a SAT certificate), in which case *f is still usable (rfc "").
 * Free with ef_sat_facts_clear. */
bool ef_sat_facts_from(const struct ef_sat_subject *subj, struct ef_sat_facts *f);
void ef_sat_facts_clear(struct ef_sat_facts *f);

/* The número de certificado from the serial INTEGER contents: SAT stores
 * the ASCII digits; anything else is rendered as uppercase hex. */
void ef_sat_numero(const unsigned char *serial, size_t len, char *out, size_t out_size);

/* "e.firma RFC" / "CSD RFC" (or "SAT RFC" for an unknown kind). */
void ef_sat_token_label(const struct ef_sat_facts *f, char *out, size_t out_size);

/* Writes the UTF-8 form of a code point the caller has already checked
 * (not a surrogate, at most U+10FFFF); returns the bytes written (1-4). */
size_t ef_utf8_put(unsigned char *out, uint32_t cp);

/* Copies UTF-8 text into a fixed PKCS#11 field: blank padded, never NUL,
 * cut only on a character boundary, ':' replaced by '-' (NSS nicknames are
 * "token:label"). */
void ef_pad_utf8(unsigned char *field, size_t field_len, const char *text);

/* RFC syntax: 3 (company) or 4 (person) letters incl. Ñ and &, 6 digits of
 * date, 3 alphanumerics. */
bool ef_sat_rfc_valid(const char *rfc);

/* Windows-1252 form of a UTF-8 PIN, for keys made by SAT's Certifica.
 * Returns the number of bytes written, or 0 when the PIN is pure ASCII (no
 * retry needed), is not valid UTF-8, has a character outside Windows-1252,
 * or does not fit. */
size_t ef_sat_pin_cp1252(const unsigned char *pin, size_t pin_len,
			 unsigned char *out, size_t out_size);

#endif
