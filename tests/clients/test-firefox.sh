#!/bin/bash
# test-firefox.sh - Firefox logs in to a web site with the e.firma on the
# token: TLS client authentication against nginx, TLS 1.3 and TLS 1.2.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What runs, all on 127.0.0.1 and all killed by the trap:
# - nginx (one process, master_process off, its own prefix in $tmp) with
#   two HTTPS servers, one TLS 1.3 only and one TLS 1.2 only, both with
#   "ssl_verify_client on" against the e.firma's chain.  The page
#   answers with $ssl_client_s_dn and $ssl_client_verify.  The TLS 1.2
#   server accepts only PKCS#1 v1.5 client signatures (ClientSignature-
#   Algorithms), so the two logins exercise both RSA mechanisms NSS uses:
#   RSA-PSS for TLS 1.3 (TLS 1.3 forbids PKCS#1 v1.5 in CertificateVerify)
#   and CKM_RSA_PKCS over a DigestInfo for TLS 1.2.
# - Firefox ESR, headless, on a fresh profile: its NSS database gets the
#   module with "modutil -add -libfile ... -string conf=FILE" (the -string
#   is NSS's module "parameters", which NSS hands to C_Initialize as
#   pReserved), the throw-away server CA trusted with certutil, and the
#   e.firma's root trusted for the chain check.  The e.firma and its chain
#   (root, an intermediate as SAT's AC UAT) are generated at test time
#   (tests/clients/lib.sh): the login depends on the certificate being
#   valid.  Firefox runs with
#   EFIRMA_PKCS11_DEBUG=1: the module's trace on its stderr records every
#   call and the mechanism of every C_SignInit.  (OpenSC 0.23's pkcs11-spy
#   cannot sit in between: NSS first asks C_GetInterface for a
#   CKF_INTERFACE_FORK_SAFE interface, the module rightly has none, and the
#   spy then dereferences the interface pointer it did not get: SIGSEGV.)
# - firefox-login.py, a Marionette client (Marionette is Firefox's built-in
#   remote-control protocol): before any login it lists the certificates
#   NSS sees on the token (the token's CKO_PROFILE object says the
#   certificates are public, so NSS reads them without the password) and
#   verifies the user certificate for TLS client use (the intermediate CA
#   exists only on the token).  Then it logs in: no person types the
#   password; the script answers Firefox's own password prompt through a
#   prompt factory it registers (see firefox-login.py), and opens both
#   pages with security.default_personal_cert = "Select Automatically".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"
. "$here/clients/lib.sh"

cl_require_module
cl_find firefox firefox-esr firefox
cl_find nginx nginx
cl_need certutil modutil python3 openssl

cl_one_browser
cl_setup firefox
out_dir=$tmp/out
mkdir -p "$out_dir" "$tmp/home"
cl_server_pki "$tmp/pki" || { check "server certificates made" 1; tap_done; exit; }
printf '%s\n' "$PIN" > "$tmp/pin"
chmod 600 "$tmp/pin"

# ---------------------------------------------------------------- nginx
ng=$tmp/nginx
mkdir -p "$ng/logs" "$ng/tmp"
start_nginx() {
	port13=$(cl_free_port) && port12=$(cl_free_port) || return 1
	[ "$port13" != "$port12" ] || return 1
	{ cl_nginx_head "$ng"; cl_nginx_client_cert on; cat <<-EOF
	    default_type text/plain;
	    server {
	        listen 127.0.0.1:$port13 ssl;
	        ssl_protocols TLSv1.3;
	        location / {
	            return 200 "efirma test page\nsubject: \$ssl_client_s_dn\nverify: \$ssl_client_verify\nprotocol: \$ssl_protocol\n";
	        }
	    }
	    server {
	        listen 127.0.0.1:$port12 ssl;
	        ssl_protocols TLSv1.2;
	        ssl_conf_command ClientSignatureAlgorithms RSA+SHA256:RSA+SHA384:RSA+SHA512;
	        location / {
	            return 200 "efirma test page\nsubject: \$ssl_client_s_dn\nverify: \$ssl_client_verify\nprotocol: \$ssl_protocol\n";
	        }
	    }
	}
	EOF
	} > "$ng/nginx.conf"
	cl_nginx_start "$ng" "$port13" "$port12"
}
started=1
for try in 1 2 3; do start_nginx && { started=0; break; }; done
check "nginx serves TLS 1.3 on 127.0.0.1:${port13:-?} and TLS 1.2 on :${port12:-?}" "$started" \
	"$(cat "$ng/logs/stderr.log" "$ng/logs/error.log" 2>/dev/null | tail -n 20)"
