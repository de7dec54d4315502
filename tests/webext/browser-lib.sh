# browser-lib.sh - what the extension's browser tests share (sourced after
# tap.sh and clients/lib.sh): the replica portal, the test build of the
# extension, the host registered in the test's HOME, the test pinentry,
# and the assertions both browsers must pass.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The portal: nginx serves HTTPS on 127.0.0.1 (a throw-away server CA,
# trusted in the browser's profile) and passes requests to sat-replica.py.
# The same server answers as https://127.0.0.1:PORT, the origin the test
# build of the extension is made for (its content script also matches
# https://127.0.0.1/*), and as https://localhost:PORT, an origin on no
# list: there the extension must do nothing.
#
# The browser's environment reaches the host it starts: EFIRMA_TOOL_MODULE
# (the build tree's module), EFIRMA_PKCS11_CONF (the bundles),
# EFIRMA_PINENTRY (tests/efirma-tool/pinentry-test.sh; PE_ANSWERS is rewritten by
# the driver before each login, PE_LOG collects the dialog's commands,
# PE_TIMES the moments it answered and was closed).

wx_need() {
	cl_require_module
	T=${EF_TEST_BUILDDIR:?}/tools/efirma-tool
	V=$EF_TEST_BUILDDIR/tools/efirma-portal-verify
	[ -x "$T" ] && [ -x "$V" ] || skip_all "efirma-tool not built"
	cl_find nginx nginx
	cl_need python3 openssl zip unzip certutil
}

# wx_setup NAME: temp dir, bundles, HOME, the portal; sets $portal (the
# listed origin's login URL), $unlisted (the same page on another origin)
wx_setup() {
	cl_setup "$1"
	export LC_ALL=C.UTF-8
	wx_home=$tmp/home
	mkdir -p "$wx_home/.config" "$tmp/out"
	# the e.firma (tests/clients/lib.sh) and the CSD of the same holder are
	# generated at test time, valid from today: the login and the chooser
	# depend on their validity.  The expired e.firma is SAT's, expired for
	# good in 2023.
	csd_cer=$gen/chainedcsd.cer
	csd_key=$gen/chainedcsd.key
	fiel_end=$(date -u -d "$(openssl x509 -inform DER -in "$fiel_cer" -noout -enddate |
		cut -d= -f2)" +%Y-%m-%d)
	sat=${EF_TEST_DATA:-$EF_TEST_SRCDIR/tests/data}/sat
	old=$sat/fiel-pf-IANL750210963-2019-expired
	old_cer=$old/IANL750210963_fiel.cer old_key=$old/IANL750210963_fiel.key
	old_holder="LUIS IAN ÑUZCO" old_end=2023-06-13
	# the e.firma and the CSD of the same holder, and an expired e.firma:
	# the chooser lists all three
	printf '[bundle]\ncert = %s\nkey = %s\n\n' "$fiel_cer" "$fiel_key" "$csd_cer" "$csd_key" \
		"$old_cer" "$old_key" > "$tmp/bundles.conf"
	printf '%s\n' "$PIN" > "$tmp/pin"
	chmod 600 "$tmp/pin"
	: > "$tmp/pe.log"
	: > "$tmp/pe.times"
	: > "$tmp/answers"
	# SAT's registry of certificates, for the replica
	mkdir -p "$tmp/registry"
	cp "$fiel_cer" "$csd_cer" "$old_cer" "$tmp/registry/"
	cl_server_pki "$tmp/pki" || return 1
	wx_portal
}

wx_portal_start() {
	local ng=$tmp/nginx
	mkdir -p "$ng/logs" "$ng/tmp"
	port=$(cl_free_port) && back=$(cl_free_port) || return 1
	[ "$port" != "$back" ] || return 1
	cl_spawn "$tmp/replica.log" python3 -B "$here/webext/sat-replica.py" "$back" \
		"$tmp/events" "$V" "$tmp/registry" "$ca_der" "$root_der"
	replica_pid=$cl_last_pid
	{ cl_nginx_head "$ng"; cat <<-EOF
	    server {
	        listen 127.0.0.1:$port ssl;
	        ssl_certificate $tmp/pki/server.pem;
	        ssl_certificate_key $tmp/pki/server.key;
	        location / {
	            proxy_pass http://127.0.0.1:$back;
	            proxy_set_header Host \$http_host;
	        }
	    }
	}
	EOF
	} > "$ng/nginx.conf"
	if cl_nginx_start "$ng" "$port"; then
		cl_wait_port "$back" "$replica_pid" && return 0
		cl_stop "$nginx_pid"
	fi
	cl_stop "$replica_pid"
	return 1
}

