#!/bin/bash
# check-deb.sh - the Debian packages as a user gets them: built ("make
# deb"), checked by lintian, installed on this machine with apt-get, used
# by a normal user (efirma-tool add, register firefox, a signature through
# p11-kit's proxy) and purged without a trace.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not part of "make check": it installs into the system, so it runs as root
# on a throw-away machine (CI: the "deb" stage of tests/run-tests.sh).
# EF_DEB_DIR=FOLDER takes the packages built already in FOLDER instead of
# running "make deb".  Whatever happens, the packages are purged at exit.
set -u
src=${EF_TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${EF_TEST_BUILDDIR:-$src}
. "$src/tests/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "installs packages into the system: run as root"
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
	skip_all "apt-get/dpkg are not available"
for c in lintian p11-kit pkcs11-tool certutil modutil setpriv openssl nm readelf man; do
	command -v "$c" >/dev/null || skip_all "$c is not installed (tests/setup-debian.sh)"
done

pkgs=(efirma-pkcs11 efirma-tool)
export DEBIAN_FRONTEND=noninteractive
tmp=$(mktemp -d "${TMPDIR:-/tmp}/efirma-debtest.XXXXXX")
TAP_LOG=$tmp/cmd.log

# known PKG: dpkg knows the package in any state but "not installed"
# (config files left by a remove count)
known() {
	local s
	s=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) && [ -n "$s" ] && [[ $s != *not-installed ]]
}
purge_ours() {
	local p left=()
	for p in "${pkgs[@]}"; do known "$p" && left+=("$p"); done
	[ ${#left[@]} = 0 ] || apt-get purge -y -q "${left[@]}"
}
cleanup() {
	purge_ours >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Files named efirma under /etc and /usr, but /usr/local (a "make install"
# with the default prefix is not the packages' business).
efirma_files() {
	find /etc /usr -path /usr/local -prune -o -iname '*efirma*' -print 2>/dev/null | sort
}
# A run that stopped before its purge left the packages: purge them now.
# What else is named efirma (a helper's apt source, say) is the machine's:
# the purge must leave exactly that.
if known efirma-pkcs11 || known efirma-tool; then
	diag "purging the packages a previous run left installed"
	purge_ours >/dev/null 2>&1
fi
before=$(efirma_files)

# ---------------------------------------------------------------- build
if [ -n "${EF_DEB_DIR:-}" ]; then
	debdir=$EF_DEB_DIR
	diag "packages from EF_DEB_DIR=$debdir"
else
	debdir=$build/deb-build
	t0=$SECONDS
	# a make of its own: flags of a calling make are not for this one
	ok "make deb builds the packages" \
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$build" deb
	diag "make deb: $((SECONDS - t0)) s"
fi
deb_mod=$(ls "$debdir"/efirma-pkcs11_*.deb 2>/dev/null)
deb_tool=$(ls "$debdir"/efirma-tool_*.deb 2>/dev/null)
check "one efirma-pkcs11 and one efirma-tool package in $debdir" \
	"$(test -f "$deb_mod" && test -f "$deb_tool"; echo $?)" "$(ls -l "$debdir" 2>&1)"
[ -f "$deb_mod" ] && [ -f "$deb_tool" ] || { tap_done; exit 1; }

# A file of the packages already on the machine (a "make install" into
# /usr) would be taken over by the install and deleted by the purge: stop
# rather than do that.
taken=$(for deb in "$deb_mod" "$deb_tool"; do dpkg-deb --fsys-tarfile "$deb" | tar -t; done |
	sed -n 's|^\./|/|p' | grep -v '/$' | while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done)
check "none of the packages' files is on the machine before the install" \
	"$(test -z "$taken"; echo $?)" "$taken"
[ -z "$taken" ] || { tap_done; exit 1; }

# lintian on the .changes (every .deb, the .buildinfo) when there is one
changes=$(ls "$debdir"/*.changes 2>/dev/null)
if [ -n "$changes" ]; then lint=("$changes"); else lint=("$deb_mod" "$deb_tool"); fi
lout=$(lintian --fail-on error,warning "${lint[@]}" 2>&1)
lrc=$?
lout=$(grep -v '^running with root privileges' <<<"$lout")
nerr=$(grep -c '^E: ' <<<"$lout") nwarn=$(grep -c '^W: ' <<<"$lout")
check "lintian: 0 errors, 0 warnings (${lint[*]##*/})" \
	"$( [ "$lrc" = 0 ] && [ "$nerr" = 0 ] && [ "$nwarn" = 0 ]; echo $?)" \
	"exit $lrc, $nerr errors, $nwarn warnings
$lout"

# -------------------------------------------------------------- install
ok "apt-get install -y ./efirma-pkcs11_*.deb ./efirma-tool_*.deb" \
	apt-get install -y -q "$(realpath "$deb_mod")" "$(realpath "$deb_tool")"
for p in "${pkgs[@]}"; do
	check "$p is installed" \
		"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qx 'install ok installed'; echo $?)"
done
so=$(dpkg -L efirma-pkcs11 2>/dev/null | grep '/pkcs11/efirma-pkcs11\.so$')
proxy=$(dirname "$(dirname "$so")")/p11-kit-proxy.so
check "the module is in the multiarch PKCS#11 folder ($so)" \
	"$( [[ $so == /usr/lib/*-*/pkcs11/efirma-pkcs11.so ]] && [ -f "$so" ]; echo $?)"
syms=$(nm -D --defined-only "$so" 2>/dev/null | awk '$2 ~ /^[TW]$/ {print $3}' | sort | tr '\n' ' ')
check "... exporting only C_GetFunctionList, C_GetInterface, C_GetInterfaceList" \
	"$(test "$syms" = "C_GetFunctionList C_GetInterface C_GetInterfaceList "; echo $?)" "$syms"
dyn=$(readelf -d "$so" /usr/bin/efirma-tool 2>&1)
check "... and neither it nor efirma-tool has an RPATH/RUNPATH, both bind now" \
	"$(! grep -qE 'RPATH|RUNPATH' <<<"$dyn" && [ "$(grep -c 'BIND_NOW' <<<"$dyn")" = 2 ]; echo $?)" "$dyn"
out=$(p11-kit list-modules 2>&1)
check "p11-kit list-modules shows the module" \
	"$(grep -qx "efirma-pkcs11: $so" <<<"$out"; echo $?)" "$out"
for m in efirma-tool efirma-native-host efirma-portal-verify 5:efirma-pkcs11.conf; do
	sec=${m%%:*} page=${m#*:}
	[ "$sec" = "$m" ] && sec=1
	check "man $sec $page" "$(man -w "$sec" "$page" >/dev/null 2>&1; echo $?)"
done
for f in /usr/lib/mozilla/native-messaging-hosts/mx.efirma.pkcs11.json \
	/etc/chromium/native-messaging-hosts/mx.efirma.pkcs11.json; do
	check "the browser's host manifest $f names /usr/bin/efirma-native-host" \
		"$(grep -q '"path": "/usr/bin/efirma-native-host"' "$f" 2>/dev/null; echo $?)"
done

# ------------------------------------------------------- a normal user
# nobody with a home of its own, nothing of the caller's environment: the
# installed tool finds the installed module by itself.
gen=$tmp/gen
ok "generate test bundles (tests/gen-bundles.sh)" bash "$src/tests/gen-bundles.sh" "$gen"
home=$tmp/home
mkdir -p "$home"
# the bundle is the user's own (its .key is readable by its owner only)
chown -R 65534:65534 "$home" "$gen"
chmod 755 "$tmp"
printf '%s' 12345678a > "$tmp/pin"
printf 'signed through the installed module\n' > "$tmp/data"
chmod 644 "$tmp/pin" "$tmp/data"
user() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		env -i HOME="$home" PATH=/usr/bin:/bin LC_ALL=C.UTF-8 "$@"
}
ok "as nobody: efirma-tool add efirma.cer efirma.key" \
	user efirma-tool add "$gen/efirma.cer" "$gen/efirma.key" --pin-file "$tmp/pin"
out=$(user efirma-tool list 2>&1)
check "as nobody: efirma-tool list shows the token" \
	"$(grep -q 'GENA800101AB1' <<<"$out"; echo $?)" "$out"

# A Firefox profile as Firefox makes it: an NSS database (cert9.db).
prof=$home/.mozilla/firefox/abcd1234.default-esr
ok "as nobody: a Firefox profile (certutil -N)" \
	user sh -c 'mkdir -p "$1" && certutil -N -d "sql:$1" --empty-password' sh "$prof"
ok "as nobody: efirma-tool register firefox" user efirma-tool register firefox
out=$(user modutil -dbdir "sql:$prof" -list 2>&1)
check "... the profile loads the installed module and shows its token" \
	"$(grep -qF "$so" <<<"$out" && grep -q 'GENA800101AB1' <<<"$out"; echo $?)" "$out"
ffm=$home/.mozilla/native-messaging-hosts/mx.efirma.pkcs11.json
check "... and the user's host manifest names /usr/bin/efirma-native-host" \
	"$(grep -q '"path": "/usr/bin/efirma-native-host"' "$ffm" 2>/dev/null; echo $?)" "$(cat "$ffm" 2>&1)"

# A signature through p11-kit's proxy (the system registration), verified
# by OpenSSL against the certificate.
ok "as nobody: pkcs11-tool signs through p11-kit-proxy.so" \
	user pkcs11-tool --module "$proxy" --token-label "e.firma GENA800101AB1" --login \
	--pin 12345678a --sign -m SHA256-RSA-PKCS --input-file "$tmp/data" --output-file "$home/sig"
openssl x509 -inform DER -in "$gen/efirma.cer" -pubkey -noout > "$tmp/pub.pem" 2>/dev/null
out=$(openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$home/sig" "$tmp/data" 2>&1)
check "openssl verifies the signature against the .cer" "$(test "$out" = 'Verified OK'; echo $?)" "$out"

# What the README and README.Debian say to run before removing.
ok "as nobody: efirma-tool unregister firefox" user efirma-tool unregister firefox
out=$(user modutil -dbdir "sql:$prof" -list 2>&1)
check "... the profile no longer lists the module, the user's manifest is gone" \
	"$(! grep -qF "$so" <<<"$out" && [ ! -e "$ffm" ]; echo $?)" "$out"

# ---------------------------------------------------------------- purge
mapfile -t listed < <(dpkg -L "${pkgs[@]}" 2>/dev/null)
ok "apt-get purge -y efirma-pkcs11 efirma-tool" apt-get purge -y -q "${pkgs[@]}"
for p in "${pkgs[@]}"; do
	check "$p is gone from dpkg's database" "$(known "$p" && echo 1 || echo 0)"
done
left=()
for f in "${listed[@]}"; do
	# folders shared with other packages stay; ours are named efirma
	if [ -L "$f" ] || [ -f "$f" ] || { [ -d "$f" ] && [[ $f == *efirma* ]]; }; then
		left+=("$f")
	fi
done
check "every file dpkg -L listed (${#listed[@]}) is gone" "${#left[@]}" "${left[*]:-}"
out=$(p11-kit list-modules 2>&1)
check "p11-kit list-modules no longer shows the module" "$(grep -q efirma <<<"$out" && echo 1 || echo 0)" "$out"
after=$(efirma_files)
check "the files named efirma in /etc and /usr are those before the install" \
	"$(test "$after" = "$before"; echo $?)" "$(diff <(echo "$before") <(echo "$after"))"
tap_done
