#!/bin/bash
# check-prefix-install.sh - "make install" stays where it is told.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A copy of the release sources (make distdir), configured with a prefix of
# a normal user's (nobody, like --prefix=$HOME/.local) and built and
# installed by that user: the install succeeds without root, writes only
# under the prefix (p11-kit's and the browsers' system folders unchanged,
# no file of the user's outside the test's folder), and ends with the
# registration commands; the installed efirma-tool's "register p11-kit"
# makes p11-kit list the installed module for that user; "make uninstall"
# leaves no file under the prefix.  Then the same tree configured with
# --enable-system-dirs and a scratch prefix installs (into a DESTDIR) the
# module and its registration into p11-kit's folders and the host
# manifests into the browsers', except a folder given by --with-..., which
# wins.  One build serves both (a build takes minutes at -j1).
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
build=${EF_TEST_BUILDDIR:?}
command -v p11-kit >/dev/null || skip_all "p11-kit is not installed"

p11path=$(pkg-config --variable=p11_module_path p11-kit-1)
p11confs=$(pkg-config --variable=p11_module_configs p11-kit-1)
mozsys=/usr/lib/mozilla/native-messaging-hosts
crsys=/etc/chromium/native-messaging-hosts

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src prefix=$tmp/prefix home=$tmp/home
mkdir -p "$prefix" "$home" "$tmp/utmp"

# A make of its own: the one running "make check" passes its flags and job
# server down.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }
if ! mk -s -C "$build" distdir distdir="$src" >"$tmp/distdir.log" 2>&1; then
	echo "not ok 1 - make distdir"
	sed 's/^/#   /' "$tmp/distdir.log" | tail -n 20
	echo "1..1"
	exit 1
fi

# user CMD...: CMD as a normal user with its own HOME (root in CI and here:
# nobody, who owns the copy, the prefix and the home; p11-kit reads a
# user's configuration only when not root).
user=() who=$(id -un)
if [ "$(id -u)" = 0 ]; then
	who=nobody
	command -v setpriv >/dev/null || skip_all "setpriv is not installed"
	chmod 755 "$tmp"
	chown -R nobody:nogroup "$src" "$prefix" "$home" "$tmp/utmp"
	user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
user() {
	"${user[@]}" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u XDG_CONFIG_HOME \
		-u EFIRMA_TOOL_MODULE -u EFIRMA_PKCS11_CONF \
		HOME="$home" TMPDIR="$tmp/utmp" "$@"
}

# What must not change: the installing user's files in p11-kit's and the
# browsers' system folders (root's are not compared: a package installed
# meanwhile by another job on the machine is no concern here).
sys_state() {
	find "$p11path" "$p11confs" /etc/pkcs11 "$mozsys" "$crsys" \
		! -type d -user "$who" -printf '%p %s %T@\n' 2>/dev/null | LC_ALL=C sort
}
sys_state > "$tmp/sys.before"
touch "$tmp/stamp"

# ------------------------------------------------ a user's prefix install
cd "$src" || exit 1
user ./configure --prefix="$prefix" >"$tmp/configure.log" 2>&1
check "configure --prefix=(a user's folder)" "$?" "$(tail -n 20 "$tmp/configure.log")"
check "... its summary says p11-kit will not find the module without registering" \
	"$(grep -q 'p11-kit finds them: *no: .*efirma-tool register p11-kit' "$tmp/configure.log"; echo $?)" \
	"$(tail -n 14 "$tmp/configure.log")"
user make -j1 >"$tmp/make.log" 2>&1
check "make, as that user" "$?" "$(tail -n 20 "$tmp/make.log")"
user make install >"$tmp/install.log" 2>&1
check "make install, as that user, without root" "$?" "$(tail -n 20 "$tmp/install.log")"

sys_state > "$tmp/sys.after"
check "the user's files in p11-kit's and the browsers' system folders are unchanged" \
	"$(cmp -s "$tmp/sys.before" "$tmp/sys.after"; echo $?)" \
	"$(diff "$tmp/sys.before" "$tmp/sys.after" | head -n 10)"
