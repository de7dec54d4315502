/*
 * register.c - "register" / "unregister": tell Firefox, Chromium and
 * p11-kit where the module is.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * NSS databases are changed with NSS's own modutil (and created with
 * certutil), never written directly.  Registering deletes any previous
 * entry first, so running it again, or after the module moved, leaves
 * exactly one entry.
 */
#include "json.h"
#include "tool.h"
#include "webext-ids.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EF_NSS_NAME "efirma-pkcs11"

/* Runs a program with its output captured; shows the output only when it
 * fails (quiet is for the "delete before add" that may find nothing). */
static bool run(char *const argv[], bool quiet)
{
	int fds[2], status = 0;
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fds) != 0)
		return false;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += (size_t)r;
		if (n == sizeof(buf) - 1)
			n = 0;   /* keep reading; only the tail matters */
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[n] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (!quiet) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			ef_err(_("cannot run %s: is it installed? (Debian: libnss3-tools)"), argv[0]);
		else
			ef_err(_("%s failed:\n%s"), argv[0], buf);
	}
	return false;
}

static int nss_add(const char *dir, const char *module)
{
	char *db = NULL;
	int rc = EF_EXIT_ERROR;
	if (asprintf(&db, "sql:%s", dir) < 0)
		return EF_EXIT_ERROR;
	char *del[] = { "modutil", "-dbdir", db, "-delete", EF_NSS_NAME, "-force", NULL };
	char *add[] = { "modutil", "-dbdir", db, "-add", EF_NSS_NAME, "-libfile",
			(char *)module, "-force", NULL };
	run(del, true);
	if (run(add, false)) {
		printf(_("registered in %s\n"), dir);
		rc = EF_EXIT_OK;
	}
	free(db);
	return rc;
}

static int nss_delete(const char *dir)
{
	char *db = NULL;
	if (asprintf(&db, "sql:%s", dir) < 0)
		return EF_EXIT_ERROR;
	char *del[] = { "modutil", "-dbdir", db, "-delete", EF_NSS_NAME, "-force", NULL };
	if (run(del, true))
		printf(_("unregistered from %s\n"), dir);
	else
		printf(_("not registered in %s\n"), dir);
	free(db);
	return EF_EXIT_OK;
}

static const char *home(void)
{
	const char *h = getenv("HOME");
	return h != NULL && h[0] == '/' ? h : NULL;
}

/* Firefox profiles: the classic ~/.mozilla/firefox, and the XDG location
 * newer Firefox releases use. */
static int firefox(const char *module, bool add)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *pat1 = NULL, *pat2 = NULL;
	glob_t g;
	int rc = EF_EXIT_OK, flags = 0;
	size_t found = 0;

	memset(&g, 0, sizeof(g));
	if (asprintf(&pat1, "%s/.mozilla/firefox/*/cert9.db", home()) < 0 ||
	    (xdg != NULL && xdg[0] == '/' ? asprintf(&pat2, "%s/mozilla/firefox/*/cert9.db", xdg)
					 : asprintf(&pat2, "%s/.config/mozilla/firefox/*/cert9.db",
						    home())) < 0) {
		free(pat1);
		return EF_EXIT_ERROR;
	}
	if (glob(pat1, 0, NULL, &g) == 0)
		flags = GLOB_APPEND;
	if (glob(pat2, flags, NULL, &g) == 0)
		flags = GLOB_APPEND;
	for (size_t i = 0; flags && i < g.gl_pathc; i++) {
		char *dir = strdup(g.gl_pathv[i]);
		if (dir == NULL) {
			rc = EF_EXIT_ERROR;
			break;
		}
		*strrchr(dir, '/') = '\0';
		int r = add ? nss_add(dir, module) : nss_delete(dir);
		if (r != EF_EXIT_OK)
			rc = r;
		found++;
		free(dir);
	}
	if (found == 0) {
		ef_err(_("no Firefox profile found (in ~/.mozilla/firefox or "
			 "~/.config/mozilla/firefox): start Firefox once, then run this again"));
		rc = add ? EF_EXIT_NOTFOUND : EF_EXIT_OK;
	}
	if (flags)
		globfree(&g);
	free(pat1);
	free(pat2);
	return rc;
}

