/*
 * fuzz-native.c - libFuzzer harness: any bytes as one message to the
 * native host (tools/native_msg.c and the JSON reader under it).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What must hold for every input: a request that passes has exactly the
 * members its method takes, a guid that is base64 of a UUID and an https
 * origin; a refused one leaves nothing allocated; every string the reader
 * returns is valid UTF-8 without a NUL inside, and writing it back as JSON
 * reads back the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "json.h"
#include "native_msg.h"

static void round_trip(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ef_json_obj o;

	if (f == NULL)
		return;
	fputs("{\"k\":", f);
	ef_json_str(f, s);
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return;
	}
	if (!ef_json_parse_object(buf, len, &o) || o.n != 1 || o.value[0] == NULL ||
	    strcmp(o.value[0], s) != 0)
		abort();
	ef_json_obj_clear(&o);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ef_nh_request req;
	struct ef_json_obj o;
	const char *err = ef_nh_parse((const char *)data, size, &req);

	if (err != NULL) {
		if (req.obj.n != 0 || req.token || req.guid || req.origin)
			abort();
	} else if (req.method == EF_NH_SAT_LOGIN) {
		if (req.obj.n != 4 || !req.token || !ef_nh_guid_ok(req.guid) ||
		    !ef_nh_origin_ok(req.origin))
			abort();
		fuzz_touch(req.token, strlen(req.token));
	} else if (req.obj.n != 1) {
		abort();
	}
	ef_nh_request_clear(&req);

	if (ef_json_parse_object((const char *)data, size, &o)) {
		for (size_t i = 0; i < o.n; i++) {
			if (!ef_utf8_valid(o.name[i], strlen(o.name[i])))
				abort();
			if (o.value[i] != NULL) {
				if (!ef_utf8_valid(o.value[i], strlen(o.value[i])))
					abort();
				round_trip(o.value[i]);
			}
		}
		ef_json_obj_clear(&o);
	} else if (o.n != 0) {
		abort();
	}
	return 0;
}
