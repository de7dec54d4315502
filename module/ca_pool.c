/*
 * ca_pool.c - the CA certificates that chain the tokens' certificates:
 * SAT's, installed with the module, and the configuration's [ca] paths.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_pool.h"
#include "crypto.h"
#include "file.h"
#include "folder.h"
#include "lock.h"
#include "log.h"
#include "strv.h"

#ifndef EF_CA_DIR
#define EF_CA_DIR "/usr/share/efirma-pkcs11/ca"
#endif

static struct ef_cert *ca_pool;
static size_t n_ca;

static CK_RV add_ca_file_inlock(const char *path)
{
	ef_assert_locked();
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ef_cert *certs = NULL;
	size_t n = 0;
	CK_RV rv = CKR_OK;

	/* CA files are small: a larger one is a wrong path. */
	if (!ef_file_read(path, false, EF_MAX_FILE, &ef_file_heap, &buf, &len)) {
		if (errno == ENOMEM)
			return EF_FAIL(CKR_HOST_MEMORY);
		ef_log_warn("%s: cannot read CA certificates (%s)", path, strerror(errno));
		return CKR_OK;
	}
	rv = ef_cert_parse_all(buf, len, &certs, &n);
	if (rv == CKR_HOST_MEMORY)
		goto out;
	if (rv != CKR_OK || n == 0) {
		ef_log_warn("%s: no certificate in this file", path);
		ef_fail_forget(); /* tolerated: no origin of what the call answers */
		rv = CKR_OK;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!certs[i].is_ca) {
			ef_cert_clear(&certs[i]);
			continue;
		}
		struct ef_cert *p = realloc(ca_pool, (n_ca + 1) * sizeof(*p));
		if (!p) {
			for (size_t j = i; j < n; j++)
				ef_cert_clear(&certs[j]);
			rv = EF_FAIL(CKR_HOST_MEMORY);
			goto out;
		}
		ca_pool = p;
		ca_pool[n_ca++] = certs[i];
	}
out:
	free(certs);
	free(buf);
	return rv;
}

static bool any_file(const char *name)
{
	(void)name;
	return true;
}

static CK_RV add_ca_path_inlock(const char *path)
{
	ef_assert_locked();
	enum ef_os_kind kind = ef_os_path_kind(path);
	struct ef_dir_entry *names;
	size_t n;
	CK_RV rv;

	if (kind == EF_OS_NONE) {
		ef_log_trace("%s: no CA certificates here", path);
		return CKR_OK;
	}
	if (kind != EF_OS_DIR)
		return add_ca_file_inlock(path);
	/* The CA folders are the configuration's own, and may well be
	 * symlinks (as /etc/ssl/certs is): they are followed. */
	rv = ef_folder_list(path, any_file, EF_LIST_ANY, &names, &n);
	for (size_t i = 0; rv == CKR_OK && i < n; i++) {
		char *full;
		if (asprintf(&full, "%s/%s", path, names[i].name) < 0) {
			rv = EF_FAIL(CKR_HOST_MEMORY);
			break;
		}
		rv = add_ca_file_inlock(full);
		free(full);
	}
	if (rv == CKR_OK || rv == CKR_DEVICE_ERROR) {
		ef_fail_forget(); /* an unreadable CA folder is tolerated */
		rv = CKR_OK;
	}
	ef_folder_free_list(names, n);
	return rv;
}

/* The CA pool is read at the first search that may show CA certificates:
 * signing alone never needs it. */
static char **ca_paths;
static size_t n_ca_paths;
static bool ca_pool_read;

static void clear_ca_pool_inlock(void)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_ca; i++)
		ef_cert_clear(&ca_pool[i]);
	free(ca_pool);
	ca_pool = NULL;
	n_ca = 0;
	ca_pool_read = false;
}

CK_RV ef_ca_pool_chain_inlock(struct ef_token *t)
{
	ef_assert_locked();
	CK_RV rv = CKR_OK;
	if (!ca_pool_read) {
		rv = add_ca_path_inlock(EF_CA_DIR);
		for (size_t i = 0; rv == CKR_OK && i < n_ca_paths; i++)
			rv = add_ca_path_inlock(ca_paths[i]);
		/* Half a pool would give this token a chain that stops short,
		 * for good: the next search reads it all again. */
		if (rv != CKR_OK) {
			clear_ca_pool_inlock();
			return rv;
		}
		ca_pool_read = true;
	}
	return ef_token_add_chain_inlock(t, ca_pool, n_ca);
}

CK_RV ef_ca_pool_init_inlock(char *const *paths, size_t n)
{
	ef_assert_locked();
	ca_paths = calloc(n ? n : 1, sizeof(*ca_paths));
	if (!ca_paths)
		return EF_FAIL(CKR_HOST_MEMORY);
	for (size_t i = 0; i < n; i++, n_ca_paths++)
		if (!(ca_paths[i] = strdup(paths[i])))
			return EF_FAIL(CKR_HOST_MEMORY);
	return CKR_OK;
}

void ef_ca_pool_fini_inlock(void)
{
	ef_assert_locked();
	clear_ca_pool_inlock();
	ef_strv_free(ca_paths, n_ca_paths);
	ca_paths = NULL;
	n_ca_paths = 0;
}
