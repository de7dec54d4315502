/*
 * native_msg.c - parsing and checking the native host's requests.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two methods and nothing more: "list" and "sat-login".  There is no
 * method that signs bytes the caller chooses (issue 10): sat-login signs
 * guid|RFC|número, with the RFC and número of the certificate and a guid
 * that must have the shape SAT gives it.
 */
#include "native_msg.h"
#include "tool.h"

#include <stdlib.h>
#include <string.h>

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hexadecimal digits [RFC 9562 4] */
static bool uuid_text(const unsigned char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex((char)s[i])) {
			return false;
		}
	}
	return true;
}

bool ef_nh_guid_ok(const char *guid)
{
	size_t len = strlen(guid), n = 0;
	unsigned char *raw = NULL;
	bool ok;

	/* base64 of 36 bytes is 48 characters; ef_unbase64 skips blanks,
	 * which a guid has none of. */
	if (len == 0 || len > 48 || strpbrk(guid, " \t\r\n") != NULL ||
	    !ef_unbase64(guid, len, &raw, &n))
		return false;
	ok = n == 16 || uuid_text(raw, n);
	free(raw);
	return ok;
}

bool ef_nh_origin_ok(const char *origin)
{
	const char *h = origin + 8, *p;

	if (strncmp(origin, "https://", 8) != 0 || strlen(origin) > 8 + 253 + 6)
		return false;
	for (p = h; *p && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	if (p == h)
		return false;
	if (*p == ':') {
		const char *port = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == port || p - port > 5)
			return false;
	}
	return *p == '\0';
}

const char *ef_nh_parse(const char *msg, size_t len, struct ef_nh_request *req)
{
	static const char *const login_members[] = { "method", "token", "guid", "origin" };
	const char *method, *err;

	memset(req, 0, sizeof(*req));
	if (len > EF_NH_MAX_REQUEST || !ef_json_parse_object(msg, len, &req->obj))
		return "bad-message";
	method = ef_json_get(&req->obj, "method", NULL);
	if (method == NULL) {
		err = "bad-request";
		goto bad;
	}
	if (strcmp(method, "list") == 0) {
		req->method = EF_NH_LIST;
		err = req->obj.n == 1 ? NULL : "bad-request";
		goto done;
	}
	if (strcmp(method, "sat-login") != 0) {
		err = "unknown-method";
		goto bad;
	}
	req->method = EF_NH_SAT_LOGIN;
	/* Exactly these members, each a string: an unknown one is a caller
	 * that expects something this host does not do. */
	if (req->obj.n != sizeof(login_members) / sizeof(login_members[0])) {
		err = "bad-request";
		goto bad;
	}
	for (size_t i = 0; i < req->obj.n; i++) {
		if (ef_json_get(&req->obj, login_members[i], NULL) == NULL) {
			err = "bad-request";
			goto bad;
		}
	}
	req->token = ef_json_get(&req->obj, "token", NULL);
	req->guid = ef_json_get(&req->obj, "guid", NULL);
	req->origin = ef_json_get(&req->obj, "origin", NULL);
	if (req->token[0] == '\0' || strlen(req->token) > 256) {
		err = "bad-request";
		goto bad;
	}
	if (!ef_nh_guid_ok(req->guid)) {
		err = "bad-guid";
		goto bad;
	}
	err = ef_nh_origin_ok(req->origin) ? NULL : "bad-origin";
done:
	if (err == NULL)
		return NULL;
bad:
	ef_nh_request_clear(req);
	return err;
}

void ef_nh_request_clear(struct ef_nh_request *req)
{
	ef_json_obj_clear(&req->obj);
	memset(req, 0, sizeof(*req));
}
