/*
 * fuzz-config.c - libFuzzer harness: any bytes as the C_Initialize
 * pReserved string and as a configuration file.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The same input is parsed both ways: as a NUL-terminated pReserved
 * string (the bytes up to the first NUL) by ef_config_parse_reserved, and
 * as file text (embedded NULs included) by ef_config_parse_text.  Every
 * string the parsers return must be NUL-terminated and owned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz-common.h"

static void check(const struct ef_config *cfg)
{
	for (size_t i = 0; i < cfg->n_bundles; i++) {
		const struct ef_bundle_conf *b = &cfg->bundles[i];
		/* A bundle always has its certificate. */
		if (!b->cert)
			abort();
		fuzz_touch(b->cert, strlen(b->cert));
		if (b->key)
			fuzz_touch(b->key, strlen(b->key));
		if (b->label)
			fuzz_touch(b->label, strlen(b->label));
	}
	for (size_t i = 0; i < cfg->n_dirs; i++)
		fuzz_touch(cfg->dirs[i], strlen(cfg->dirs[i]));
	for (size_t i = 0; i < cfg->n_ca_paths; i++)
		fuzz_touch(cfg->ca_paths[i], strlen(cfg->ca_paths[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ef_config cfg;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	if (ef_config_parse_reserved(s, &cfg) == CKR_OK)
		check(&cfg);
	ef_config_free(&cfg);
	free(s);

	memset(&cfg, 0, sizeof(cfg));
	/* Exactly size bytes, no terminator: ASan sees any read past it. */
	if (ef_config_parse_text((const char *)data, size, "fuzz.conf", "/nonexistent",
				 &cfg) == CKR_OK)
		check(&cfg);
	ef_config_free(&cfg);
	return 0;
}
