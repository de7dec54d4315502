#!/bin/bash
# test-openssl.sh - OpenSSL through the libp11 engine (libengine-pkcs11-
# openssl): pkeyutl, dgst, a detached CMS signature, a TLS 1.3 client-auth
# handshake; and the module under a host OpenSSL configuration whose
# engine points back at the module itself.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The engine is configured by an openssl.cnf written here (engine section
# with dynamic_path and MODULE_PATH = the built module); the module finds
# the bundle through EFIRMA_PKCS11_CONF (libp11 passes no pReserved); the
# PIN is the URI's pin-value.  Every command is first run with the same
# key read from the bundle's files (a control: the command line, the CA files
# and the server are right), then through the engine; every signature is
# verified with the public key of the .cer.
#
# Regression: OpenSSL 3.0 consulted the libp11 engine's RSA method even in
# the module's private library context (EVP_PKEY_CTX_new_from_name with
# "RSA"), so every command below once failed with "object not found"; the
# module now names the RSA key management by OID (module/pkey.c).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"
. "$here/clients/lib.sh"

cl_require_module
cl_need openssl pkcs11-tool
engine_so=
for d in $(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p') \
	/usr/lib/x86_64-linux-gnu/engines-3 /usr/lib64/engines-3; do
	[ -f "$d/pkcs11.so" ] && { engine_so=$d/pkcs11.so; break; }
done
[ -n "$engine_so" ] || skip_all "the libp11 engine (libengine-pkcs11-openssl) is not installed"

cl_setup openssl

export EFIRMA_PKCS11_CONF=$tmp/efirma.conf
key_uri="$token_url;type=private;pin-value=$PIN"
openssl pkcs8 -inform DER -in "$fiel_key" -passin "pass:$PIN" -out "$tmp/key.pem"
chmod 600 "$tmp/key.pem"
head -c 5000 /dev/urandom > "$tmp/doc"
openssl dgst -sha256 -binary "$tmp/doc" > "$tmp/doc.sha256"
cat > "$tmp/engine.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engine_so
MODULE_PATH = $module
init = 1
EOF
# e CMD...: openssl with the engine configuration, bounded in time
e() { OPENSSL_CONF=$tmp/engine.cnf timeout 30 "$@" </dev/null; }
pss=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32)
verify_pkey() { # SIG [PKEYOPTS...]: the signature over doc.sha256
	local sig=$1; shift
	openssl pkeyutl -verify -pubin -inkey "$tmp/fiel.pub" -in "$tmp/doc.sha256" \
		-sigfile "$sig" -pkeyopt digest:sha256 "$@"
}

# ------------------------------------------------------- no recursion
# The host's configuration loads (init = 1) an engine that loads this very
# module; a program using the module directly must still finish, quickly.
out=$(e pkcs11-tool --module "$module" --login --pin "$PIN" --sign --mechanism SHA256-RSA-PKCS \
	-i "$tmp/doc" -o "$tmp/recursive.sig" 2>&1); rc=$?
check "pkcs11-tool signs while OPENSSL_CONF loads the engine -> module (no deadlock: rc $rc)" \
	"$rc" "$out"
ok "that signature verifies against the .cer" verify_sig "$tmp/recursive.sig" "$tmp/doc"
out=$(e pkcs11-tool --module "$module" --login --pin "$PIN" --sign --mechanism SHA256-RSA-PKCS-PSS \
	-i "$tmp/doc" -o "$tmp/recursive-pss.sig" 2>&1); rc=$?
check "pkcs11-tool signs RSA-PSS under the same configuration" "$rc" "$out"
ok "that RSA-PSS signature verifies against the .cer" verify_sig "$tmp/recursive-pss.sig" "$tmp/doc" \
	-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
out=$(e openssl version 2>&1); rc=$?
check "openssl itself starts under that configuration (engine initialized, rc $rc)" "$rc" "$out"

# ------------------------------------------------------- pkeyutl / dgst
openssl pkeyutl -sign -inkey "$tmp/key.pem" -in "$tmp/doc.sha256" -pkeyopt digest:sha256 \
	-out "$tmp/ctl.sig" >"$TAP_LOG" 2>&1
ok "control: pkeyutl -sign with the file key verifies" verify_pkey "$tmp/ctl.sig"

