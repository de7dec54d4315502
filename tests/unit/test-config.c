/*
 * test-config.c - unit tests for module/config.c: the file syntax, the
 * pReserved syntax, the order of the sources, and garbage input.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The warnings the parser writes to stderr are captured and checked too:
 * "names the file and line" is part of the interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "secure_env.h"
#include "log.h"
#include "tap.h"

static char tmp_root[64];

/* --------------------------------------------------- stderr capture */

static int saved_stderr = -1;
static char capture_path[300];

static void capture_begin(void)
{
	int fd;

	fflush(stderr);
	snprintf(capture_path, sizeof(capture_path), "%s/stderr.txt", tmp_root);
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Returns what was written to stderr since capture_begin (malloc'd). */
static char *capture_end(void)
{
	FILE *fp;
	char *buf;
	size_t n = 0;

	fflush(stderr);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	buf = calloc(1, 65536);
	fp = fopen(capture_path, "r");
	if (fp != NULL && buf != NULL) {
		n = fread(buf, 1, 65535, fp);
		buf[n] = '\0';
	}
	if (fp != NULL)
		fclose(fp);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		tap_diag("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fputs(text, fp);
	fclose(fp);
}

static void mkdir_p(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0700);
			*p = '/';
		}
	}
	mkdir(buf, 0700);
}

static bool contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

/* ------------------------------------------------------ file syntax */

static CK_RV pt(const char *text, const char *origin, const char *base, struct ef_config *cfg)
{
	return ef_config_parse_text(text, strlen(text), origin, base, cfg);
}

