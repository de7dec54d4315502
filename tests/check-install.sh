#!/bin/bash
# check-install.sh - what "make install" puts where (into a DESTDIR).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The module lands in the PKCS#11 module folder without its libtool
# archive and exports only the three C_Get* functions; the p11-kit module
# file names the installed module by absolute path; the browsers' native
# messaging host manifests name the installed host; the header, pkg-config
# file, SAT CA certificates and the manual pages are where the README says.
# Built with the default folders, everything lands under the prefix and
# "make install" keeps quiet about registering (a staging install).
# p11-kit itself loads the installed module through that file, and
# "make uninstall" removes every file "make install" put there.
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
build=${EF_TEST_BUILDDIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# A make of its own: the one running "make check" passes its flags and job
# server down, which would change what the sub-make prints.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$build" "$@"; }
mk install DESTDIR="$dest" >"$tmp/install.log" 2>&1
check "make install DESTDIR=..." "$?" "$(tail -n 20 "$tmp/install.log")"
check "... prints no registration hint under DESTDIR" \
	"$(! grep -q 'register p11-kit' "$tmp/install.log"; echo $?)" "$(tail -n 8 "$tmp/install.log")"
# var NAME: a variable of the build's Makefile, expanded by make itself
var() {
	printf 'ef-print-var:\n\t@echo $(%s)\n' "$1" |
		mk -f Makefile -f - ef-print-var
}
moddir=$(var pkcs11moduledir)
confdir=$(var p11kitmoduleconfigsdir)
so=$dest$moddir/efirma-pkcs11.so
check "the module is in the PKCS#11 module folder ($moddir)" "$(test -f "$so"; echo $?)"
check "... without its libtool archive" "$(test ! -e "$dest$moddir/efirma-pkcs11.la"; echo $?)"
syms=$(nm -D --defined-only "$so" 2>/dev/null | awk '$2 ~ /^[TW]$/ {print $3}' | sort | tr '\n' ' ')
check "... exporting only C_GetFunctionList, C_GetInterface, C_GetInterfaceList" \
	"$(test "$syms" = "C_GetFunctionList C_GetInterface C_GetInterfaceList "; echo $?)" "$syms"
mf=$dest$confdir/efirma-pkcs11.module
check "the p11-kit module file is installed ($confdir)" "$(test -f "$mf"; echo $?)"
check "... and names the installed module by absolute path" \
	"$(grep -qx "module: $moddir/efirma-pkcs11.so" "$mf"; echo $?)" "$(cat "$mf" 2>/dev/null)"
bindir=$(var bindir)
host=$dest$bindir/efirma-native-host
check "the native messaging host is installed ($bindir/efirma-native-host)" \
	"$(test -x "$host" && test "$(readlink -f "$host")" = "$(readlink -f "$dest$bindir/efirma-tool")"; echo $?)"
# nmh DIR KEY VALUE: the browser's system-wide host manifest in DIR names
# the installed host and allows VALUE
nmh() {
	python3 - "$dest$1/mx.efirma.pkcs11.json" "$2" "$3" "$bindir/efirma-native-host" <<'PY'
import json, sys
f, key, value, host = sys.argv[1:]
try:
    m = json.load(open(f))
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if m.get("name") == "mx.efirma.pkcs11" and m.get("path") == host and
         m.get("type") == "stdio" and m.get(key) == [value] else 1)
PY
	echo $?
}
mozdir=$(var mozillanmhdir)
crdir=$(var chromiumnmhdir)
crid=$(openssl base64 -d -A < "$EF_TEST_SRCDIR/tools/webext/chromium-key.txt" | openssl dgst -sha256 -r |
	cut -c1-32 | tr 0-9a-f a-p)
check "Firefox's host manifest is installed ($mozdir) and allows the extension" \
	"$(nmh "$mozdir" allowed_extensions efirma@efirma-pkcs11)" "$(cat "$dest$mozdir"/* 2>&1)"
check "Chromium's host manifest is installed ($crdir) and allows the extension's origin" \
	"$(nmh "$crdir" allowed_origins "chrome-extension://$crid/")" "$(cat "$dest$crdir"/* 2>&1)"
prefix=$(var prefix)
# The default folders (configure without --enable-system-dirs or
# --with-...-dir): all four under the prefix, and so every installed file.
if "$build/config.status" --config |
	grep -qE -- "--enable-system-dirs|--with-[a-z0-9-]*-dir|--with-p11-kit-module-configs"; then
	diag "configured with explicit folders: the default folders are not checked"
else
	expect="$(var libdir)/pkcs11 $(var datadir)/p11-kit/modules $prefix/lib/mozilla/native-messaging-hosts $(var sysconfdir)/chromium/native-messaging-hosts"
	check "by default the module, its p11-kit file and the host manifests go under the prefix" \
		"$(test "$moddir $confdir $mozdir $crdir" = "$expect"; echo $?)" \
		"got:      $moddir $confdir $mozdir $crdir"$'\n'"expected: $expect"
	outside=$(find "$dest" ! -type d ! -path "$dest$prefix/*")
	check "... and every installed file is under DESTDIR$prefix" \
		"$(test -z "$outside"; echo $?)" "$outside"
fi
for f in include/efirma-pkcs11.h lib/pkgconfig/efirma-pkcs11.pc share/efirma-pkcs11/ca/AC5_SAT.cer \
	share/efirma-pkcs11/ca/ARC5_IES.cer share/man/man5/efirma-pkcs11.conf.5; do
	hit=$(find "$dest$prefix" -path "*/${f#*/}" -print -quit 2>/dev/null)
	check "installs $f" "$(test -n "$hit"; echo $?)"
done

# p11-kit loads the installed module through a registration like the one
# installed (user configuration of a throw-away home; as root p11-kit
# ignores user configuration, so it runs as nobody).
mkdir -p "$tmp/home/.config/pkcs11/modules"
sed "s|^module: .*|module: $so|" "$mf" > "$tmp/home/.config/pkcs11/modules/efirma-pkcs11.module"
printf 'x-init-reserved: cert=%s key=%s\n' \
	"$tmp/c.cer" "$tmp/c.key" >> "$tmp/home/.config/pkcs11/modules/efirma-pkcs11.module"
printf 'user-config: only\n' > "$tmp/home/.config/pkcs11/pkcs11.conf"
cp "$EF_TEST_DATA/sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.cer" "$tmp/c.cer"
cp "$EF_TEST_DATA/sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.key" "$tmp/c.key"
run=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod -R a+rX "$tmp"
	run=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi
out=$("${run[@]}" env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" p11-kit list-modules 2>&1)
check "p11-kit list-modules shows the installed module and its token" \
	"$(grep -q 'e.firma CACX7605101P8' <<<"$out"; echo $?)" "$out"

mk uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1
check "make uninstall DESTDIR=..." "$?" "$(tail -n 20 "$tmp/uninstall.log")"
left=$(find "$dest" ! -type d)
check "... leaves only empty folders" "$(test -z "$left"; echo $?)" "$left"
tap_done