out=$(e openssl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$key_uri" \
	-in "$tmp/doc.sha256" -pkeyopt digest:sha256 -out "$tmp/pkeyutl.sig" 2>&1)
check "openssl pkeyutl -sign through the engine (PKCS#1 v1.5) verifies" \
	"$(verify_pkey "$tmp/pkeyutl.sig" >/dev/null 2>&1; echo $?)" "$out"
out=$(e openssl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$key_uri" \
	-in "$tmp/doc.sha256" -pkeyopt digest:sha256 "${pss[@]}" -out "$tmp/pkeyutl-pss.sig" 2>&1)
check "openssl pkeyutl -sign through the engine (RSA-PSS) verifies" \
	"$(verify_pkey "$tmp/pkeyutl-pss.sig" "${pss[@]}" >/dev/null 2>&1; echo $?)" "$out"
out=$(e openssl dgst -sha256 -sign "$key_uri" -keyform engine -engine pkcs11 \
	-out "$tmp/dgst.sig" "$tmp/doc" 2>&1)
check "openssl dgst -sha256 -sign through the engine verifies" \
	"$(verify_sig "$tmp/dgst.sig" "$tmp/doc" >/dev/null 2>&1; echo $?)" "$out"

# ---------------------------------------------------------------- CMS
# Detached, DER; the intermediate goes into the signature, the root is the
# verifier's trust anchor.
cms_verify() {
	openssl cms -verify -binary -inform DER -in "$1" -content "$tmp/doc" \
		-CAfile "$tmp/root.pem" -out /dev/null
}
openssl cms -sign -binary -in "$tmp/doc" -signer "$tmp/fiel.pem" -inkey "$tmp/key.pem" \
	-certfile "$tmp/inter.pem" -outform DER -out "$tmp/ctl.p7s" >"$TAP_LOG" 2>&1
ok "control: cms -sign with the file key, cms -verify against the SAT root" cms_verify "$tmp/ctl.p7s"
out=$(e openssl cms -sign -binary -in "$tmp/doc" -signer "$tmp/fiel.pem" -inkey "$key_uri" \
	-keyform engine -engine pkcs11 -certfile "$tmp/inter.pem" -outform DER -out "$tmp/engine.p7s" 2>&1)
check "openssl cms -sign through the engine: cms -verify accepts it" \
	"$(cms_verify "$tmp/engine.p7s" >/dev/null 2>&1; echo $?)" "$out"

# ---------------------------------------------------------- TLS 1.3
# s_server requires a client certificate chaining to the SAT test CA and
# answers one request; "-www" shows the session.
cl_server_pki "$tmp/pki" || { check "server certificates made" 1; tap_done; exit; }
# handshake LABEL ARGS...: one s_client run against a fresh s_server;
# sets hs_out (client) and hs_srv (server log)
handshake() {
	local label=$1; shift
	if ! cl_s_server "$tmp/srv-$label.log" -tls1_3; then
		hs_out="s_server did not start"; hs_srv=$(cat "$tmp/srv-$label.log"); return 1
	fi
	hs_out=$(printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=${hs_conf:-/dev/null} timeout 30 \
		openssl s_client -connect "127.0.0.1:$srv_port" -tls1_3 -CAfile "$tmp/pki/ca.pem" \
		-verify_return_error -cert "$tmp/fiel.pem" -ign_eof "$@" 2>&1)
	cl_stop "$srv_pid"
	hs_srv=$(cat "$tmp/srv-$label.log")
}
hs_ok() { # the client finished TLS 1.3 and the server verified the e.firma
	printf '%s\n' "$hs_out" | grep -q 'Verify return code: 0 (ok)' &&
		printf '%s\n' "$hs_out" | grep -q 'TLSv1.3' &&
		printf '%s\n' "$hs_srv$hs_out" | grep -q "$rfc" &&
		! printf '%s\n' "$hs_srv" | grep -qi 'verify error'
}
handshake control -key "$tmp/key.pem"
check "control: s_client with the file key completes TLS 1.3 client auth" "$(hs_ok; echo $?)" \
	"$(printf '%s\n%s\n' "$hs_out" "$hs_srv" | tail -n 30)"
hs_conf=$tmp/engine.cnf handshake engine -key "$key_uri" -keyform engine -engine pkcs11
check "s_client with the key on the token completes TLS 1.3 client auth" "$(hs_ok; echo $?)" \
	"$(printf '%s\n%s\n' "$hs_out" "$hs_srv")"

tap_done
