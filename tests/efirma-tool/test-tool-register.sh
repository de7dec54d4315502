#!/bin/bash
# test-tool-register.sh - "register"/"unregister" with a throw-away HOME:
# a Firefox profile and Chromium's NSS database checked with modutil,
# p11-kit's user module file checked with p11-kit itself, the browsers'
# native messaging host manifests read as JSON and their host started.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"
command -v modutil >/dev/null && command -v certutil >/dev/null ||
	skip_all "modutil/certutil (libnss3-tools) are not installed"

# The module copied where any user can read it (p11-kit is checked as an
# unprivileged user below).
cp "$module" "$tmp/efirma-pkcs11.so"
chmod 755 "$tmp" "$tmp/efirma-pkcs11.so"
export EFIRMA_TOOL_MODULE=$tmp/efirma-pkcs11.so
conf "$tmp/c.conf" "$fiel_cer" "$fiel_key"
export EFIRMA_PKCS11_CONF=$tmp/c.conf

# registered DBDIR: how many efirma-pkcs11 entries modutil lists
registered() { modutil -dbdir "sql:$1" -list 2>/dev/null | grep -c "^ *[0-9]*\. efirma-pkcs11$"; }

# The extension's ids, found here independently of the tool: Firefox's
# is fixed, Chromium's follows from its public key (SHA-256 of the DER
# SubjectPublicKeyInfo, 32 hex digits written as a-p).
src=${EF_TEST_SRCDIR:?}
gecko_id=efirma@efirma-pkcs11
chromium_id=$(openssl base64 -d -A < "$src/tools/webext/chromium-key.txt" | openssl dgst -sha256 -r |
	cut -c1-32 | tr 0-9a-f a-p)
host=$(cd "$builddir/tools" && pwd -P)/efirma-native-host
# manifest FILE KEY VALUE: 0 when FILE is the host manifest allowing VALUE
manifest() {
	python3 - "$@" "$host" <<'PY'
import json, sys
f, key, value, host = sys.argv[1:]
m = json.load(open(f))
ok = (m.get("name") == "mx.efirma.pkcs11" and m.get("path") == host and
      m.get("type") == "stdio" and m.get(key) == [value])
sys.exit(0 if ok else 1)
PY
	echo $?
}
ffm=$HOME/.mozilla/native-messaging-hosts/mx.efirma.pkcs11.json
crm=$HOME/.config/chromium/NativeMessagingHosts/mx.efirma.pkcs11.json

# ------------------------------------------------------------ Firefox
run "$T" register firefox
check "register firefox without a profile: exit 3, says to start Firefox" \
	"$( [ $rc = 3 ] && printf '%s' "$err" | grep -q 'no Firefox profile'; echo $?)" "$rc $err"
check "... the host manifest is written all the same (it needs no profile)" \
	"$(manifest "$ffm" allowed_extensions "$gecko_id")" "$(cat "$ffm" 2>&1)"
# The path in the manifest starts the host, which answers a list request
# whatever arguments the browser adds (Firefox: manifest and extension id).
hrc=$(perl "$here/efirma-tool/nh-frame.pl" frame '{"method":"list"}' |
	setsid -w "$host" "$ffm" "$gecko_id" 2>"$tmp/h.err" | perl "$here/efirma-tool/nh-frame.pl" unframe > "$tmp/h.out"; echo "${PIPESTATUS[1]}")
check "the manifest's host runs the native host (list answered, exit 0)" \
	"$( [ "$hrc" = 0 ] && grep -q '^{"ok":true,"tokens":\[{.*"rfc":"CACX7605101P8"' "$tmp/h.out"; echo $?)" \
	"$hrc $(cat "$tmp/h.out" "$tmp/h.err")"
p1=$HOME/.mozilla/firefox/abcd1234.default-esr
p2=$HOME/.mozilla/firefox/wxyz5678.trabajo
mkdir -p "$p1" "$p2"
certutil -N -d "sql:$p1" --empty-password
certutil -N -d "sql:$p2" --empty-password
run "$T" register firefox
check "register firefox: exit 0, both profiles" \
	"$( [ $rc = 0 ] && [ "$(registered "$p1")" = 1 ] && [ "$(registered "$p2")" = 1 ]; echo $?)" "$rc $out $err"