wx_portal() {
	local started=1 try
	: > "$tmp/events"
	for try in 1 2 3; do wx_portal_start && { started=0; break; }; done
	check "the replica portal serves HTTPS on 127.0.0.1:${port:-?} (nginx + sat-replica.py)" \
		"$started" "$(cat "$tmp/replica.log" "$tmp/nginx/logs/stderr.log" 2>/dev/null | tail -n 20)"
	[ "$started" = 0 ] || return 1
	portal="https://127.0.0.1:$port/nidp/app/login?id=SATx509Custom"
	unlisted="https://localhost:$port/nidp/app/login?id=SATx509Custom"
	local page
	page=$(python3 -c 'import ssl,sys,urllib.request as u; print(u.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read().decode())' \
			"$portal" "$tmp/pki/ca.pem" 2>&1)
	check "the login page carries certform with a guid (base64 of a UUID)" \
		"$(printf '%s\n' "$page" | grep -q 'name="guid" id="guid" value="[A-Za-z0-9+/=]\{48\}"'; echo $?)" "$page"
}

# wx_extension BROWSER OUT: the test build of the extension (its content
# script also on https://127.0.0.1/*), packed by build.sh as make webext
# packs it
wx_extension() {
	local ids=$EF_TEST_BUILDDIR/tools/webext-ids.h gecko
	gecko=$(sed -n 's/^#define EF_WEBEXT_GECKO_ID "\(.*\)"$/\1/p' "$ids")
	wx_ext_id=$gecko
	[ "$1" = chromium ] && wx_ext_id=$(sed -n 's/^#define EF_WEBEXT_CHROMIUM_ID "\(.*\)"$/\1/p' "$ids")
	sh "$EF_TEST_SRCDIR/tools/webext/build.sh" "$1" "$EF_TEST_SRCDIR/tools/webext" "$2" \
		"$gecko" 1.0 'https://127.0.0.1/*' >> "$TAP_LOG" 2>&1
}

# wx_register BROWSER: the host manifest in the test's HOME
wx_register() {
	HOME=$wx_home XDG_CONFIG_HOME=$wx_home/.config EFIRMA_TOOL_MODULE=$module \
		"$T" register "$1" >> "$TAP_LOG" 2>&1
}

# wx_browser_env: the environment the browser (and so the host) runs in
wx_browser_env=()
wx_env() {
	wx_browser_env=(env HOME="$wx_home" XDG_CONFIG_HOME="$wx_home/.config"
		XDG_CACHE_HOME="$wx_home/.cache" TMPDIR="$tmp"
		EFIRMA_TOOL_MODULE="$module" EFIRMA_PKCS11_CONF="$tmp/bundles.conf"
		EFIRMA_PINENTRY="$here/efirma-tool/pinentry-test.sh"
		PE_LOG="$tmp/pe.log" PE_ANSWERS="$tmp/answers" PE_TIMES="$tmp/pe.times")
}

# wx_drive MANIFEST BROWSER ARGS...: runs the scenario (webext-login.py)
# with the host manifest at MANIFEST; facts in $tmp/out/facts
wx_drive() {
	local manifest=$1; shift
	timeout 300 python3 -B "$here/webext/webext-login.py" \
		--outdir "$tmp/out" --portal "$portal" --unlisted "$unlisted" \
		--answers "$tmp/answers" --pin-file "$tmp/pin" --events "$tmp/events" \
		--pe-log "$tmp/pe.log" --locales "$EF_TEST_SRCDIR/tools/webext/_locales" \
		--host-manifest "$manifest" --rfc "$rfc" "$@" > "$tmp/driver.log" 2>&1 8>&-
	facts=$(cat "$tmp/out/facts" 2>/dev/null)
}

fact() { printf '%s\n' "$facts" | sed -n "s/^$1 //p"; }
posts() { grep -c '"event": "post"' "$tmp/events"; }