static void test_file_syntax(void)
{
	static const char text[] =
		"# a comment\n"                                   /* 1 */
		"   # an indented comment\n"                      /* 2 */
		"\n"                                              /* 3 */
		"[bundle]\n"                                      /* 4 */
		"cert = a.cer\n"                                  /* 5 */
		"KEY = \"/abs/with space/b.key\"  # trailing\n"  /* 6 */
		"Label = \"Mi e.firma: #1\"\n"                    /* 7 */
		"[directory]\n"                                   /* 8 */
		"path = ~/sat\n"                                  /* 9 */
		"[ca]\n"                                          /* 10 */
		"path = /etc/ca # comment\n"                      /* 11 */
		"[bundle]\n"                                      /* 12 */
		"cert = /only.cer\n"                              /* 13 */
		"[bogus]\n"                                       /* 14 */
		"foo = bar\n"                                     /* 15 */
		" [ Bundle ]  \r\n"                               /* 16 */
		"cert=c#d.cer\n"                                  /* 17 */
		"key =\tsub/k.key\t\r\n"                          /* 18 */
		"this line has no equals\n"                       /* 19 */
		"unknown = 1\n"                                   /* 20 */
		"label = \"unterminated\n"                        /* 21 */
		"[DIRECTORY]\n"                                   /* 22 */
		"path = ~\n"                                      /* 23 */
		"path = \"\"\n"                                   /* 24 */
		"[bundle]\n"                                      /* 25 */
		"key = /only.key\n";                              /* 26 */
	struct ef_config cfg;
	char *err;
	CK_RV rv;

	setenv("HOME", "/home/tester", 1);
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	rv = ef_config_parse_text(text, strlen(text), "t.conf", "/base", &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "file: parse_text returns CKR_OK despite bad lines");
	if (is_ul(cfg.n_bundles, 2, "file: two complete bundles")) {
		is_str(cfg.bundles[0].cert, "/base/a.cer", "file: relative cert joined to base_dir");
		is_str(cfg.bundles[0].key, "/abs/with space/b.key", "file: quoted value, case-insensitive key, trailing comment");
		is_str(cfg.bundles[0].label, "Mi e.firma: #1", "file: quoted label keeps '#' and ':'");
		is_str(cfg.bundles[1].cert, "/base/c#d.cer", "file: '#' inside a word is not a comment");
		is_str(cfg.bundles[1].key, "/base/sub/k.key", "file: tabs and CR trimmed");
		ok(cfg.bundles[1].label == NULL, "file: label optional (NULL)");
	}
	if (is_ul(cfg.n_dirs, 2, "file: two directories")) {
		is_str(cfg.dirs[0], "/home/tester/sat", "file: ~/ expands to $HOME");
		is_str(cfg.dirs[1], "/home/tester", "file: ~ alone is $HOME");
	}
	if (is_ul(cfg.n_ca_paths, 1, "file: one CA path"))
		is_str(cfg.ca_paths[0], "/etc/ca", "file: [ca] path with trailing comment");
	ok(!cfg.debug, "file: debug stays off");
	ok(contains(err, "efirma-pkcs11: t.conf:12: "), "file: bundle without key warned at its [bundle] line 12");
	ok(contains(err, "t.conf:14: unknown section [bogus]"), "file: unknown section warned (line 14)");
	ok(!contains(err, "t.conf:15:"), "file: keys in an unknown section are not warned again");
	ok(contains(err, "t.conf:19: "), "file: line without '=' warned (line 19)");
	ok(contains(err, "t.conf:20: unknown key 'unknown'"), "file: unknown key warned (line 20)");
	ok(contains(err, "t.conf:21: unterminated quote"), "file: unterminated quote warned (line 21)");
	ok(contains(err, "t.conf:24: empty path"), "file: empty path warned (line 24)");
	ok(contains(err, "t.conf:25: [bundle] without cert"), "file: bundle without cert warned (line 25)");
	free(err);
	ef_config_free(&cfg);

	/* debug: top level, [module], other spellings; never turned off. */
	memset(&cfg, 0, sizeof(cfg));
	pt("debug = 1\n", "d.conf", NULL, &cfg);
	ok(cfg.debug, "file: top-level debug = 1");
	ef_config_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	pt("[bundle]\n[module]\nDebug = \"yes\"\n", "d.conf", NULL, &cfg);
	ok(cfg.debug, "file: [module] Debug = \"yes\"");
	ef_config_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	pt("debug = 1\ndebug = 0\n[bundle]\ndebug = 1\n", "d.conf", NULL, &cfg);
	err = capture_end();
	ok(cfg.debug, "file: debug = 0 does not turn it off");
	ok(contains(err, "d.conf:4: unknown key 'debug'"), "file: debug inside [bundle] is an unknown key");
	free(err);
	ef_config_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	pt("[ca]\ndebug = 1\n", "d.conf", NULL, &cfg);
	ok(!cfg.debug, "file: debug in [ca] is ignored");
	ef_config_free(&cfg);

	/* allow-pkcs1-decrypt: off by default; yes/1/true in [module] or at
	 * the top; like debug, a later "no" does not turn it off. */
	memset(&cfg, 0, sizeof(cfg));
	pt("[bundle]\ncert=/a.cer\nkey=/a.key\n", "p.conf", NULL, &cfg);
	ok(!cfg.allow_pkcs1_decrypt, "file: allow-pkcs1-decrypt off by default");
	ef_config_free(&cfg);
	static const char *const pkcs1_on[] = { "[module]\nallow-pkcs1-decrypt = yes\n",
						"allow-pkcs1-decrypt = 1\n",
						"[module]\nallow-pkcs1-decrypt = true\nallow-pkcs1-decrypt = no\n" };
	for (size_t i = 0; i < sizeof(pkcs1_on) / sizeof(pkcs1_on[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		pt(pkcs1_on[i], "p.conf", NULL, &cfg);
		ok(cfg.allow_pkcs1_decrypt, "file: allow-pkcs1-decrypt on (case %zu)", i);
		ef_config_free(&cfg);
	}
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	pt("[module]\nallow-pkcs1-decrypt = maybe\n[bundle]\nallow-pkcs1-decrypt = yes\n", "p.conf",
	   NULL, &cfg);
	err = capture_end();
	ok(!cfg.allow_pkcs1_decrypt, "file: allow-pkcs1-decrypt = maybe, or in [bundle]: off");
	ok(contains(err, "p.conf:2: allow-pkcs1-decrypt takes yes or no"), "file: ... 'maybe' warned");
	free(err);
	ef_config_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	ef_config_parse_reserved("allow-pkcs1-decrypt=1", &cfg);
	ok(cfg.allow_pkcs1_decrypt, "reserved: allow-pkcs1-decrypt=1");
	ef_config_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	ef_config_parse_reserved("allow-pkcs1-decrypt=0", &cfg);
	ok(!cfg.allow_pkcs1_decrypt, "reserved: allow-pkcs1-decrypt=0 leaves it off");
	ef_config_free(&cfg);
	/* secure-heap: off unless asked for, in [module] or at the top. */
	memset(&cfg, 0, sizeof(cfg));
	pt("[module]\nsecure-heap = yes\n", "h.conf", NULL, &cfg);
	ok(cfg.secure_heap, "file: [module] secure-heap = yes");
	ef_config_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	pt("secure-heap = no\nsecure-heap = maybe\n", "h.conf", NULL, &cfg);
	err = capture_end();
	ok(!cfg.secure_heap, "file: secure-heap = no leaves it off");
	ok(contains(err, "h.conf:2: secure-heap takes yes or no"), "file: a bad secure-heap value is warned");
	free(err);
	ef_config_free(&cfg);

	/* Relative paths without base_dir stay relative (current directory). */
	memset(&cfg, 0, sizeof(cfg));
	pt("[bundle]\ncert=x.cer\nkey=../y.key\n", "r.conf", NULL, &cfg);
	if (is_ul(cfg.n_bundles, 1, "file: bundle without base_dir"))
		ok(strcmp(cfg.bundles[0].cert, "x.cer") == 0 && strcmp(cfg.bundles[0].key, "../y.key") == 0,
		   "file: relative paths kept when base_dir is NULL");
	ef_config_free(&cfg);

	/* Duplicate key in a bundle: the last one counts, with a warning. */
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	pt("[bundle]\ncert=/1\ncert=/2\nkey=/k\n", "u.conf", NULL, &cfg);
	err = capture_end();
	if (is_ul(cfg.n_bundles, 1, "file: duplicate cert, one bundle"))
		is_str(cfg.bundles[0].cert, "/2", "file: the last cert counts");
	ok(contains(err, "u.conf:3:"), "file: duplicate cert warned at line 3");
	free(err);
	ef_config_free(&cfg);

	/* Not NUL-terminated input, embedded NULs, no final newline. */
	{
		static const char nul[] = "[bundle]\ncert = /a\0b\nkey=/k\ncert=/c\n[ca]\npath=/z";
		char *copy = malloc(sizeof(nul) - 1);

		memcpy(copy, nul, sizeof(nul) - 1);
		memset(&cfg, 0, sizeof(cfg));
		capture_begin();
		rv = ef_config_parse_text(copy, sizeof(nul) - 1, "n.conf", NULL, &cfg);
		err = capture_end();
		is_ul(rv, CKR_OK, "file: embedded NUL is not an error");
		if (is_ul(cfg.n_bundles, 1, "file: the NUL line is skipped, the bundle still loads"))
			is_str(cfg.bundles[0].cert, "/c", "file: the valid cert line is used");
		if (is_ul(cfg.n_ca_paths, 1, "file: last line without newline parsed"))
			is_str(cfg.ca_paths[0], "/z", "file: value of the unterminated last line");
		ok(contains(err, "n.conf:2: NUL"), "file: NUL line warned at line 2");
		free(err);
		free(copy);
		ef_config_free(&cfg);
	}

	/* An overlong line. */
	{
		size_t big = 3 * 1024 * 1024;
		char *t = malloc(big + 64);

		strcpy(t, "[ca]\npath = /");
		memset(t + 13, 'x', big);
		strcpy(t + 13 + big, "\n[directory]\npath=/d\n");
		memset(&cfg, 0, sizeof(cfg));
		rv = ef_config_parse_text(t, strlen(t), "big.conf", NULL, &cfg);
		is_ul(rv, CKR_OK, "file: a 3 MiB line parses");
		ok(cfg.n_ca_paths == 1 && strlen(cfg.ca_paths[0]) == big + 1, "file: the long value is kept whole");
		ok(cfg.n_dirs == 1 && strcmp(cfg.dirs[0], "/d") == 0, "file: the line after it still loads");
		ef_config_free(&cfg);
		free(t);
	}

	/* Appending: two parses accumulate. */
	memset(&cfg, 0, sizeof(cfg));
	pt("[directory]\npath=/1\n", "a.conf", NULL, &cfg);
	pt("[directory]\npath=/2\n", "b.conf", NULL, &cfg);
	ok(cfg.n_dirs == 2 && strcmp(cfg.dirs[1], "/2") == 0, "file: parse_text appends");
	ef_config_free(&cfg);
	ok(cfg.dirs == NULL && cfg.n_dirs == 0 && cfg.bundles == NULL && cfg.origin == NULL,
	   "free: the struct is zeroed");
	ef_config_free(&cfg);
	ok(1, "free: freeing twice is harmless");
	ef_config_free(NULL);
	ok(1, "free: NULL is harmless");
}

static void test_parse_file(void)
{
	char dir[300], path[400], sub[400], want[500];
	struct ef_config cfg;
	char *err;
	CK_RV rv;

	snprintf(dir, sizeof(dir), "%s/pf", tmp_root);
	mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/my.conf", dir);
	write_file(path, "[bundle]\ncert = fiel.cer\nkey = keys/fiel.key\nlabel = Trabajo\n"
			 "[directory]\npath = .\n");
	memset(&cfg, 0, sizeof(cfg));
	rv = ef_config_parse_file(path, &cfg);
	is_ul(rv, CKR_OK, "parse_file: CKR_OK");
	if (is_ul(cfg.n_bundles, 1, "parse_file: one bundle")) {
		snprintf(want, sizeof(want), "%s/fiel.cer", dir);
		is_str(cfg.bundles[0].cert, want, "parse_file: cert relative to the file's folder");
		snprintf(want, sizeof(want), "%s/keys/fiel.key", dir);
		is_str(cfg.bundles[0].key, want, "parse_file: key relative to the file's folder");
		is_str(cfg.bundles[0].label, "Trabajo", "parse_file: label");
	}
	snprintf(want, sizeof(want), "%s/.", dir);
	if (is_ul(cfg.n_dirs, 1, "parse_file: one directory"))
		is_str(cfg.dirs[0], want, "parse_file: directory relative to the file");
	ef_config_free(&cfg);

	/* Missing file, a directory: warnings, no error. */
	snprintf(sub, sizeof(sub), "%s/missing.conf", dir);
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	rv = ef_config_parse_file(sub, &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "parse_file: missing file is CKR_OK");
	ok(contains(err, "missing.conf: cannot open"), "parse_file: missing file warned by name");
	free(err);
	capture_begin();
	rv = ef_config_parse_file(dir, &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "parse_file: a directory is CKR_OK");
	ok(contains(err, "not a regular file"), "parse_file: a directory is warned");
	free(err);
	ok(cfg.n_bundles == 0 && cfg.n_dirs == 0, "parse_file: nothing loaded from them");
	ef_config_free(&cfg);
}

/* ---------------------------------------------------- pReserved */

static void test_reserved(void)
{
	struct ef_config cfg;
	char *err;
	CK_RV rv;
	char conf[400];

	setenv("HOME", "/home/tester", 1);
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	rv = ef_config_parse_reserved(
		"  cert=/a.cer key=/a.key label=\"Mi token\"\tcert=\"/b c/b.cer\" key=b.key "
		"dir=~/sat ca=\"/ca dir\" debug=1 bogus=1 word", &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "reserved: CKR_OK");
	if (is_ul(cfg.n_bundles, 2, "reserved: two bundles from two cert= words")) {
		is_str(cfg.bundles[0].cert, "/a.cer", "reserved: first cert");
		is_str(cfg.bundles[0].key, "/a.key", "reserved: first key");
		is_str(cfg.bundles[0].label, "Mi token", "reserved: quoted label with a space");
		is_str(cfg.bundles[1].cert, "/b c/b.cer", "reserved: quoted cert path with a space");
		is_str(cfg.bundles[1].key, "b.key", "reserved: relative key kept (current directory)");
		ok(cfg.bundles[1].label == NULL, "reserved: second bundle has no label");
	}
	if (is_ul(cfg.n_dirs, 1, "reserved: dir="))
		is_str(cfg.dirs[0], "/home/tester/sat", "reserved: dir=~/ expanded");
	if (is_ul(cfg.n_ca_paths, 1, "reserved: ca="))
		is_str(cfg.ca_paths[0], "/ca dir", "reserved: quoted ca path");
	ok(cfg.debug, "reserved: debug=1");
	ok(contains(err, "unknown word 'bogus'"), "reserved: unknown key=value warned");
	ok(contains(err, "unknown word 'word'"), "reserved: word without '=' warned");
	free(err);
	ef_config_free(&cfg);

	/* key before cert, a bundle without key, an unterminated quote. */
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	rv = ef_config_parse_reserved("key=/k1 cert=/c1 cert=/c2 cert=/c3 key=/k3 label=\"x y", &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "reserved: CKR_OK with problems");
	if (is_ul(cfg.n_bundles, 2, "reserved: key-first bundle and c3 kept, c2 dropped")) {
		ok(strcmp(cfg.bundles[0].cert, "/c1") == 0 && strcmp(cfg.bundles[0].key, "/k1") == 0,
		   "reserved: key= before cert= pairs with it");
		ok(strcmp(cfg.bundles[1].cert, "/c3") == 0 && strcmp(cfg.bundles[1].key, "/k3") == 0 &&
		   cfg.bundles[1].label == NULL, "reserved: third bundle, unterminated label dropped");
	}
	ok(contains(err, "pReserved: bundle without key="), "reserved: bundle without key warned");
	ok(contains(err, "unterminated quote"), "reserved: unterminated quote warned");
	free(err);
	ef_config_free(&cfg);

	/* Quotes inside a word, empty values, case of keys. */
	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	rv = ef_config_parse_reserved("CERT=/x\" \"y KEY=/k dir= DEBUG=0", &cfg);
	err = capture_end();
	if (is_ul(cfg.n_bundles, 1, "reserved: quotes mid-word"))
		is_str(cfg.bundles[0].cert, "/x y", "reserved: quoted part joined to the word");
	is_ul(cfg.n_dirs, 0, "reserved: empty dir= ignored");
	ok(contains(err, "without a value"), "reserved: empty value warned");
	ok(!cfg.debug, "reserved: debug=0 leaves it off");
	free(err);
	ef_config_free(&cfg);

	/* conf=PATH reads that file. */
	snprintf(conf, sizeof(conf), "%s/res.conf", tmp_root);
	write_file(conf, "[bundle]\ncert=/f.cer\nkey=/f.key\n[ca]\npath=/fca\n");
	{
		char words[600];

		snprintf(words, sizeof(words), "conf=%s dir=/extra", conf);
		memset(&cfg, 0, sizeof(cfg));
		rv = ef_config_parse_reserved(words, &cfg);
		is_ul(rv, CKR_OK, "reserved: conf= CKR_OK");
		ok(cfg.n_bundles == 1 && strcmp(cfg.bundles[0].cert, "/f.cer") == 0, "reserved: conf= loads the file's bundle");
		ok(cfg.n_ca_paths == 1 && cfg.n_dirs == 1, "reserved: conf= and dir= combine");
		ef_config_free(&cfg);
	}
	memset(&cfg, 0, sizeof(cfg));
	rv = ef_config_parse_reserved("", &cfg);
	ok(rv == CKR_OK && cfg.n_bundles == 0, "reserved: empty string");
	rv = ef_config_parse_reserved(NULL, &cfg);
	ok(rv == CKR_OK && cfg.n_bundles == 0, "reserved: NULL");
	ef_config_free(&cfg);
}

/* ---------------------------------------------------- precedence */

/* [removable] in a file, its pReserved words, and who searches volumes. */
static void test_removable(void)
{
	struct ef_config cfg;
	char *err;
	char dir[300], path[400];

	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	CK_RV rv = pt("[removable]\nroot = /mnt/usb\nroot = rel\nempty-slots = 5\n"
		      "search = quizas\nempty-slots = 17\nempty-slots = -1\nempty-slots = 2x\n"
		      "depth = 9\n",
		      "r.conf", "/etc/x", &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "[removable]: CKR_OK");
	if (is_ul(cfg.n_removable_roots, 2, "[removable]: two roots")) {
		is_str(cfg.removable_roots[0], "/mnt/usb", "[removable]: root");
		is_str(cfg.removable_roots[1], "/etc/x/rel",
		       "[removable]: relative root, from the file's folder");
	}
	ok(cfg.empty_slots_given && cfg.empty_slots == 5, "[removable]: empty-slots = 5");
	ok(!cfg.removable_off && !cfg.removable_on, "[removable]: a bad search = changes nothing");
	ok(contains(err, "r.conf:5: search takes yes or no"), "[removable]: bad search warned");
	ok(contains(err, "r.conf:6: empty-slots takes a number from 0 to 16"),
	   "[removable]: 17 refused");
	ok(contains(err, "r.conf:7:") && contains(err, "r.conf:8:"),
	   "[removable]: -1 and 2x refused");
	ok(contains(err, "r.conf:9: unknown key 'depth'"), "[removable]: unknown key warned");
	free(err);
	ef_config_free(&cfg);

	memset(&cfg, 0, sizeof(cfg));
	pt("[removable]\nsearch = no\nempty-slots = 0\n", "r.conf", NULL, &cfg);
	ok(cfg.removable_off, "[removable]: search = no");
	ok(cfg.empty_slots_given && cfg.empty_slots == 0, "[removable]: empty-slots = 0 is given");
	ef_config_free(&cfg);

	memset(&cfg, 0, sizeof(cfg));
	ef_config_parse_reserved("removable=0 removable-root=/media/otro empty-slots=3", &cfg);
	ok(cfg.removable_off, "pReserved: removable=0");
	ok(cfg.n_removable_roots == 1 && strcmp(cfg.removable_roots[0], "/media/otro") == 0,
	   "pReserved: removable-root=");
	ok(cfg.empty_slots_given && cfg.empty_slots == 3, "pReserved: empty-slots=3");
	ef_config_free(&cfg);

	/* Who searches: pReserved that names bundles gets only those, a file
	 * and no configuration at all search the usual roots. */
	snprintf(dir, sizeof(dir), "%s/removable", tmp_root);
	mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/e.conf", dir);
	write_file(path, "[bundle]\ncert = /a.cer\nkey = /a.key\n");
	unsetenv("EFIRMA_PKCS11_CONF");
	setenv("XDG_CONFIG_HOME", dir, 1);
	ef_config_load("cert=/a.cer key=/a.key", NULL, &cfg);
	ok(cfg.removable_off, "load: pReserved naming a bundle does not search volumes");
	ef_config_free(&cfg);
	ef_config_load("cert=/a.cer key=/a.key removable=1", NULL, &cfg);
	ok(!cfg.removable_off, "load: ... unless it says removable=1");
	ef_config_free(&cfg);
	ef_config_load("dir=/sat removable-root=/mnt", NULL, &cfg);
	ok(!cfg.removable_off, "load: ... or names a removable-root=");
	ef_config_free(&cfg);
	ef_config_load(NULL, NULL, &cfg);
	ok(!cfg.removable_off, "load: no configuration: volumes are searched");
	ef_config_free(&cfg);
	setenv("EFIRMA_PKCS11_CONF", path, 1);
	ef_config_load("empty-slots=1", NULL, &cfg);
	ok(!cfg.removable_off && cfg.n_bundles == 1, "load: a file: volumes are searched");
	ok(cfg.empty_slots_given && cfg.empty_slots == 1,
	   "load: pReserved's empty-slots= counts with a file");
	ef_config_free(&cfg);
	unsetenv("EFIRMA_PKCS11_CONF");
}

static void test_precedence(void)
{
	char envfile[200], xdg[200], xdgfile[400], sysfile[200], home[200], homefile[400];
	char empty_xdg[300];
	struct ef_config cfg;
	char *err;
	CK_RV rv;

	snprintf(envfile, sizeof(envfile), "%s/env.conf", tmp_root);
	write_file(envfile, "[bundle]\ncert=/env.cer\nkey=/env.key\n");
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmp_root);
	snprintf(xdgfile, sizeof(xdgfile), "%s/efirma-pkcs11/efirma-pkcs11.conf", xdg);
	mkdir_p(xdg);
	snprintf(empty_xdg, sizeof(empty_xdg), "%s/efirma-pkcs11", xdg);
	mkdir_p(empty_xdg);
	write_file(xdgfile, "[bundle]\ncert=/xdg.cer\nkey=/xdg.key\n");
	snprintf(sysfile, sizeof(sysfile), "%s/sys.conf", tmp_root);
	write_file(sysfile, "debug = 1\n[bundle]\ncert=/sys.cer\nkey=/sys.key\n");
	snprintf(home, sizeof(home), "%s/home", tmp_root);
	snprintf(homefile, sizeof(homefile), "%s/.config/efirma-pkcs11", home);
	mkdir_p(homefile);
	snprintf(homefile, sizeof(homefile), "%s/.config/efirma-pkcs11/efirma-pkcs11.conf", home);
	write_file(homefile, "[bundle]\ncert=/home.cer\nkey=/home.key\n");
	snprintf(empty_xdg, sizeof(empty_xdg), "%s/xdg-empty", tmp_root);
	mkdir_p(empty_xdg);

	setenv("HOME", home, 1);
	setenv("EFIRMA_PKCS11_CONF", envfile, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);

	/* 1. pReserved with a source wins over everything. */
	rv = ef_config_load("cert=/r.cer key=/r.key", sysfile, &cfg);
	is_ul(rv, CKR_OK, "load: pReserved CKR_OK");
	is_str(cfg.origin, "pReserved", "load: pReserved with cert= is the source");
	ok(cfg.n_bundles == 1 && strcmp(cfg.bundles[0].cert, "/r.cer") == 0, "load: pReserved bundle only");
	ef_config_free(&cfg);

	rv = ef_config_load("dir=/somewhere", sysfile, &cfg);
	ok(rv == CKR_OK && cfg.origin && strcmp(cfg.origin, "pReserved") == 0 && cfg.n_dirs == 1 &&
	   cfg.n_bundles == 0, "load: pReserved dir= is a source");
	ef_config_free(&cfg);

	/* pReserved without a source: debug= (and ca=) still apply. */
	rv = ef_config_load("debug=1 ca=/rca secure-heap=1", sysfile, &cfg);
	is_str(cfg.origin, envfile, "load: pReserved without a source falls through to EFIRMA_PKCS11_CONF");
	ok(cfg.debug, "load: pReserved debug=1 applies anyway");
	ok(cfg.secure_heap, "load: pReserved secure-heap=1 applies anyway");
	ok(cfg.n_ca_paths == 1 && strcmp(cfg.ca_paths[0], "/rca") == 0, "load: pReserved ca= applies anyway");
	ok(cfg.n_bundles == 1 && strcmp(cfg.bundles[0].cert, "/env.cer") == 0, "load: env file bundle");
	ef_config_free(&cfg);
	rv = ef_config_load("allow-pkcs1-decrypt=1", sysfile, &cfg);
	ok(rv == CKR_OK && cfg.allow_pkcs1_decrypt && cfg.n_bundles == 1,
	   "load: pReserved allow-pkcs1-decrypt=1 applies beside the file's bundles");
	ef_config_free(&cfg);

	/* 2. EFIRMA_PKCS11_CONF. */
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_str(cfg.origin, envfile, "load: EFIRMA_PKCS11_CONF before XDG");
	ok(!cfg.debug, "load: the system file's debug is not read");
	ef_config_free(&cfg);

	/* ... a missing file there: warning, no bundles, no fall-through. */
	setenv("EFIRMA_PKCS11_CONF", "/nonexistent/efirma.conf", 1);
	capture_begin();
	rv = ef_config_load(NULL, sysfile, &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "load: missing EFIRMA_PKCS11_CONF file is CKR_OK");
	is_str(cfg.origin, "/nonexistent/efirma.conf", "load: ... and stays the source");
	is_ul(cfg.n_bundles, 0, "load: ... with no bundles");
	ok(contains(err, "/nonexistent/efirma.conf"), "load: ... and a warning names it");
	free(err);
	ef_config_free(&cfg);

	/* Empty EFIRMA_PKCS11_CONF counts as unset. 3. XDG. */
	setenv("EFIRMA_PKCS11_CONF", "", 1);
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_str(cfg.origin, xdgfile, "load: empty EFIRMA_PKCS11_CONF -> $XDG_CONFIG_HOME file");
	ok(cfg.n_bundles == 1 && strcmp(cfg.bundles[0].cert, "/xdg.cer") == 0, "load: XDG bundle");
	ef_config_free(&cfg);
	unsetenv("EFIRMA_PKCS11_CONF");

	/* XDG set but no file there: 4. the system file. */
	setenv("XDG_CONFIG_HOME", empty_xdg, 1);
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_str(cfg.origin, sysfile, "load: no XDG file -> sysconf_path");
	ok(cfg.debug && cfg.n_bundles == 1, "load: system file's debug and bundle");
	ef_config_free(&cfg);

	/* XDG unset (or relative, which the spec says to ignore): ~/.config. */
	unsetenv("XDG_CONFIG_HOME");
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_str(cfg.origin, homefile, "load: XDG unset -> $HOME/.config file");
	ef_config_free(&cfg);
	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_str(cfg.origin, homefile, "load: relative XDG_CONFIG_HOME ignored");
	ef_config_free(&cfg);

	/* Nothing at all. */
	setenv("XDG_CONFIG_HOME", empty_xdg, 1);
	rv = ef_config_load(NULL, NULL, &cfg);
	is_ul(rv, CKR_OK, "load: no source is CKR_OK");
	ok(cfg.origin == NULL && cfg.n_bundles == 0 && cfg.n_dirs == 0 && !cfg.debug,
	   "load: no source -> empty config, origin NULL");
	ef_config_free(&cfg);
	rv = ef_config_load("", "/nonexistent/sys.conf", &cfg);
	ok(rv == CKR_OK && cfg.origin == NULL && cfg.n_bundles == 0, "load: empty pReserved, missing sysconf");
	ef_config_free(&cfg);

	unsetenv("XDG_CONFIG_HOME");
	unsetenv("EFIRMA_PKCS11_CONF");
}

/* ------------------------------------------------------- escapes */

static void test_escapes(void)
{
	struct ef_config cfg;
	char *err;
	CK_RV rv;

	memset(&cfg, 0, sizeof(cfg));
	capture_begin();
	rv = pt("[bundle]\n"
		"cert = \"/d/say \\\"hi\\\".cer\"\n"
		"key = \"/d/back\\\\slash\\\\\"  # the last \\\\ is a backslash\n"
		"label = \"a \\\"b\\\" c\\\\d \\x # [bundle]\"\n"
		"[bundle]\n"
		"cert = \"/unterminated\\\"\n"
		"key = /k\n",
		"e.conf", "/base", &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "escapes: file CKR_OK");
	if (is_ul(cfg.n_bundles, 1, "escapes: one bundle, the escaped quote does not end the value")) {
		is_str(cfg.bundles[0].cert, "/d/say \"hi\".cer", "escapes: \\\" in a quoted path");
		is_str(cfg.bundles[0].key, "/d/back\\slash\\", "escapes: \\\\ in a quoted path");
		is_str(cfg.bundles[0].label, "a \"b\" c\\d \\x # [bundle]",
		       "escapes: label with quotes, backslashes, '#' and '[bundle]'");
	}
	ok(contains(err, "e.conf:6: unterminated quote"), "escapes: a quote escaped at the end is unterminated");
	free(err);
	ef_config_free(&cfg);

	memset(&cfg, 0, sizeof(cfg));
	rv = ef_config_parse_reserved("cert=\"/a \\\"q\\\".cer\" key=/k\\\\x "
				      "label=\"say \\\"hi\\\" \\\\ \\z\"", &cfg);
	is_ul(rv, CKR_OK, "escapes: pReserved CKR_OK");
	if (is_ul(cfg.n_bundles, 1, "escapes: pReserved bundle")) {
		is_str(cfg.bundles[0].cert, "/a \"q\".cer", "escapes: pReserved \\\" inside quotes");
		is_str(cfg.bundles[0].key, "/k\\\\x", "escapes: pReserved backslashes outside quotes are literal");
		is_str(cfg.bundles[0].label, "say \"hi\" \\ \\z", "escapes: pReserved \\\\ inside quotes, other \\ literal");
	}
	ef_config_free(&cfg);
}

/* ------------------------------------------------------ AT_SECURE */

static void test_secure(void)
{
	char envfile[200], sysfile[200], home[200], homefile[400], words[600];
	struct ef_config cfg;
	char *err;
	CK_RV rv;

	ok(!ef_env_secure(), "secure: this test is not set-user-ID (getauxval(AT_SECURE) == 0)");
	snprintf(envfile, sizeof(envfile), "%s/s-env.conf", tmp_root);
	write_file(envfile, "[bundle]\ncert=/env.cer\nkey=/env.key\n");
	snprintf(sysfile, sizeof(sysfile), "%s/s-sys.conf", tmp_root);
	write_file(sysfile, "[bundle]\ncert=/sys.cer\nkey=rel.key\n"
			    "[bundle]\ncert=~/home.cer\nkey=/k\n[directory]\npath=~/sat\n");
	snprintf(home, sizeof(home), "%s/s-home", tmp_root);
	snprintf(homefile, sizeof(homefile), "%s/.config/efirma-pkcs11", home);
	mkdir_p(homefile);
	snprintf(homefile, sizeof(homefile), "%s/.config/efirma-pkcs11/efirma-pkcs11.conf", home);
	write_file(homefile, "[bundle]\ncert=/home.cer\nkey=/home.key\n");
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("EFIRMA_PKCS11_CONF", envfile, 1);

	ef_env_force_secure(1);
	ok(ef_env_secure(), "secure: the test hook forces AT_SECURE");
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_ul(rv, CKR_OK, "secure: load CKR_OK");
	is_str(cfg.origin, sysfile, "secure: EFIRMA_PKCS11_CONF, XDG_CONFIG_HOME and HOME ignored: the system file");
	snprintf(words, sizeof(words), "%s/rel.key", tmp_root);
	if (is_ul(cfg.n_bundles, 1, "secure: the ~/ bundle is dropped"))
		ok(strcmp(cfg.bundles[0].cert, "/sys.cer") == 0 &&
		   strcmp(cfg.bundles[0].key, words) == 0,
		   "secure: a path relative to the (absolute) system file's folder is kept");
	is_ul(cfg.n_dirs, 0, "secure: [directory] path=~/sat dropped");
	ef_config_free(&cfg);

	capture_begin();
	snprintf(words, sizeof(words),
		 "cert=~/a.cer key=/a.key cert=rel.cer key=/b.key cert=/c.cer key=/c.key "
		 "dir=~ dir=sat ca=ca conf=x.conf debug=1");
	rv = ef_config_load(words, NULL, &cfg);
	err = capture_end();
	is_ul(rv, CKR_OK, "secure: pReserved CKR_OK");
	if (is_ul(cfg.n_bundles, 1, "secure: pReserved ~/ and relative cert= dropped"))
		is_str(cfg.bundles[0].cert, "/c.cer", "secure: the absolute bundle stays");
	ok(cfg.n_dirs == 0 && cfg.n_ca_paths == 0, "secure: pReserved ~ and relative dir=/ca= dropped");
	ok(contains(err, "pReserved: a set-user-ID program takes only absolute paths"),
	   "secure: the refusal is warned");
	ef_config_free(&cfg);
	free(err);

	/* The trace: neither the variable nor debug=1 turns it on. */
	setenv("EFIRMA_PKCS11_DEBUG", "1", 1);
	ef_log_init_from_env();
	ok(!ef_log_trace_enabled(), "secure: EFIRMA_PKCS11_DEBUG=1 ignored");
	ef_log_enable_trace();
	ok(!ef_log_trace_enabled(), "secure: debug=1 from the configuration ignored");

	ef_env_force_secure(-1);
	ef_log_init_from_env();
	ok(ef_log_trace_enabled(), "secure: not forced any more, the variable counts again");
	unsetenv("EFIRMA_PKCS11_DEBUG");
	ef_log_init_from_env();
	rv = ef_config_load(NULL, sysfile, &cfg);
	is_str(cfg.origin, envfile, "secure: ... and so does EFIRMA_PKCS11_CONF");
	ef_config_free(&cfg);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("EFIRMA_PKCS11_CONF");
}

/* ----------------------------------------------------------- fuzz */

static unsigned rnd_state = 20261127u;

static unsigned rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) & 0x7FFF;
}