static bool make_dirs(const char *path)
{
	char *copy = strdup(path);
	bool ok = copy != NULL;
	for (char *p = copy ? copy + 1 : NULL; ok && p; p++) {
		p = strchr(p, '/');
		if (p)
			*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			ok = false;
		if (!p)
			break;
		*p = '/';
	}
	free(copy);
	return ok;
}

/* Chromium and Chrome on Linux read the user's NSS database ~/.pki/nssdb. */
static int chromium(const char *module, bool add)
{
	char *dir = NULL, *db = NULL, *cert9 = NULL;
	struct stat st;
	int rc = EF_EXIT_ERROR;

	if (asprintf(&dir, "%s/.pki/nssdb", home()) < 0 ||
	    asprintf(&cert9, "%s/cert9.db", dir) < 0 || asprintf(&db, "sql:%s", dir) < 0)
		goto out;
	if (stat(cert9, &st) != 0) {
		if (!add) {
			printf(_("not registered in %s\n"), dir);
			rc = EF_EXIT_OK;
			goto out;
		}
		char *create[] = { "certutil", "-N", "-d", db, "--empty-password", NULL };
		if (!make_dirs(dir)) {
			ef_err(_("cannot create %s: %s"), dir, strerror(errno));
			goto out;
		}
		if (!run(create, false))
			goto out;
		printf(_("created the NSS database %s\n"), dir);
	}
	rc = add ? nss_add(dir, module) : nss_delete(dir);
out:
	free(dir);
	free(db);
	free(cert9);
	return rc;
}

/* Removes a registration file; none there is not an error. */
static int remove_reg(const char *path, const char *dir)
{
	if (unlink(path) == 0)
		printf(_("removed %s\n"), path);
	else if (errno == ENOENT)
		printf(_("not registered in %s\n"), dir);
	else {
		ef_err(_("cannot remove %s: %s"), path, strerror(errno));
		return EF_EXIT_ERROR;
	}
	return EF_EXIT_OK;
}

/* Creates (replaces) path in dir, making dir first; NULL after saying why. */
static FILE *create_reg(const char *path, const char *dir)
{
	FILE *f;
	if (!make_dirs(dir)) {
		ef_err(_("cannot create %s: %s"), dir, strerror(errno));
		return NULL;
	}
	f = fopen(path, "w");
	if (f == NULL)
		ef_err(_("cannot create %s: %s"), path, strerror(errno));
	return f;
}

static int close_reg(FILE *f, const char *path)
{
	if (fclose(f) != 0) {
		ef_err(_("cannot write %s: %s"), path, strerror(errno));
		return EF_EXIT_ERROR;
	}
	printf(_("registered in %s\n"), path);
	return EF_EXIT_OK;
}

/* p11-kit's per-user module files live in ~/.config/pkcs11/modules. */
static int p11kit(const char *module, bool add)
{
	char *dir = NULL, *path = NULL;
	int rc = EF_EXIT_ERROR;
	FILE *f;

	if (asprintf(&dir, "%s/.config/pkcs11/modules", home()) < 0 ||
	    asprintf(&path, "%s/efirma-pkcs11.module", dir) < 0)
		goto out;
	if (!add) {
		rc = remove_reg(path, dir);
		goto out;
	}
	f = create_reg(path, dir);
	if (f == NULL)
		goto out;
	/* Not translated: a configuration file is read by programs. */
	fprintf(f, "# written by efirma-tool register p11-kit\nmodule: %s\n", module);
	rc = close_reg(f, path);
out:
	free(dir);
	free(path);
	return rc;
}

/* The host is efirma-tool under another name, installed beside it: the
 * manifest names that link next to the running program, so a build tree's
 * tool registers the build tree's host. */
static char *host_path(void)
{
	char self[PATH_MAX], *slash, *path = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL || asprintf(&path, "%.*s/%s", (int)(slash - self), self,
				     EF_NATIVE_HOST_NAME) < 0)
		return NULL;
	return path;
}