if [ ${#user[@]} -gt 0 ]; then
	# Every file the user made after the start: only in this test's folder.
	strays=$(find /usr /etc /opt /var /home /root /srv -xdev -path /var/tmp -prune -o \
		-user nobody -newer "$tmp/stamp" -print 2>/dev/null | head -n 10)
	check "the user wrote nothing outside the test's folder" "$(test -z "$strays"; echo $?)" "$strays"
fi
so=$prefix/lib/pkcs11/efirma-pkcs11.so
for f in "$so" "$prefix/share/p11-kit/modules/efirma-pkcs11.module" \
	"$prefix/lib/mozilla/native-messaging-hosts/mx.efirma.pkcs11.json" \
	"$prefix/etc/chromium/native-messaging-hosts/mx.efirma.pkcs11.json" \
	"$prefix/bin/efirma-tool" "$prefix/bin/efirma-native-host"; do
	check "installs ${f#"$prefix"/} under the prefix" "$(test -e "$f"; echo $?)"
done
tool=$prefix/bin/efirma-tool
for what in p11-kit firefox chromium; do
	check "make install ends with \"$tool register $what\" (not on PATH: full path)" \
		"$(grep -qF "  $tool register $what " "$tmp/install.log"; echo $?)" \
		"$(tail -n 8 "$tmp/install.log")"
done

user "$tool" register p11-kit >"$tmp/register.log" 2>&1
check "efirma-tool register p11-kit, as that user" "$?" "$(cat "$tmp/register.log")"
reg=$home/.config/pkcs11/modules/efirma-pkcs11.module
check "... names the installed module (the tool's compiled-in path)" \
	"$(grep -qx "module: $so" "$reg"; echo $?)" "$(cat "$reg" 2>&1)"
out=$(user p11-kit list-modules 2>&1)
check "p11-kit list-modules, as that user, lists the installed module" \
	"$(grep -A1 -xF "efirma-pkcs11: $so" <<<"$out" | grep -q 'library-description: SAT e.firma'; echo $?)" "$out"
user "$tool" unregister p11-kit >"$tmp/unregister.log" 2>&1
check "efirma-tool unregister p11-kit removes the registration" \
	"$(test $? = 0 && test ! -e "$reg"; echo $?)" "$(cat "$tmp/unregister.log")"

user make uninstall >"$tmp/uninstall.log" 2>&1
check "make uninstall, as that user" "$?" "$(tail -n 20 "$tmp/uninstall.log")"
left=$(find "$prefix" ! -type d)
check "... leaves no file under the prefix" "$(test -z "$left"; echo $?)" "$left"

# ------------------------------------------------------- --enable-system-dirs
# The same tree again (only what the folders change is rebuilt), with
# Firefox's folder given explicitly: it wins over --enable-system-dirs.
scratch=$tmp/scratch stage=$tmp/stage mozown=$tmp/scratch/moz
user ./configure --prefix="$scratch" --enable-system-dirs \
	--with-mozilla-native-messaging-dir="$mozown" >"$tmp/configure2.log" 2>&1
check "configure --enable-system-dirs --with-mozilla-native-messaging-dir=DIR" "$?" \
	"$(tail -n 20 "$tmp/configure2.log")"
check "... its summary says p11-kit finds the module" \
	"$(grep -q "p11-kit finds them: *yes" "$tmp/configure2.log"; echo $?)" "$(tail -n 14 "$tmp/configure2.log")"
mkdir -p "$stage"
[ ${#user[@]} = 0 ] || chown nobody:nogroup "$stage"
user make install DESTDIR="$stage" >"$tmp/install2.log" 2>&1
check "make install DESTDIR=..., as that user" "$?" "$(tail -n 20 "$tmp/install2.log")"
check "... puts the module into p11-kit's module path ($p11path)" \
	"$(test -f "$stage$p11path/efirma-pkcs11.so"; echo $?)"
check "... and its registration into p11-kit's configs ($p11confs), naming it there" \
	"$(grep -qx "module: $p11path/efirma-pkcs11.so" "$stage$p11confs/efirma-pkcs11.module"; echo $?)" \
	"$(cat "$stage$p11confs/efirma-pkcs11.module" 2>&1)"
check "... Chromium's host manifest into $crsys" \
	"$(test -f "$stage$crsys/mx.efirma.pkcs11.json"; echo $?)"
check "... Firefox's into the folder given by --with- (it wins)" \
	"$(test -f "$stage$mozown/mx.efirma.pkcs11.json" && test ! -e "$stage$mozsys"; echo $?)"
outside=$(cd "$stage" && find . ! -type d ! -path "./${scratch#/}/*" ! -path ".$p11path/*" \
	! -path ".$p11confs/*" ! -path ".$crsys/*")
check "... and the rest under the prefix" "$(test -z "$outside"; echo $?)" "$outside"
check "... printing no registration hint (a staging install)" \
	"$(! grep -q 'register p11-kit' "$tmp/install2.log"; echo $?)" "$(tail -n 8 "$tmp/install2.log")"
user make uninstall DESTDIR="$stage" >"$tmp/uninstall2.log" 2>&1
left=$(find "$stage" ! -type d)
check "make uninstall DESTDIR=... leaves only empty folders" \
	"$(test -z "$left"; echo $?)" "$left"$'\n'"$(tail -n 5 "$tmp/uninstall2.log")"
tap_done