static bool config_sane(const struct ef_config *c)
{
	for (size_t i = 0; i < c->n_bundles; i++) {
		if (c->bundles[i].cert == NULL || c->bundles[i].key == NULL)
			return false;
	}
	for (size_t i = 0; i < c->n_dirs; i++) {
		if (c->dirs[i] == NULL)
			return false;
	}
	for (size_t i = 0; i < c->n_ca_paths; i++) {
		if (c->ca_paths[i] == NULL)
			return false;
	}
	return true;
}

static void test_fuzz(void)
{
	/* Pieces of the grammar, so random input reaches past the first
	 * check; mixed with raw random bytes. */
	static const char *pieces[] = {
		"[bundle]", "[directory]", "[ca]", "[module]", "[", "]", "=", "\"", "#", " ", "\t",
		"\n", "\r\n", "cert", "key", "label", "path", "debug", "1", "~/", "~", "/", "conf=",
		"cert=", "key=", "dir=", "ca=", "debug=1", "label=\"", "\0", "\xC3\x91", "\xFF",
	};
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	char buf[1024];
	bool all_ok = true, all_sane = true;
	int devnull = open("/dev/null", O_WRONLY);
	int saved = dup(STDERR_FILENO);

	/* Thousands of warnings: keep them out of the test log. */
	dup2(devnull, STDERR_FILENO);
	setenv("HOME", "/home/fuzz", 1);
	for (int it = 0; it < 10000; it++) {
		struct ef_config cfg;
		size_t len = 0, target = (size_t)(rnd() % (sizeof(buf) - 16));
		CK_RV rv;

		while (len < target) {
			if (rnd() % 3 == 0) {
				buf[len++] = (char)(rnd() & 0xFF);
			} else {
				unsigned k = rnd() % n_pieces;
				size_t pl = k == 29 ? 1 : strlen(pieces[k]);   /* "\0" is one byte */

				if (len + pl >= sizeof(buf) - 1)
					break;
				memcpy(buf + len, pieces[k], pl);
				len += pl;
			}
		}
		memset(&cfg, 0, sizeof(cfg));
		rv = ef_config_parse_text(buf, len, "fuzz", (it & 1) ? "/base" : NULL, &cfg);
		if (rv != CKR_OK)
			all_ok = false;
		if (!config_sane(&cfg))
			all_sane = false;
		/* The same bytes as a pReserved string (up to the first NUL). */
		buf[len] = '\0';
		rv = ef_config_parse_reserved(buf, &cfg);
		if (rv != CKR_OK)
			all_ok = false;
		if (!config_sane(&cfg))
			all_sane = false;
		ef_config_free(&cfg);
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	ok(all_ok, "fuzz: 10000 random texts and pReserved strings return CKR_OK");
	ok(all_sane, "fuzz: every stored bundle has cert and key");
}

/* ------------------------------------------------ the walk (the editor's view) */

struct seen {
	char buf[2048];
	size_t next;      /* where the next line must start */
	bool contiguous;
};

static CK_RV record(const struct ef_conf_line *l, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->buf);
	static const char *const kinds[] = { "blank", "section", "assign" };

	if (l->start != s->next || l->end <= l->start)
		s->contiguous = false;
	s->next = l->end;
	if (l->problem)
		snprintf(s->buf + n, sizeof(s->buf) - n, "%u %s: %s|", l->lineno, kinds[l->kind],
			 l->problem);
	else if (l->kind == EF_CONF_SECTION)
		snprintf(s->buf + n, sizeof(s->buf) - n, "%u [%.*s]|", l->lineno, (int)l->name.len,
			 l->name.p);
	else if (l->kind == EF_CONF_ASSIGN)
		snprintf(s->buf + n, sizeof(s->buf) - n, "%u %.*s=<%.*s>|", l->lineno,
			 (int)l->key.len, l->key.p, (int)l->value.len, l->value.p);
	else
		snprintf(s->buf + n, sizeof(s->buf) - n, "%u blank|", l->lineno);
	return CKR_OK;
}

