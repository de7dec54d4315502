# hotplug-lib.sh - what the browsers' hot-plug tests share (sourced after
# tap.sh and lib.sh): the stand-in mount root, the module's configuration,
# the nginx site, the driver and the assertions (browser-neutral; the
# Chromium test uses them too).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The module is configured with a file whose [removable] section names
# $tmp/media as the only removable root (the stand-in for /media/$USER);
# the stick is the folder $tmp/media/KINGSTON, the bundle goes into its SAT
# folder (where SAT's advice puts it).  The browser starts with the root
# empty.  nginx serves one TLS 1.3 site on 127.0.0.1 (two ports: $url, and
# $url0 for a page with no stick in a browser that remembers per port) with
# "ssl_verify_client optional": the page is served with or without a
# client certificate and says which one the server saw ($ssl_client_s_dn,
# $ssl_client_verify).  keepalive_timeout 0 and no session cache: every
# page is a new full handshake, so a certificate seen is a signature made
# now, not a connection or session kept from before the stick was pulled.

# hp_need [PROGRAM...]: what both tests need besides the browser; skips
# the whole test when something is missing
hp_need() {
	cl_require_module
	cl_find nginx nginx
	cl_need certutil modutil python3 openssl "$@"
}

# hp_setup NAME: temp dir, configuration, server PKI, nginx; sets $url
hp_setup() {
	cl_setup "$1"
	media=$tmp/media
	volume=$media/KINGSTON/SAT
	mkdir -p "$media" "$tmp/out"
	printf '[removable]\nroot = %s\n\n[ca]\npath = %s\npath = %s\n' \
		"$media" "$ca_der" "$root_der" > "$tmp/efirma.conf"
	printf '%s\n' "$PIN" > "$tmp/pin"
	chmod 600 "$tmp/pin"
	cl_server_pki "$tmp/pki" || { check "server certificates made" 1; return 1; }
	local started=1 try
	for try in 1 2 3; do hp_nginx_start && { started=0; break; }; done
	check "nginx serves TLS 1.3 on 127.0.0.1:${port:-?}, client certificate optional" "$started" \
		"$(cat "$tmp/nginx/logs/stderr.log" "$tmp/nginx/logs/error.log" 2>/dev/null | tail -n 20)"
	[ "$started" = 0 ] || return 1
	url=https://127.0.0.1:$port/
	url0=https://127.0.0.1:$port0/
}

hp_nginx_start() {
	local ng=$tmp/nginx
	mkdir -p "$ng/logs" "$ng/tmp"
	port=$(cl_free_port) || return 1
	port0=$(cl_free_port) || return 1
	[ "$port0" != "$port" ] || return 1
	{ cl_nginx_head "$ng"; cl_nginx_client_cert optional; cat <<-EOF
	    default_type text/plain;
	    keepalive_timeout 0;
	    server {
	        listen 127.0.0.1:$port ssl;
	        listen 127.0.0.1:$port0 ssl;
	        ssl_protocols TLSv1.3;
	        location / {
	            add_header Cache-Control no-store always;
	            return 200 "efirma test page\nsubject: \$ssl_client_s_dn\nverify: \$ssl_client_verify\n";
	        }
	    }
	}
	EOF
	} > "$ng/nginx.conf"
	cl_nginx_start "$ng" "$port" "$port0"
}

# hp_nssdb DIR: cl_nssdb's database, with the module configured with the
# stand-in removable root; the module lists no token yet
hp_nssdb() {
	local db=$1 out
	cl_nssdb "$db"
	out=$(modutil -dbdir "sql:$db" -list 2>&1)
	check "modutil -list: the module's empty removable slots, no token yet" \
		"$(printf '%s\n' "$out" | grep -q 'slot: efirma-pkcs11 (empty)' &&
			! printf '%s\n' "$out" | grep -qF "token: $token_label"; echo $?)" "$out"
}

# hp_drive BROWSER ARGS...: runs hotplug-login.py; facts in $facts
hp_drive() {
	local b=$1; shift
	timeout 240 python3 -B "$here/clients/hotplug-login.py" "$b" --outdir "$tmp/out" \
		--url "$url" --volume "$volume" --cer "$fiel_cer" --key "$fiel_key" \
		--label "$token_label" --pin-file "$tmp/pin" "$@" > "$tmp/driver.log" 2>&1 8>&-
	facts=$(cat "$tmp/out/facts" 2>/dev/null)
}