/* [WebExtensions native messaging] the host manifest: its name, the
 * absolute path of the program, "stdio", and who may start it: Firefox
 * lists extension ids (allowed_extensions), Chromium origins
 * (allowed_origins).  dir is under HOME, or XDG_CONFIG_HOME (Chromium). */
static int native_manifest(const char *browser, bool add)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	bool mozilla = strcmp(browser, "firefox") == 0;
	char *dir = NULL, *path = NULL, *host = NULL, *origin = NULL;
	int rc = EF_EXIT_ERROR, r;
	FILE *f;

	if (mozilla)
		r = asprintf(&dir, "%s/.mozilla/native-messaging-hosts", home());
	else if (xdg != NULL && xdg[0] == '/')
		r = asprintf(&dir, "%s/%s/NativeMessagingHosts", xdg, browser);
	else
		r = asprintf(&dir, "%s/.config/%s/NativeMessagingHosts", home(), browser);
	if (r < 0 || asprintf(&path, "%s/%s.json", dir, EF_NMH_NAME) < 0) {
		dir = NULL;
		goto out;
	}
	if (!add) {
		rc = remove_reg(path, dir);
		goto out;
	}
	host = host_path();
	if (host == NULL || access(host, X_OK) != 0) {
		ef_err(_("cannot find the native messaging host %s: is efirma-pkcs11 installed?"),
		       host ? host : EF_NATIVE_HOST_NAME);
		rc = EF_EXIT_NOTFOUND;
		goto out;
	}
	if (!mozilla && asprintf(&origin, "chrome-extension://%s/", EF_WEBEXT_CHROMIUM_ID) < 0) {
		origin = NULL;
		goto out;
	}
	f = create_reg(path, dir);
	if (f == NULL)
		goto out;
	fputs("{\n  \"name\": ", f);
	ef_json_str(f, EF_NMH_NAME);
	fputs(",\n  \"description\": \"efirma-pkcs11: log in to SAT with the e.firma token\",\n"
	      "  \"path\": ", f);
	ef_json_str(f, host);
	fputs(",\n  \"type\": \"stdio\",\n", f);
	fputs(mozilla ? "  \"allowed_extensions\": [" : "  \"allowed_origins\": [", f);
	ef_json_str(f, mozilla ? EF_WEBEXT_GECKO_ID : origin);
	fputs("]\n}\n", f);
	rc = close_reg(f, path);
out:
	free(dir);
	free(path);
	free(host);
	free(origin);
	return rc;
}

static int dispatch(struct ef_opts *o, bool add)
{
	const char *what = o->argv[0];
	char module[PATH_MAX];

	if (home() == NULL) {
		ef_err(_("HOME is not set"));
		return EF_EXIT_ERROR;
	}
	/* Browsers load the module by the path given here: it must be
	 * absolute and exist. */
	if (realpath(ef_module_path(o), module) == NULL) {
		if (add) {
			ef_err(_("cannot find the module %s: %s"), ef_module_path(o),
			       strerror(errno));
			return EF_EXIT_NOTFOUND;
		}
		snprintf(module, sizeof(module), "%s", ef_module_path(o));
	}
	/* The browser's native messaging host first: it needs no profile. */
	if (strcmp(what, "firefox") == 0) {
		int rc = native_manifest(what, add), r2 = firefox(module, add);
		return rc != EF_EXIT_OK ? rc : r2;
	}
	if (strcmp(what, "chromium") == 0 || strcmp(what, "chrome") == 0) {
		int rc = native_manifest(strcmp(what, "chrome") == 0 ? "google-chrome"
											: "chromium", add),
		    r2 = chromium(module, add);
		return rc != EF_EXIT_OK ? rc : r2;
	}
	if (strcmp(what, "p11-kit") == 0)
		return p11kit(module, add);
	ef_err(_("unknown target \"%s\": use firefox, chromium or p11-kit"), what);
	return EF_EXIT_USAGE;
}

int ef_cmd_register(struct ef_opts *o)
{
	return dispatch(o, true);
}

int ef_cmd_unregister(struct ef_opts *o)
{
	return dispatch(o, false);
}
