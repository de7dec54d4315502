/*
 * native_msg.h - the native host's requests: parsed and checked before
 * anything touches the module (pure functions, fuzzed in tests/fuzz).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_NATIVE_MSG_H
#define EF_NATIVE_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

/* [WebExtensions native messaging] a message from the browser may be far
 * larger; ours are a few hundred bytes, so more is refused unread. */
#define EF_NH_MAX_REQUEST (64 * 1024)
/* Replies: browsers refuse a message from the host of 1 MB or more. */
#define EF_NH_MAX_REPLY (1024 * 1024 - 1)

enum ef_nh_method { EF_NH_LIST, EF_NH_SAT_LOGIN };

struct ef_nh_request {
	enum ef_nh_method method;
	const char *token, *guid, *origin;  /* sat-login; point into obj */
	struct ef_json_obj obj;
};

/* NULL when the message is a request we answer, with req filled; else the
 * error code of the reply ("bad-message", "unknown-method", "bad-request",
 * "bad-guid", "bad-origin"), req empty.  Clear req in every case. */
const char *ef_nh_parse(const char *msg, size_t len, struct ef_nh_request *req);
void ef_nh_request_clear(struct ef_nh_request *req);

/* SAT's guid: base64 of a UUID, its 36-character text form or its 16
 * bytes.  Nothing else is signed: the text signed is guid|RFC|número, so
 * no caller can choose it. */
bool ef_nh_guid_ok(const char *guid);
/* "https://host[:port]": what the password dialog names. */
bool ef_nh_origin_ok(const char *origin);

#endif