[ "$started" = 0 ] || { tap_done; exit; }

# The server really requires a client certificate: without one, nginx
# answers 400 (the assertions below could not pass by accident).
no_cert=$(printf 'GET / HTTP/1.0\r\n\r\n' |
	timeout 10 openssl s_client -connect "127.0.0.1:$port13" -tls1_3 -quiet \
		-CAfile "$tmp/pki/ca.pem" 2>&1)
check "nginx refuses a TLS 1.3 request without a client certificate" \
	"$(has "$no_cert" 'No required SSL certificate was sent')" "$no_cert"

# -------------------------------------------------------------- profile
prof=$tmp/profile
cl_nssdb "$prof"
out=$(modutil -dbdir "sql:$prof" -list 2>&1)
check "modutil -list shows the token (the -string reached C_Initialize)" \
	"$(has "$out" "token: $token_label")" "$out"

cl_firefox_prefs "$prof/user.js" select-cert

# -------------------------------------------------------------- firefox
cl_firefox_start "$prof" 120 env EFIRMA_PKCS11_DEBUG=1 HOME="$tmp/home" TMPDIR="$tmp" \
	XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"

timeout 90 python3 -B "$here/clients/firefox-login.py" "$prof" "$out_dir" "$token_label" \
	"$tmp/pin" "tls13=https://127.0.0.1:$port13/" "tls12=https://127.0.0.1:$port12/" \
	> "$tmp/driver.log" 2>&1
facts=$(cat "$out_dir/facts" 2>/dev/null)
cl_firefox_stop
cl_stop "$nginx_pid"

fact() { printf '%s\n' "$facts" | sed -n "s/^$1 //p"; }
diag_ff="$(cat "$tmp/driver.log"; printf '%s\n' "$facts"; tail -n 15 "$tmp/firefox.log")"
check "the Marionette driver ran to the end" "$([ "$(fact done)" = 1 ]; echo $?)" "$diag_ff"
check "Firefox loaded the module (token '$token_label' found)" \
	"$([ -n "$(fact token_module)" ] && [ "$(fact token_module)" != none ]; echo $?)" "$diag_ff"

# Firefox offers the certificate: listed before any login
check "before login the token is not logged in" "$([ "$(fact logged_in_before)" = 0 ]; echo $?)" "$facts"
before=$(fact cert_before_login)
check "before login NSS lists the e.firma user certificate on the token" \
	"$(printf '%s\n' "$before" | grep -q "^user .*2\.5\.4\.45=$rfc"; echo $?)" "$facts"
check "before login NSS lists the intermediate $ca_cn on the token" \
	"$(printf '%s\n' "$before" | grep -q "^ca .*CN=$ca_cn"; echo $?)" "$facts"
check "the certificate verifies for TLS client use (PRErrorCode 0)" \
	"$([ "$(fact chain_code)" = 0 ]; echo $?)" "$facts"
check "the verified chain is leaf, $ca_cn, root" \
	"$([ -n "$(fact chain_2)" ] && [ -z "$(fact chain_3)" ] &&
		fact chain_1 | grep -q "| $ca_cn\$"; echo $?)" "$facts"
