#!/bin/bash
# test-gnutls.sh - gnutls-cli logs in to an OpenSSL s_server with the
# certificate and key given as PKCS#11 URIs (TLS 1.3 and TLS 1.2).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gnutls-cli --provider loads the module itself (no p11-kit registration:
# tests/pkcs11-cli/test-p11tool.sh and test-p11kit.sh cover that route), so the
# module reads its configuration from EFIRMA_PKCS11_CONF.  The PIN is the
# URI's pin-value in one run and GNUTLS_PIN in another.  The server is the
# s_server of tests/clients/lib.sh: it requires a client certificate that
# chains to the e.firma's root (a generated bundle: the handshake depends
# on the certificate being valid) and aborts the handshake otherwise
# (-verify_return_error).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"
. "$here/clients/lib.sh"

cl_require_module
cl_need gnutls-cli openssl

cl_setup gnutls
export EFIRMA_PKCS11_CONF=$tmp/efirma.conf
cl_server_pki "$tmp/pki" || { check "server certificates made" 1; tap_done; exit; }
cert_uri="$token_url;object=$holder_uri;type=cert"
# GnuTLS looks a key up by CKA_LABEL or CKA_ID: a URI with neither
# ("pkcs11:token=...;type=private") is "requested data not available".
key_uri="$token_url;object=$holder_uri;type=private"

# login LABEL TLSFLAG PRIORITY KEY-URI [ENV...]: gnutls-cli against a fresh
# s_server; sets out (client) and srv (server log)
login() {
	local label=$1 tls=$2 prio=$3 key=$4; shift 4
	if ! cl_s_server "$tmp/srv-$label.log" "$tls"; then
		out="s_server did not start"; srv=$(cat "$tmp/srv-$label.log"); return
	fi
	out=$(printf 'GET / HTTP/1.0\r\n\r\n' | env "$@" timeout 30 gnutls-cli --provider "$module" \
		--x509cafile "$tmp/pki/ca.pem" --x509certfile "$cert_uri" --x509keyfile "$key" \
		--priority "$prio" -p "$srv_port" 127.0.0.1 2>&1)
	cl_stop "$srv_pid"
	srv=$(cat "$tmp/srv-$label.log")
}
# the handshake finished, the server verified the e.firma and answered
logged_in() {
	printf '%s\n' "$out" | grep -q 'Handshake was completed' &&
		printf '%s\n' "$srv" | grep -q "depth=0 .*$rfc" &&
		! printf '%s\n' "$srv" | grep -qi 'verify error' &&
		printf '%s\n' "$out" | grep -q 'HTTP/1.0 200'
}
diag_of() { printf '%s\n--- server\n%s\n' "$out" "$srv" | tail -n 40; }

login tls13 -tls1_3 'NORMAL:-VERS-ALL:+VERS-TLS1.3' "$key_uri;pin-value=$PIN"
check "gnutls-cli TLS 1.3 client auth, key pkcs11:...;type=private;pin-value=..." "$(logged_in; echo $?)" "$(diag_of)"
check "the TLS 1.3 session was TLS1.3" "$(has "$out" '(TLS1.3-')" "$(diag_of)"

login tls13pin -tls1_3 'NORMAL:-VERS-ALL:+VERS-TLS1.3' "$key_uri" GNUTLS_PIN="$PIN"
check "gnutls-cli TLS 1.3 client auth with the PIN in GNUTLS_PIN" "$(logged_in; echo $?)" "$(diag_of)"

login tls12 -tls1_2 'NORMAL:-VERS-ALL:+VERS-TLS1.2' "$key_uri;pin-value=$PIN"
check "gnutls-cli TLS 1.2 client auth" "$(logged_in; echo $?)" "$(diag_of)"
check "the TLS 1.2 session was TLS1.2" "$(has "$out" '(TLS1.2-')" "$(diag_of)"

# RSA PKCS#1 v1.5 only in TLS 1.2: the CKM_RSA_PKCS path
login tls12pkcs1 -tls1_2 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512' \
	"$key_uri;pin-value=$PIN"
check "gnutls-cli TLS 1.2 client auth with PKCS#1 v1.5 signatures only" "$(logged_in; echo $?)" "$(diag_of)"

# a wrong PIN must not log in (and must not hang)
login badpin -tls1_3 'NORMAL:-VERS-ALL:+VERS-TLS1.3' "$key_uri;pin-value=wrongpassword"
check "a wrong PIN in the URI does not log in" "$(logged_in; [ $? != 0 ]; echo $?)" "$(diag_of)"

tap_done
