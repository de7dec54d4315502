/*
 * main.c - efirma-tool: the command line, its help and its exit codes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Options may come before or after the command ("efirma-tool --module M
 * list", "efirma-tool sign doc.pdf --detached"); each command says which
 * ones it takes and refuses the rest, so a typo never silently changes
 * what gets signed.
 */
#include "tool.h"

#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EF_MODULE_PATH
#define EF_MODULE_PATH "efirma-pkcs11.so"
#endif
#ifndef EF_LOCALEDIR
#define EF_LOCALEDIR "/usr/share/locale"
#endif
#ifndef EF_VERSION
#define EF_VERSION "?"
#endif

#define EF_PIN_OPTS_HELP \
	N_("  --token RFC|LABEL|NUMERO  the token to use when several are configured\n" \
	   "  --pin-file FILE           read the password from FILE (one line)\n" \
	   "  --pin-env VARIABLE        read the password from an environment variable\n" \
	   "                            (without either, it is asked for without echo)\n")

struct ef_command {
	const char *name;
	int (*run)(struct ef_opts *o);
	unsigned opts;
	int min_args, max_args;
	const char *usage;
	const char *help;
	bool pin_help;
};

static const struct ef_command commands[] = {
	{ "list", ef_cmd_list, 0, 0, 0,
	  "list",
	  N_("Lists every configured token: e.firma or CSD, persona física or moral,\n"
	     "RFC, CURP, holder, número de certificado and validity, with a warning\n"
	     "when the certificate expires within 30 days or has expired.\n"),
	  false },
	{ "info", ef_cmd_info, EF_OPT_JSON, 1, 1,
	  "info FILE.cer [--json]",
	  N_("Shows the facts of a certificate file without any token: type, RFC,\n"
	     "CURP, holder, número, validity, issuer and fingerprints.\n"
	     "  --json                    one JSON object, for scripts\n"),
	  false },
	{ "add", ef_cmd_add, EF_OPT_LABEL | EF_OPT_PIN, 2, 2,
	  "add FILE.cer FILE.key [--label LABEL]",
	  N_("Adds a certificate and its key to your configuration file (the one the\n"
	     "module reads), after checking through the module that the password\n"
	     "opens the key and that the key belongs to the certificate.\n"
	     "  --label LABEL             the token's label (default \"e.firma RFC\")\n"),
	  true },
	{ "remove", ef_cmd_remove, 0, 1, 1,
	  "remove RFC|LABEL|NUMERO|FILE.cer",
	  N_("Removes the matching certificates from your configuration file.\n"),
	  false },
	{ "check", ef_cmd_check, EF_OPT_TOKEN | EF_OPT_PIN, 0, 0,
	  "check",
	  N_("Confirms that the password opens the key and that the key belongs to the\n"
	     "certificate, by logging in and signing a test message.\n"),
	  true },
	{ "sign", ef_cmd_sign,
	  EF_OPT_TOKEN | EF_OPT_PIN | EF_OPT_OUT | EF_OPT_DETACHED | EF_OPT_RAW | EF_OPT_FORCE,
	  1, 1,
	  "sign FILE [--detached] [--raw] [--out OUTPUT] [--force]",
	  N_("Signs FILE: a CMS (PKCS#7) SignedData, SHA-256 with RSA, with the signer's\n"
	     "certificate, written to FILE.p7m (attached) or FILE.p7s (detached).\n"
	     "  --detached                leave the document out of the signature\n"
	     "  --raw                     a bare PKCS#1 v1.5 SHA-256 signature, base64\n"
	     "                            (written to standard output unless --out)\n"
	     "  --out OUTPUT              where to write it (\"-\": standard output)\n"
	     "  --force                   replace OUTPUT if it exists (never written\n"
	     "                            through a symbolic link either way)\n"),
	  true },
	{ "login-token", ef_cmd_login_token,
	  EF_OPT_TOKEN | EF_OPT_PIN | EF_OPT_CHALLENGE | EF_OPT_FORMAT | EF_OPT_HASH |
		  EF_OPT_JSON,
	  0, 0,
	  "login-token --challenge GUID [--json] [--format TEMPLATE] [--hash sha1|sha256]",
	  N_("Prints the token of SAT's e.firma web login: co = \"guid|RFC|número\"\n"
	     "signed with the e.firma (SHA-1), sent exactly as SAT's form sends it:\n"
	     "base64( base64(co) \"#\" base64( base64(signature) ) ).\n"
	     "  --challenge GUID          the guid (challenge) the portal issued\n"
	     "  --json                    also what the form posts beside the token:\n"
	     "                            guid, fert (the certificate's end of validity\n"
	     "                            as YYMMDDhhmmssZ), RFC and número\n"
	     "  --format TEMPLATE         the signed text; %c challenge, %r RFC,\n"
	     "                            %n número, %% a percent sign (default %c|%r|%n)\n"
	     "  --hash sha1|sha256        the hash of the signature (default sha1, as SAT)\n"),
	  true },
	{ "passwd", ef_cmd_passwd, EF_OPT_TOKEN | EF_OPT_PIN | EF_OPT_NEWPIN, 0, 0,
	  "passwd",
	  N_("Changes the password of the key: the .key file is rewritten, encrypted\n"
	     "with the new password, in SAT's format.\n"
	     "  --new-pin-file FILE       read the new password from FILE\n"
	     "  --new-pin-env VARIABLE    read the new password from a variable\n"),
	  true },
	{ "register", ef_cmd_register, 0, 1, 1,
	  "register firefox|chromium|p11-kit",
	  N_("Registers the module: with every Firefox profile (modutil), with the NSS\n"
	     "database of Chromium and Chrome (~/.pki/nssdb), or with p11-kit\n"
	     "(~/.config/pkcs11/modules).  For firefox and chromium (or chrome) it\n"
	     "also installs the browser extension's native messaging host manifest.\n"
	     "Running it again is harmless.\n"),
	  false },
	{ "native-host", ef_cmd_native_host, 0, 0, 2,
	  "native-host",
	  N_("The native messaging host of the browser extension: speaks the\n"
	     "WebExtensions native messaging protocol on standard input and output\n"
	     "(methods \"list\" and \"sat-login\") and asks the password itself\n"
	     "through pinentry.  Started by the browser, whose arguments name the\n"
	     "calling extension (Firefox: the manifest and the extension's id;\n"
	     "Chromium: the extension's origin): any other extension is refused.\n"),
	  false },
	{ "unregister", ef_cmd_unregister, 0, 1, 1,
	  "unregister firefox|chromium|p11-kit",
	  N_("Removes what register added.\n"),
	  false },
};