check "NSS found the intermediate $ca_cn on the token" \
	"$(fact chain_1 | grep -q "^$token_label |"; echo $?)" "$facts"

# the login: one password prompt, answered by the driver
check "the password prompt came once and the token is logged in" \
	"$([ "$(fact login_prompts)" = 1 ] && [ "$(fact logged_in_after)" = 1 ]; echo $?)" "$facts"

for v in 13 12; do
	name=TLS1.${v#1}
	page=$(cat "$out_dir/page-tls$v.txt" 2>/dev/null)
	err=$(cat "$out_dir/page-tls$v.err" 2>/dev/null)
	check "$name: the page loaded" "$([ "$(fact "page_tls$v")" = loaded ]; echo $?)" "$err $page"
	check "$name: the server saw the holder's RFC $rfc in the subject" \
		"$(printf '%s\n' "$page" | grep -q "^subject: .*$rfc"; echo $?)" "$page"
	check "$name: client verification SUCCESS" "$(has "$page" 'verify: SUCCESS')" "$page"
	check "$name: protocol TLSv1.${v#1}" "$(has "$page" "protocol: TLSv1.${v#1}")" "$page"
	# the screenshot, next to the test's log
	[ -s "$out_dir/page-tls$v.png" ] && [ -d "${EF_TEST_BUILDDIR:-}/tests/clients" ] &&
		cp "$out_dir/page-tls$v.png" "$EF_TEST_BUILDDIR/tests/clients/test-firefox-tls$v.png"
done

# what Firefox asked the module to do, from the module's trace
trace=$(grep '^efirma-pkcs11: C_' "$tmp/firefox.log")
mechs=$(printf '%s\n' "$trace" | sed -n 's/^efirma-pkcs11: C_SignInit mechanism //p')
diag "C_SignInit mechanisms, in order: $(echo $mechs)"
check "exactly two signatures, one per handshake" \
	"$([ "$(printf '%s\n' "$mechs" | grep -c .)" = 2 ]; echo $?)" "$mechs"
# 0x43 CKM_SHA256_RSA_PKCS_PSS (hash-and-sign), 0x0d CKM_RSA_PKCS_PSS
first=$(printf '%s\n' "$mechs" | sed -n 1p)
check "TLS 1.3 login signed with RSA-PSS ($first)" \
	"$(case $first in 0x00000043|0x0000000d) echo 0;; *) echo 1;; esac)" "$mechs"
if [ "$first" = 0x00000043 ]; then
	# multi-part: the trace between that C_SignInit and the next one
	part=$(printf '%s\n' "$trace" | sed -n '/C_SignInit mechanism 0x00000043/,/C_SignInit mechanism/p')
	check "TLS 1.3: CKM_SHA256_RSA_PKCS_PSS multi-part (C_SignUpdate ... C_SignFinal -> CKR_OK)" \
		"$(printf '%s\n' "$part" | grep -q 'C_SignUpdate -> CKR_OK' &&
			printf '%s\n' "$part" | grep -q 'C_SignFinal -> CKR_OK'; echo $?)" "$part"
fi
last=$(printf '%s\n' "$mechs" | sed -n 2p)
check "TLS 1.2 login signed with CKM_RSA_PKCS ($last)" "$([ "$last" = 0x00000001 ]; echo $?)" "$mechs"
check "no C_Sign/C_SignUpdate/C_SignFinal failed" \
	"$(printf '%s\n' "$trace" | grep -E 'C_Sign(Update|Final)? -> ' | grep -qv 'CKR_OK'; [ $? = 1 ]; echo $?)" \
	"$(printf '%s\n' "$trace" | grep -E 'C_Sign(Update|Final)? -> ')"
check "the trace shows no PIN or password" \
	"$(grep -qF -- "$PIN" "$tmp/firefox.log"; [ $? = 1 ]; echo $?)"

tap_done
