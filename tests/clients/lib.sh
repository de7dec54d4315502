# lib.sh - shared helpers for the client tests (sourced after tap.sh).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A test calls cl_setup first: it makes the temp dir ($tmp), installs the
# trap that kills every server the test started (cl_spawn) and removes the
# dir, and sets the paths of the e.firma (a generated bundle).  Servers listen on 127.0.0.1
# only, on a port picked at random from a high range and checked free.

cl_pids=()
cl_keep=${EF_TEST_KEEP:-}

# cl_cleanup: kills what cl_spawn started (process groups are not used:
# each server is a direct child), waits for it, removes the temp dir.
cl_cleanup() {
	local p
	for p in "${cl_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${cl_pids[@]}"; do
		# bounded: a server that ignores TERM gets KILL after ~3 s
		local i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	cl_pids=()
	if [ -n "$cl_keep" ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
}

# cl_setup NAME: temp dir, trap, common paths and variables
cl_setup() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/efirma-$1.XXXXXX")
	trap cl_cleanup EXIT
	trap 'exit 130' INT TERM
	TAP_LOG=$tmp/cmd.log
	unset EFIRMA_PKCS11_DEBUG EFIRMA_PKCS11_CONF OPENSSL_CONF OPENSSL_ENGINES

	# The e.firma and its two-level chain come from the bundles made at
	# test time (tests/gen-bundles.sh: "chained", under an intermediate
	# shaped as SAT's AC UAT): every login here needs the certificate to be
	# valid, and SAT's test e.firma expires on 2027-05-08.
	PIN=12345678a
	gen=${EF_TEST_GEN:-$EF_TEST_BUILDDIR/tests/gen}
	if [ ! -f "$gen/chained.cer" ]; then
		echo "Bail out! no generated bundles in $gen (make check makes them)"
		exit 1
	fi
	fiel_cer=$gen/chained.cer
	fiel_key=$gen/chained.key
	rfc=CAPT880909QR9
	holder="TOMAS CADENA PRUEBA"
	holder_uri=TOMAS%20CADENA%20PRUEBA
	token_label="e.firma $rfc"
	token_url="pkcs11:token=e.firma%20$rfc"
	# the chain: the intermediate (the token shows it) issued by the root
	root_der=$gen/chain-root.cer
	ca_der=$gen/chain-ca.cer
	ca_cn="AC INTERMEDIA EFIRMA-PKCS11"
	ca_uri=AC%20INTERMEDIA%20EFIRMA-PKCS11
	ca_chain=$gen/chain.pem

	openssl x509 -inform DER -in "$fiel_cer" -out "$tmp/fiel.pem"
	openssl x509 -inform DER -in "$fiel_cer" -noout -pubkey > "$tmp/fiel.pub"
	openssl x509 -inform DER -in "$root_der" -out "$tmp/root.pem"
	openssl x509 -inform DER -in "$ca_der" -out "$tmp/inter.pem"
	# the module's own configuration: the bundle plus the test CAs, so the
	# token also shows the chain
	printf '[bundle]\ncert = %s\nkey = %s\n\n[ca]\npath = %s\npath = %s\n' \
		"$fiel_cer" "$fiel_key" "$ca_der" "$root_der" > "$tmp/efirma.conf"
}

# cl_need PROGRAM...: skips the whole test when one is missing
cl_need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip_all "$p is not installed"
	done
}

# cl_require_module: the built module must be there
cl_require_module() {
	module=${EF_TEST_MODULE:-}
	[ -n "$module" ] || skip_all "EF_TEST_MODULE is not set (run through make check)"
	[ -f "$module" ] || skip_all "module not built: $module"
}