static const struct {
	unsigned bit;
	const char *name;
} opt_names[] = {
	{ EF_OPT_TOKEN, "--token" }, { EF_OPT_PIN, "--pin-file/--pin-env" },
	{ EF_OPT_NEWPIN, "--new-pin-file/--new-pin-env" }, { EF_OPT_OUT, "--out" },
	{ EF_OPT_DETACHED, "--detached" }, { EF_OPT_RAW, "--raw" },
	{ EF_OPT_JSON, "--json" }, { EF_OPT_LABEL, "--label" },
	{ EF_OPT_CHALLENGE, "--challenge" }, { EF_OPT_FORMAT, "--format" },
	{ EF_OPT_HASH, "--hash" }, { EF_OPT_FORCE, "--force" },
};

static void exit_codes_help(void)
{
	fputs(_("Exit status:\n"
		"  0  success\n"
		"  1  usage error (bad command line, no terminal to ask the password)\n"
		"  2  wrong password\n"
		"  3  token, certificate or file not found\n"
		"  4  refused: not a SAT file, a key of another certificate, a failed check\n"
		"  5  any other error\n"), stdout);
}

static void general_help(void)
{
	printf(_("Usage: efirma-tool COMMAND [OPTIONS] [ARGUMENTS]\n"
		 "Your SAT e.firma or CSD through the efirma-pkcs11 module.\n\n"));
	fputs(_("Commands:\n"), stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  efirma-tool %s\n", commands[i].usage);
	fputs(_("\nOptions for every command:\n"
		"  --module PATH             the module to load (also EFIRMA_TOOL_MODULE)\n"
		"  -h, --help                help; \"efirma-tool COMMAND --help\" for a command\n"
		"  --version                 the version\n\n"), stdout);
	exit_codes_help();
	printf(_("\nModule loaded by default: %s\n"), EF_MODULE_PATH);
}

static void command_help(const struct ef_command *c)
{
	printf(_("Usage: efirma-tool %s [OPTIONS]\n\n"), c->usage);
	fputs(_(c->help), stdout);
	if (c->pin_help)
		fputs(_(EF_PIN_OPTS_HELP), stdout);
	fputs(_("  --module PATH             the module to load (also EFIRMA_TOOL_MODULE)\n\n"),
	      stdout);
	exit_codes_help();
}

const char *ef_module_path(const struct ef_opts *o)
{
	const char *env = getenv("EFIRMA_TOOL_MODULE");
	if (o->module != NULL)
		return o->module;
	if (env != NULL && env[0] != '\0')
		return env;
	return EF_MODULE_PATH;
}

enum { O_MODULE = 256, O_TOKEN, O_PIN_FILE, O_PIN_ENV, O_NEW_PIN_FILE, O_NEW_PIN_ENV,
       O_DETACHED, O_RAW, O_JSON, O_LABEL, O_CHALLENGE, O_FORMAT, O_HASH, O_FORCE, O_VERSION };

static const struct option long_opts[] = {
	{ "module", required_argument, NULL, O_MODULE },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "pin-file", required_argument, NULL, O_PIN_FILE },
	{ "pin-env", required_argument, NULL, O_PIN_ENV },
	{ "new-pin-file", required_argument, NULL, O_NEW_PIN_FILE },
	{ "new-pin-env", required_argument, NULL, O_NEW_PIN_ENV },
	{ "out", required_argument, NULL, 'o' },
	{ "detached", no_argument, NULL, O_DETACHED },
	{ "raw", no_argument, NULL, O_RAW },
	{ "json", no_argument, NULL, O_JSON },
	{ "label", required_argument, NULL, O_LABEL },
	{ "challenge", required_argument, NULL, O_CHALLENGE },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "hash", required_argument, NULL, O_HASH },
	{ "force", no_argument, NULL, O_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void setup_i18n(void)
{
	const char *dir = getenv("EFIRMA_TOOL_LOCALEDIR");
	setlocale(LC_ALL, "");
	/* EFIRMA_TOOL_LOCALEDIR: the build tree's catalogs, for the tests. */
	bindtextdomain("efirma-tool", dir != NULL && dir[0] != '\0' ? dir : EF_LOCALEDIR);
	bind_textdomain_codeset("efirma-tool", "UTF-8");
	textdomain("efirma-tool");
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

int main(int argc, char **argv)
{
	struct ef_opts o;
	bool help = false, version = false;
	const struct ef_command *cmd = NULL;
	int c;

	setup_i18n();
	memset(&o, 0, sizeof(o));
	/* A browser starts its native messaging host by the path in the
	 * host's manifest and cannot pass a subcommand; it passes arguments
	 * of its own (Firefox the manifest and the extension id, Chromium the
	 * extension's origin).  So under the name efirma-native-host (a link
	 * made by "make install") this program is the host, and the
	 * browser's arguments say which extension called it: one binary,
	 * the same module found the same way. */
	if (argc > 0 && strcmp(base_name(argv[0]), EF_NATIVE_HOST_NAME) == 0) {
		o.argc = argc - 1;
		o.argv = argv + 1;
		return o.argc <= 3 ? ef_cmd_native_host(&o) : EF_EXIT_USAGE;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", long_opts, NULL)) != -1) {
		switch (c) {
		case O_MODULE: o.module = optarg; o.given |= EF_OPT_MODULE; break;
		case O_TOKEN: o.token = optarg; o.given |= EF_OPT_TOKEN; break;
		case O_PIN_FILE: o.pin_file = optarg; o.given |= EF_OPT_PIN; break;
		case O_PIN_ENV: o.pin_env = optarg; o.given |= EF_OPT_PIN; break;
		case O_NEW_PIN_FILE: o.new_pin_file = optarg; o.given |= EF_OPT_NEWPIN; break;
		case O_NEW_PIN_ENV: o.new_pin_env = optarg; o.given |= EF_OPT_NEWPIN; break;
		case 'o': o.out = optarg; o.given |= EF_OPT_OUT; break;
		case O_DETACHED: o.detached = true; o.given |= EF_OPT_DETACHED; break;
		case O_RAW: o.raw = true; o.given |= EF_OPT_RAW; break;
		case O_JSON: o.json = true; o.given |= EF_OPT_JSON; break;
		case O_LABEL: o.label = optarg; o.given |= EF_OPT_LABEL; break;
		case O_CHALLENGE: o.challenge = optarg; o.given |= EF_OPT_CHALLENGE; break;
		case O_FORMAT: o.format = optarg; o.given |= EF_OPT_FORMAT; break;
		case O_HASH: o.hash = optarg; o.given |= EF_OPT_HASH; break;
		case O_FORCE: o.force = true; o.given |= EF_OPT_FORCE; break;
		case 'h': help = true; break;
		case O_VERSION: version = true; break;
		case ':':
			ef_err(_("option %s needs a value"), argv[optind - 1]);
			return EF_EXIT_USAGE;
		default:
			ef_err(_("unknown option %s; see \"efirma-tool --help\""),
			       argv[optind - 1]);
			return EF_EXIT_USAGE;
		}
	}
	if (version) {
		printf("efirma-tool %s\n", EF_VERSION);
		return EF_EXIT_OK;
	}
	if (optind < argc && strcmp(argv[optind], "help") == 0) {
		help = true;
		optind++;
	}
	if (optind < argc) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[optind], commands[i].name) == 0)
				cmd = &commands[i];
		if (cmd == NULL) {
			ef_err(_("unknown command \"%s\"; see \"efirma-tool --help\""),
			       argv[optind]);
			return EF_EXIT_USAGE;
		}
		optind++;
	}
	if (cmd == NULL) {
		general_help();
		return help ? EF_EXIT_OK : EF_EXIT_USAGE;
	}
	if (help) {
		command_help(cmd);
		return EF_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++) {
		if ((o.given & opt_names[i].bit) && !(cmd->opts & opt_names[i].bit)) {
			ef_err(_("%s does not apply to \"%s\"; see \"efirma-tool %s --help\""),
			       opt_names[i].name, cmd->name, cmd->name);
			return EF_EXIT_USAGE;
		}
	}
	o.argc = argc - optind;
	o.argv = argv + optind;
	if (o.argc < cmd->min_args || o.argc > cmd->max_args) {
		ef_err(_("usage: efirma-tool %s"), cmd->usage);
		return EF_EXIT_USAGE;
	}
	return cmd->run(&o);
}
