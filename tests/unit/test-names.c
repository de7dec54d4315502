/*
 * test-names.c - unit tests for the rule that pairs a key file with a
 * certificate file by name (module/folder.c ef_names_pair), and for the
 * places that must follow it: the scan's stem index and the search for an
 * RFC among the words of the folder's key names.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folder.h"
#include "tap.h"

static void test_rule(void)
{
	static const struct {
		const char *cert, *key;
		bool pair;
		const char *why;
	} cases[] = {
		{ "00001000000500003282.cer", "00001000000500003282.key", true,
		  "SAT's certificate name with a key of the same name" },
		{ "00001000000500003282.CER", "00001000000500003282.key", true,
		  "an upper-case extension (a FAT stick, a Windows copy)" },
		{ "CACX7605101P8_fiel.cer", "cacx7605101p8_FIEL.key", true,
		  "the stem in another case" },
		{ "a.b.cer", "A.B.key", true, "a stem with a dot: up to the last one" },
		{ "a.cer", "a.b.key", false, "a.cer and a.b.key: different stems" },
		{ "ab.cer", "a.key", false, "a stem that is a prefix of the other's" },
		{ "a.cer", "ab.key", false, "the other way round" },
		{ "00001000000500003282.cer", "Claveprivada_FIEL_CACX7605101P8_20230509_114423.key",
		  false, "SAT's download names do not pair (the RFC search finds the key)" },
		{ "c\xc3\xb1.cer", "C\xc3\xb1.key", true, "non-ASCII bytes compare as they are" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(ef_names_pair(cases[i].cert, cases[i].key) == cases[i].pair, "rule: %s (%s ~ %s)",
		   cases[i].why, cases[i].cert, cases[i].key);
	ok(ef_is_cert_name("x.cer") && ef_is_cert_name("X.CER") && ef_is_cert_name("x.crt") &&
	   ef_is_cert_name("x.Crt"), "names: .cer and .crt in any case are certificates");
	ok(!ef_is_cert_name("x.cer.bak") && !ef_is_cert_name(".cer") && !ef_is_cert_name("x.key"),
	   "names: x.cer.bak, .cer alone and x.key are not");
	ok(ef_is_key_name("x.key") && ef_is_key_name("X.KEY") && !ef_is_key_name(".key") &&
	   !ef_is_key_name("x.pem"), "names: .key in any case is a key; .key alone, x.pem are not");
}

/* The scan pairs through a sorted index: it must find exactly what the
 * rule pairs, and the first such key in listing order. */
static void test_index(void)
{
	char *names[] = { "B.key", "a.b.key", "a.key", "b.KEY", "c.key", "ca.key" };
	const char *certs[] = { "A.cer", "a.b.cer", "b.cer", "C.CER", "cb.cer", "d.cer" };
	size_t n = sizeof(names) / sizeof(names[0]);
	struct ef_dir_entry e[sizeof(names) / sizeof(names[0])];
	struct ef_stem *idx;
	bool agree = true;

	memset(e, 0, sizeof(e));
	for (size_t i = 0; i < n; i++)
		e[i].name = names[i];
	idx = ef_stem_index(e, n);
	if (!ok(idx != NULL, "index: built"))
		return;
	for (size_t c = 0; c < sizeof(certs) / sizeof(certs[0]); c++) {
		const struct ef_stem *hit = ef_stem_find(idx, n, certs[c]);
		size_t first = n;
		for (size_t i = 0; i < n && first == n; i++)
			if (ef_names_pair(certs[c], names[i]))
				first = i;
		if ((hit ? hit->index : n) != first) {
			agree = false;
			tap_diag("%s: index found %s, the rule %s", certs[c],
				 hit ? names[hit->index] : "nothing", first < n ? names[first] : "nothing");
		}
	}
	ok(agree, "index: finds what the rule pairs, the first in listing order");
	free(idx);
}

/* A key that carries the certificate's RFC as a word of its name is tried
 * first, the RFC matched in any case like the stems. */
static void test_rfc_word(void)
{
	struct ef_dir_entry keys[3];
	size_t pick[] = { 0, 1, 2 };
	struct ef_key_candidate out[EF_KEYDIR_MAX_NARROWED + EF_KEYDIR_MAX_OTHERS];
	struct ef_file_id id;
	struct ef_keydir *kd = NULL;
	size_t n = 0;

	memset(keys, 0, sizeof(keys));
	memset(out, 0, sizeof(out));
	memset(&id, 0, sizeof(id));
	keys[0].name = "aaa_otra.key";
	keys[1].name = "claveprivada_fiel_cacx7605101p8_20230509_114423.key";
	keys[2].name = "zzz.key";
	if (!ok(ef_keydir_new("/nonexistent", keys, pick, 3, NULL, &kd) == CKR_OK,
		"rfc: an index of three keys"))
		return;
	ok(ef_keydir_pick(kd, "00001000000500003282.cer", "CACX7605101P8", &id, out, &n) == CKR_OK &&
	   n == 3 && strcmp(out[0].path, "/nonexistent/claveprivada_fiel_cacx7605101p8_"
				      "20230509_114423.key") == 0,
	   "rfc: the key whose name carries the RFC (in lower case) comes first");
	for (size_t i = 0; i < n; i++)
		free(out[i].path);
	ef_keydir_unref(kd);
}

int main(void)
{
	TAP_PART(test_rule());
	TAP_PART(test_index());
	TAP_PART(test_rfc_word());
	return tap_done();
}