static CK_RV stop_at_section(const struct ef_conf_line *l, void *arg)
{
	(*(int *)arg)++;
	return l->kind == EF_CONF_SECTION ? CKR_FUNCTION_FAILED : CKR_OK;
}

/* The cases where efirma-tool's own copy of the grammar disagreed with
 * the module's: the tool now walks the file with this parser. */
static void test_walk(void)
{
	static const char text[] =
		"# top\n"
		"[ bundle ]\n"
		"cert = a.cer\t# a comment after a tab\n"
		"key = \"k \\\"q\\\".key\" # after quotes\n"
		"; cert = semicolon.cer\n"
		"label = x#y\n"
		"\n"
		"[bundle]x\n"
		"[bundle\n"
		"cert = \"open\n"
		"cert = \"a\" b\n"
		"noequals\n"
		" = v\n"
		"last = no newline";
	struct seen s;
	int visits = 0;
	char *path = NULL;

	memset(&s, 0, sizeof(s));
	s.contiguous = true;
	is_ul(ef_config_walk(text, strlen(text), record, &s), CKR_OK, "walk: CKR_OK");
	is_str(s.buf,
	       "1 blank|2 [bundle]|3 cert=<a.cer>|4 key=<k \"q\".key>|5 ; cert=<semicolon.cer>|"
	       "6 label=<x#y>|7 blank|"
	       "8 section: text after the section header, section ignored|"
	       "9 section: section header without ']', section ignored|"
	       "10 assign: unterminated quote, line ignored|"
	       "11 assign: text after the closing quote, line ignored|"
	       "12 assign: expected 'key = value', line ignored|"
	       "13 assign: missing key before '=', line ignored|"
	       "14 last=<no newline>|",
	       "walk: '[ bundle ]' is a bundle, '#' after a tab is a comment, ';' is not, "
	       "each refused line says why");
	ok(s.contiguous && s.next == strlen(text), "walk: the lines' spans cover the text, in order");
	ef_config_walk("a = 1\n[x]\nb = 2\n", 16, stop_at_section, &visits);
	is_ul((unsigned long)visits, 2, "walk: stops when the visit fails");
	is_ul(ef_config_walk("[x]\n", 4, stop_at_section, &visits), CKR_FUNCTION_FAILED,
	      "walk: ... and returns what it returned");

	setenv("HOME", "/home/tester", 1);
	ef_config_value_path("/etc/x/f.conf", "a.cer", 5, &path);
	is_str(path, "/etc/x/a.cer", "value path: relative to the file's folder");
	free(path);
	ef_config_value_path("/etc/x/f.conf", "~/a.cer", 7, &path);
	is_str(path, "/home/tester/a.cer", "value path: ~/ is $HOME");
	free(path);
	ef_config_value_path("f.conf", "a.cer", 5, &path);
	is_str(path, "a.cer", "value path: a file named without a folder: the working directory");
	free(path);

	unsetenv("EFIRMA_PKCS11_CONF");
	setenv("XDG_CONFIG_HOME", "/xdg/", 1);
	ef_config_user_file(&path);
	is_str(path, "/xdg/efirma-pkcs11/efirma-pkcs11.conf", "user file: $XDG_CONFIG_HOME's");
	free(path);
	setenv("XDG_CONFIG_HOME", "relative", 1);
	ef_config_user_file(&path);
	is_str(path, "/home/tester/.config/efirma-pkcs11/efirma-pkcs11.conf",
	       "user file: a relative XDG_CONFIG_HOME is not used: ~/.config's");
	free(path);
	setenv("EFIRMA_PKCS11_CONF", "/named.conf", 1);
	ef_config_user_file(&path);
	is_str(path, "/named.conf", "user file: EFIRMA_PKCS11_CONF first");
	free(path);
	ef_env_force_secure(1);
	path = (char *)"";
	ef_config_user_file(&path);
	ok(path == NULL, "user file: none in a set-user-ID process, whatever the environment says");
	ef_env_force_secure(-1);
	unsetenv("EFIRMA_PKCS11_CONF");
	unsetenv("XDG_CONFIG_HOME");
}

static void test_log_line(void)
{
	char *err;

	capture_begin();
	ef_log_warn("one %s", "line\nwith a newline");
	err = capture_end();
	is_str(err, "efirma-pkcs11: one line\\nwith a newline\n", "log: one prefixed line, newline escaped");
	free(err);
}

int main(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/test-config.XXXXXX");
	if (mkdtemp(tmp_root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	TAP_PART(test_log_line());
	TAP_PART(test_file_syntax());
	TAP_PART(test_parse_file());
	TAP_PART(test_reserved());
	TAP_PART(test_removable());
	TAP_PART(test_precedence());
	TAP_PART(test_escapes());
	TAP_PART(test_secure());
	TAP_PART(test_fuzz());
	TAP_PART(test_walk());
	/* Leave nothing behind. */
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", tmp_root);
	}
	return tap_done();
}