check "modutil shows the module's path" \
	"$(modutil -dbdir "sql:$p1" -list 2>/dev/null | grep -qF "$tmp/efirma-pkcs11.so"; echo $?)"
check "... and its token through NSS" \
	"$(modutil -dbdir "sql:$p1" -list 2>/dev/null | grep -q 'CACX7605101P8'; echo $?)"
run "$T" register firefox
check "register again: harmless, still exactly one entry" \
	"$( [ $rc = 0 ] && [ "$(registered "$p1")" = 1 ]; echo $?)" "$rc $err"
run "$T" unregister firefox
check "unregister firefox: exit 0, gone from both" \
	"$( [ $rc = 0 ] && [ "$(registered "$p1")" = 0 ] && [ "$(registered "$p2")" = 0 ]; echo $?)" "$rc $err"
check "... and the host manifest is removed" "$(test ! -e "$ffm"; echo $?)"
run "$T" unregister firefox
check "unregister again: harmless (exit 0)" "$rc" "$err"

# ------------------------------------------------------------ Chromium
run "$T" register chromium
nss=$HOME/.pki/nssdb
check "register chromium creates ~/.pki/nssdb and registers" \
	"$( [ $rc = 0 ] && [ -f "$nss/cert9.db" ] && [ "$(registered "$nss")" = 1 ]; echo $?)" "$rc $out $err"
check "... and writes the host manifest allowing the extension's origin" \
	"$(manifest "$crm" allowed_origins "chrome-extension://$chromium_id/")" "$(cat "$crm" 2>&1)"
run "$T" register chromium
check "register chromium again: one entry" "$( [ $rc = 0 ] && [ "$(registered "$nss")" = 1 ]; echo $?)" "$rc $err"
run "$T" unregister chromium
check "unregister chromium" "$( [ $rc = 0 ] && [ "$(registered "$nss")" = 0 ]; echo $?)" "$rc $err"
check "... removes the host manifest" "$(test ! -e "$crm"; echo $?)"
run "$T" register chrome
check "register chrome: the manifest in Google Chrome's folder" \
	"$(manifest "$HOME/.config/google-chrome/NativeMessagingHosts/mx.efirma.pkcs11.json" \
		allowed_origins "chrome-extension://$chromium_id/")" "$rc $err"
run "$T" unregister chrome

# ------------------------------------------------------------ p11-kit
mf=$HOME/.config/pkcs11/modules/efirma-pkcs11.module
run "$T" register p11-kit
check "register p11-kit writes the module file" \
	"$( [ $rc = 0 ] && grep -qxF "module: $tmp/efirma-pkcs11.so" "$mf"; echo $?)" "$rc $err"
run "$T" register p11-kit
check "register p11-kit again: harmless" "$( [ $rc = 0 ] && [ "$(grep -c '^module:' "$mf")" = 1 ]; echo $?)" "$rc $err"
if command -v p11-kit >/dev/null; then
	# p11-kit reads user configuration for ordinary users only.
	lm=
	if [ "$(id -u)" != 0 ]; then
		lm=$(p11-kit list-modules 2>&1)
	elif command -v setpriv >/dev/null; then
		chmod -R a+rX "$HOME"
		nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
		# only where an ordinary user can reach the files (TMPDIR may be private)
		if nobody test -r "$mf" && nobody test -r "$tmp/efirma-pkcs11.so"; then
			lm=$(HOME=$HOME nobody p11-kit list-modules 2>&1)
		else
			diag "p11-kit check skipped: $tmp is not readable by an ordinary user"
		fi
	fi
	if [ -n "$lm" ]; then
		check "p11-kit list-modules shows efirma-pkcs11" "$(printf '%s' "$lm" | grep -q '^efirma-pkcs11: '; echo $?)" "$lm"
	fi
fi
run "$T" unregister p11-kit
check "unregister p11-kit removes the file" "$( [ $rc = 0 ] && [ ! -e "$mf" ]; echo $?)" "$rc $err"
run "$T" register edge
check "an unknown target: exit 1" "$(is "$rc" 1)" "$rc $err"
run "$T" register firefox --module "$tmp/missing.so"
check "register with a missing module: exit 3" "$(is "$rc" 3)" "$rc $err"

tap_done