# cl_port_busy PORT: 0 when something accepts connections on it
cl_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# cl_free_port: prints a port in 20000-59999 that nothing listens on
cl_free_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		cl_port_busy "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# cl_wait_port PORT PID [TENTHS]: waits until the port accepts connections
# while PID is alive; 1 when it died or the time ran out (default 10 s)
cl_wait_port() {
	local i=0 max=${3:-100}
	while [ $i -lt "$max" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		cl_port_busy "$1" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# cl_find VAR NAME...: VAR is set to the first program NAME on PATH (or in
# the sbin folders, where nginx is); the whole test is skipped when there
# is none
cl_find() {
	local var=$1 p; shift
	for p in "$@"; do
		p=$(PATH=$PATH:/usr/sbin:/sbin command -v "$p") && { printf -v "$var" %s "$p"; return 0; }
	done
	skip_all "$1 is not installed"
}

# cl_spawn LOG CMD...: starts a server in the background; its PID is in
# $cl_last_pid and is killed by the trap
cl_spawn() {
	local log=$1; shift
	# 8>&-: a server does not inherit the browser turn (cl_one_browser)
	"$@" >"$log" 2>&1 </dev/null 8>&- &
	cl_last_pid=$!
	cl_pids+=("$cl_last_pid")
}

# cl_stop PID: stops one server now (the trap would do it later)
cl_stop() {
	local p=$1 rest=() q i=0
	kill "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for q in "${cl_pids[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
	cl_pids=("${rest[@]}")
}

# cl_server_pki DIR: a throw-away CA and a server certificate for
# 127.0.0.1/localhost signed by it (DIR/ca.pem, DIR/server.{pem,key})
cl_server_pki() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
		-days 2 -subj "/CN=efirma-pkcs11 test server CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 || return 1
	openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
		-subj "/CN=localhost" >/dev/null 2>&1 || return 1
	printf '%s\n' \
		'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' \
		'subjectAltName=IP:127.0.0.1,DNS:localhost' > "$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" \
		>/dev/null 2>&1
}

# cl_s_server LOG TLSFLAG [ARGS...]: openssl s_server on a free port on
# 127.0.0.1 asking for (and requiring) a client certificate chaining to the
# e.firma's generated root; sets $srv_port and $srv_pid.  -www answers an HTTP GET
# with a status page.  Needs cl_server_pki "$tmp/pki" first.
cl_s_server() {
	local log=$1 tls=$2 try; shift 2
	for try in 1 2 3; do
		srv_port=$(cl_free_port) || return 1
		# no -naccept: the readiness probe is a connection of its own
		cl_spawn "$log" openssl s_server -accept "127.0.0.1:$srv_port" \
			-cert "$tmp/pki/server.pem" -key "$tmp/pki/server.key" \
			-CAfile "$ca_chain" -Verify 2 -verify_return_error "$tls" -www "$@"
		srv_pid=$cl_last_pid
		cl_wait_port "$srv_port" "$srv_pid" && return 0
		cl_stop "$srv_pid"
	done
	return 1
}

# has TEXT PATTERN: 0 when the fixed string is in the text; hasnt: the reverse
has() { printf '%s\n' "$1" | grep -qF -- "$2"; echo $?; }
hasnt() { if printf '%s\n' "$1" | grep -qF -- "$2"; then echo 1; else echo 0; fi; }

# verify_sig SIG DATA [PKEYOPTS...]: the signature checks out against the
# public key of the .cer (SHA-256)
verify_sig() {
	local sig=$1 data=$2; shift 2
	openssl dgst -sha256 -verify "$tmp/fiel.pub" "$@" -signature "$sig" "$data"
}

# cl_firefox_prefs FILE [select-cert]: the user.js of a test profile:
# Marionette on a free port, and none of the first-run pages, updates and
# network services a closed test machine has no use for; with select-cert,
# the TLS client certificate is chosen without a dialog
cl_firefox_prefs() {
	cat > "$1" <<'EOF'
// Marionette on any free port; Firefox writes it to MarionetteActivePort
user_pref("marionette.port", 0);
// no first-run pages, no network noise
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("startup.homepage_welcome_url", "");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.auto", false);
user_pref("app.update.disabledForTesting", true);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.proxy.type", 0);
user_pref("security.OCSP.enabled", 0);
user_pref("security.enterprise_roots.enabled", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
EOF
	[ "${2:-}" = select-cert ] || return 0
	cat >> "$1" <<'EOF'
// the client certificate is chosen without a dialog
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("security.remember_cert_checkbox_default_setting", false);
EOF
}

# cl_firefox_start PROFILE SECONDS ENV...: Firefox headless with
# Marionette on PROFILE, stopped after SECONDS, its output in
# $tmp/firefox.log; ENV: the start of the command, env and its VAR=value
# words; the PID in $ff_pid
cl_firefox_start() {
	local prof=$1 secs=$2; shift 2
	cl_spawn "$tmp/firefox.log" "$@" MOZ_CRASHREPORTER_DISABLE=1 MOZ_HEADLESS=1 \
		timeout "$secs" "$firefox" --headless --marionette -remote-allow-system-access \
			--no-remote --new-instance --profile "$prof"
	ff_pid=$cl_last_pid
}

# cl_firefox_stop: gives Firefox a moment to quit by itself (the driver's
# Marionette:Quit), then stops it
cl_firefox_stop() {
	local i=0
	while kill -0 "$ff_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	cl_stop "$ff_pid"
}

# cl_nssdb DIR: an NSS database with the throw-away server CA trusted, the
# e.firma's root trusted (only the root: the intermediate comes with the
# token), and
# the module added with "modutil -add -libfile ... -string conf=FILE" (the
# -string is NSS's module "parameters", which NSS hands to C_Initialize as
# pReserved), FILE being $tmp/efirma.conf
cl_nssdb() {
	local db=$1
	mkdir -p "$db"
	ok "certutil -N makes the NSS database" certutil -N -d "sql:$db" --empty-password
	ok "certutil trusts the throw-away server CA" \
		certutil -A -d "sql:$db" -n "efirma test server CA" -t "C,," -i "$tmp/pki/ca.pem"
	# Firefox verifies a TLS client certificate against the e-mail trust
	# bit (NSS has no client-auth trust bit for CAs), hence ",C," as well.
	ok "certutil trusts the e.firma's root (only the root: the intermediate comes with the token)" \
		certutil -A -d "sql:$db" -n "AC RAIZ EFIRMA-PKCS11 (test)" -t "C,C," -i "$tmp/root.pem"
	ok "modutil -add the module with -string conf=..." \
		modutil -dbdir "sql:$db" -force -add "e.firma (efirma-pkcs11)" \
			-libfile "$module" -string "conf=$tmp/efirma.conf"
}

# cl_one_browser: waits until no other browser test runs, then holds the
# turn until this test exits.  A browser started beside another one on a
# loaded machine (make -j16 check on 2 cores) misses its start-up and page
# deadlines; one at a time, each gets the machine the others leave.  The
# lock is a file outside the tree, so checkouts side by side take turns too.
cl_one_browser() {
	exec 8>"${TMPDIR:-/tmp}/efirma-pkcs11-browser-$(id -u).lock" || return 0
	flock 8
}

# cl_nginx_head DIR: the start of an nginx.conf for one foreground nginx
# process whose pid, logs and temporary files stay under DIR (DIR/logs and
# DIR/tmp made by the caller), up to the opening of its http block; the
# caller writes the rest and closes it
cl_nginx_head() {
	local ng=$1
	cat <<-EOF
	daemon off;
	master_process off;
	worker_processes 1;
	pid $ng/nginx.pid;
	error_log $ng/logs/error.log info;
	events { worker_connections 64; }
	http {
	    access_log $ng/logs/access.log;
	    client_body_temp_path $ng/tmp/body;
	    proxy_temp_path $ng/tmp/proxy;
	    fastcgi_temp_path $ng/tmp/fastcgi;
	    uwsgi_temp_path $ng/tmp/uwsgi;
	    scgi_temp_path $ng/tmp/scgi;
	EOF
}

# cl_nginx_client_cert VERIFY: the http block's lines for TLS with the
# throw-away server certificate, asking the client for a certificate of
# the e.firma's chain (ssl_verify_client VERIFY: on or optional) and
# keeping no TLS session, so every connection is a full handshake with a
# signature of the client's
cl_nginx_client_cert() {
	cat <<-EOF
	    ssl_certificate $tmp/pki/server.pem;
	    ssl_certificate_key $tmp/pki/server.key;
	    ssl_client_certificate $ca_chain;
	    ssl_verify_client $1;
	    # leaf, intermediate, root
	    ssl_verify_depth 2;
	    ssl_session_tickets off;
	    ssl_session_cache off;
	EOF
}

# cl_nginx_start DIR PORT...: starts $nginx with DIR/nginx.conf (DIR as
# for cl_nginx_head), its PID in $nginx_pid; 0 once it accepts
# connections on every PORT, else it is stopped and 1
cl_nginx_start() {
	local ng=$1 p; shift
	cl_spawn "$ng/logs/stderr.log" "$nginx" -p "$ng" -c "$ng/nginx.conf" -e "$ng/logs/error.log"
	nginx_pid=$cl_last_pid
	for p in "$@"; do
		cl_wait_port "$p" "$nginx_pid" || { cl_stop "$nginx_pid"; return 1; }
	done
}
