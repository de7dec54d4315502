#!/bin/bash
# test-tool-register.sh - "register"/"unregister" with a throw-away HOME:
# a Firefox profile and Chromium's NSS database checked with modutil,
# p11-kit's user module file checked with p11-kit itself.
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

# ------------------------------------------------------------ Firefox
run "$T" register firefox
check "register firefox without a profile: exit 3, says to start Firefox" \
	"$( [ $rc = 3 ] && printf '%s' "$err" | grep -q 'no Firefox profile'; echo $?)" "$rc $err"
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
run "$T" unregister firefox
check "unregister again: harmless (exit 0)" "$rc" "$err"

# ------------------------------------------------------------ Chromium
run "$T" register chromium
nss=$HOME/.pki/nssdb
check "register chromium creates ~/.pki/nssdb and registers" \
	"$( [ $rc = 0 ] && [ -f "$nss/cert9.db" ] && [ "$(registered "$nss")" = 1 ]; echo $?)" "$rc $out $err"
run "$T" register chromium
check "register chromium again: one entry" "$( [ $rc = 0 ] && [ "$(registered "$nss")" = 1 ]; echo $?)" "$rc $err"
run "$T" unregister chromium
check "unregister chromium" "$( [ $rc = 0 ] && [ "$(registered "$nss")" = 0 ]; echo $?)" "$rc $err"

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