# wx_assert BROWSER LANG LOGS...: what both browsers must show, from the
# facts the driver wrote, the portal's events and the pinentry's log; LANG:
# the locale (_locales) the extension must speak in this browser
wx_assert() {
	local b=$1 lang=$2; shift 2
	# the driver's own lines (a browser's log is in the same file)
	local d="$(grep -v '^\[[0-9:/.]*:\|^\*\*\*\|^[0-9]\{13\}' "$tmp/driver.log" | tail -n 30
		printf '%s\n' "$facts")"
	check "$b: the driver ran to the end" "$([ "$(fact done)" = 1 ]; echo $?)" "$d"

	check "$b: on an origin on no list, no control" \
		"$([ "$(fact unlisted_control)" = 0 ]; echo $?)" "$d"
	check "$b: on the portal, the control \"Entrar con mi e.firma (token)\"" \
		"$([ "$(fact control_text)" = loginButton ]; echo $?)" "$d"
	check "$b: the extension speaks the browser's language ($lang)" \
		"$([ "$(fact control_lang)" = "$lang" ]; echo $?)" "$d"
	check "$b: a click the page makes (untrusted) opens nothing and asks nothing" \
		"$([ "$(fact forged_chooser)" = 0 ] && [ "$(fact forged_dialogs)" = 0 ]; echo $?)" "$d"

	check "$b: the chooser names the origin it logs in to" \
		"$([ "$(fact chooser_origin)" = "chooserOrigin|https://127.0.0.1:$port" ]; echo $?)" "$d"
	check "$b: the chooser lists exactly the three tokens" \
		"$([ "$(fact chooser_tokens | grep -c .)" = 3 ]; echo $?)" "$d"
	check "$b: the chooser lists the e.firma with RFC, holder and validity" \
		"$(fact chooser_tokens | grep -qxF "enabled $rfc — $holder (tokenValid|$fiel_end)"; echo $?)" "$d"
	check "$b: the CSD is listed but cannot be chosen" \
		"$(fact chooser_tokens | grep -qxF "disabled $rfc — $holder (tokenCsd)"; echo $?)" "$d"

	check "$b: the expired e.firma is listed as expired and cannot be chosen" \
		"$(fact chooser_tokens | grep -qxF "disabled IAÑL750210963 — $old_holder (tokenExpired|$old_end)"; echo $?)" "$d"
	check "$b: cancel: the chooser says so" \
		"$([ "$(fact error_cancel)" = errCancelled ]; echo $?)" "$d"
	check "$b: wrong password 3 times: the chooser says so" \
		"$([ "$(fact error_wrong)" = errWrongPassword ]; echo $?)" "$d"
	check "$b: the CSD forced through the chooser: the host refuses it" \
		"$([ "$(fact error_csd)" = errCsd ]; echo $?)" "$d"
	check "$b: the expired e.firma forced through the chooser: the host refuses it" \
		"$([ "$(fact error_expired)" = errExpired ]; echo $?)" "$d"
	check "$b: the host not installed: the chooser says so" \
		"$([ "$(fact error_nohost)" = errHostMissing ]; echo $?)" "$d"
	check "$b: the dialog asked 1 (cancel) + 3 (wrong) + 1 (login) times, never for the CSD or the expired one" \
		"$([ "$(grep -c '^GETPIN' "$tmp/pe.log")" = 5 ]; echo $?)" "$(cat "$tmp/pe.log")"
	check "$b: the dialog named the origin and the holder" \
		"$(grep -q "^SETDESC .*https://127.0.0.1:$port.*$holder.*$rfc" "$tmp/pe.log"; echo $?)" \
		"$(grep SETDESC "$tmp/pe.log")"
	check "$b: nothing was posted before the good password" \
		"$([ "$(fact posts_before_login)" = 0 ]; echo $?)" "$(cat "$tmp/events")"

	check "$b: the login ends on the portal's page naming the RFC" \
		"$([ "$(fact final_rfc)" = "$rfc" ]; echo $?)" "$d"
	check "$b: the portal accepted exactly one post, for $rfc" \
		"$([ "$(posts)" = 1 ] && grep '"event": "post"' "$tmp/events" |
			grep -q "\"accepted\": true, \"rfc\": \"$rfc\""; echo $?)" "$(cat "$tmp/events")"

	# the time from the click on the token to the form arriving at the
	# portal, less the time the module spent in C_Login (the password's key
	# derivation), which the test pinentry brackets: it answers, then the
	# host closes it once C_Login has returned.  Printed, not asserted (the
	# machines are shared); make bench has the module's own figures.
	local times
	times=$(awk -v click="$(fact click_t)" -v post="$(fact post_t)" '
		/^answer /{a=$2} /^close /{if (a) c=$2}
		END{
			if (!(a && c && click && post)) exit
			kdf = (c - a) * 1000
			printf "click to submitted form %d ms, of which C_Login (the KDF) %d ms: %d ms without it (target <= 300 ms); ", (post - click) * 1000, kdf, (post - click) * 1000 - kdf
			printf "click to the password dialog answered %d ms, dialog closed to form posted %d ms", (a - click) * 1000, (post - c) * 1000
		}' "$tmp/pe.times")
	[ -n "$times" ] && diag "$b: $times"

	local leaks
	leaks=$(grep -rlaF -- "$PIN" "$@" 2>/dev/null)
	check "$b: the password is nowhere in the profile, the logs or the page events" \
		"$([ -z "$leaks" ]; echo $?)" "$leaks"
}