fact() { printf '%s\n' "$facts" | sed -n "s/^$1 //p"; }
page() { cat "$tmp/out/page-$1.txt" 2>/dev/null; }

# hp_assert BROWSER LOG: what both browsers must show
hp_assert() {
	local b=$1 log=$2 d n p
	d="$(grep -v '^\[[0-9:/.]*:\|^\*\*\*\|^[0-9]\{13\}' "$tmp/driver.log" | tail -n 30
		printf '%s\n' "$facts")"
	check "$b: the driver ran to the end" "$([ "$(fact done)" = 1 ]; echo $?)" "$d"
	check "$b: at start no token" "$([ "$(fact token_at_start)" = 0 ]; echo $?)" "$d"
	p=$(page 0)
	check "$b: no stick: the page was served without a client certificate (verify: NONE)" \
		"$(printf '%s\n' "$p" | grep -qx 'verify: NONE' && printf '%s\n' "$p" | grep -qx 'subject: '; echo $?)" \
		"$p $(cat "$tmp/out/page-0.err" 2>/dev/null)"
	check "$b: no stick: no password asked" "$([ "$(fact prompts_0)" = 0 ]; echo $?)" "$d"

	check "$b: stick in: the token appeared without a restart" \
		"$([ -n "$(fact appeared_ms_1)" ] && [ "$(fact appeared_ms_1)" != never ]; echo $?)" "$d"
	for n in 1 3; do
		p=$(page $n)
		check "$b: stick in (step $n): the server saw the holder's certificate (RFC $rfc, verify: SUCCESS)" \
			"$(printf '%s\n' "$p" | grep -q "^subject: .*$rfc" &&
				printf '%s\n' "$p" | grep -qx 'verify: SUCCESS'; echo $?)" \
			"$p $(cat "$tmp/out/page-$n.err" 2>/dev/null)"
		check "$b: stick in (step $n): the token was logged out before, the password asked once" \
			"$([ "$(fact logged_in_before_$n)" = 0 ] && [ "$(fact prompts_$n)" = 1 ]; echo $?)" "$d"
	done

	check "$b: stick out: the token went away" \
		"$([ -n "$(fact vanished_ms)" ] && [ "$(fact vanished_ms)" != never ]; echo $?)" "$d"
	p=$(page 2)
	check "$b: stick out: the page was served and the server saw no client certificate" \
		"$(printf '%s\n' "$p" | grep -qx 'verify: NONE' && printf '%s\n' "$p" | grep -qx 'subject: '; echo $?)" \
		"$p $(cat "$tmp/out/page-2.err" 2>/dev/null)"
	check "$b: stick out: no password asked" "$([ "$(fact prompts_2)" = 0 ]; echo $?)" "$d"
	check "$b: stick out: the browser still answers" "$([ -n "$(fact alive_after_removal)" ]; echo $?)" "$d"
	check "$b: no crash in the browser's log" \
		"$(grep -qE 'Segmentation fault|SIGSEGV|ExceptionHandler|Received signal 11' "$log"; [ $? = 1 ]; echo $?)" \
		"$(grep -E 'Segmentation fault|SIGSEGV|ExceptionHandler|Received signal 11' "$log" | head -n 5)"
	# the module's trace (EFIRMA_PKCS11_DEBUG=1, on the browser's stderr):
	# one signature per login with the stick in, none with it out
	local trace
	trace=$(grep -a '^efirma-pkcs11: C_Sign' "$log")
	check "$b: the module signed exactly twice (steps 1 and 3), every C_Sign* -> CKR_OK" \
		"$([ "$(printf '%s\n' "$trace" | grep -c '^efirma-pkcs11: C_SignInit mechanism')" = 2 ] &&
			! printf '%s\n' "$trace" | grep -v 'C_SignInit mechanism' | grep -qv 'CKR_OK'; echo $?)" "$trace"
	check "$b: the trace shows no PIN or password" \
		"$(grep -qaF -- "$PIN" "$log" "$tmp/driver.log"; [ $? = 1 ]; echo $?)"
	diag "$b: token appeared $(fact appeared_ms_1) ms after the copy, vanished $(fact vanished_ms) ms after the removal, came back in $(fact appeared_ms_3) ms; pages opened in $(fact open_ms_0)/$(fact open_ms_1)/$(fact open_ms_2)/$(fact open_ms_3) ms (steps 0-3, 1 and 3 with the password)"
}
