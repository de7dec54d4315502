#!/bin/bash
# test-tool-setuid.sh - the module in a set-user-ID host: the invoking
# user's environment chooses nothing and the trace stays off.  The host is
# a set-user-ID copy of efirma-tool (owned by nobody, run by root: the
# kernel sets AT_SECURE); the same copy without the bit is the control.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to make a set-user-ID program"
id nobody >/dev/null 2>&1 || skip_all "no user 'nobody'"
d=$tmp/suid
mkdir -p "$d"
chmod 755 "$tmp" "$d"
if findmnt -no OPTIONS -T "$d" 2>/dev/null | grep -qw nosuid; then
	skip_all "$d is on a nosuid file system"
fi
# nobody must be able to load the module: every folder above it searchable.
p=$module
while [ "$p" != / ]; do
	p=$(dirname "$p")
	[ -n "$(find "$p" -maxdepth 0 -perm -o=x)" ] || skip_all "nobody cannot reach $module"
done
cp "$T" "$d/host-suid"
cp "$T" "$d/host-plain"
chown nobody "$d/host-suid"
chmod 4755 "$d/host-suid"
conf "$d/f.conf" "$fiel_cer" "$fiel_key"
chmod 644 "$d/f.conf"

EFIRMA_PKCS11_CONF=$d/f.conf EFIRMA_PKCS11_DEBUG=1 run "$d/host-plain" list
check "control (no set-user-ID bit): EFIRMA_PKCS11_CONF gives the token, the trace is on" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q '^e.firma CACX7605101P8$' &&
	    printf '%s' "$err" | grep -q 'efirma-pkcs11: C_Initialize -> CKR_OK'; echo $?)" "$rc $out $err"
EFIRMA_PKCS11_CONF=$d/f.conf EFIRMA_PKCS11_DEBUG=1 XDG_CONFIG_HOME=$d HOME=$d run "$d/host-suid" list
check "set-user-ID: EFIRMA_PKCS11_CONF, XDG_CONFIG_HOME and HOME choose no token (exit 3)" \
	"$( [ $rc = 3 ] && printf '%s' "$err" | grep -q 'no token is configured'; echo $?)" "$rc $out $err"
check "set-user-ID: EFIRMA_PKCS11_DEBUG=1 traces nothing" \
	"$(hasnt "$err" 'efirma-pkcs11:')" "$err"

# "add" edits the file the module would read: in a set-user-ID tool no
# variable may name it (the tool once wrote wherever EFIRMA_PKCS11_CONF
# pointed, as the program's owner).
mkdir -p "$d/b" "$d/w"
cp "$fiel_cer" "$fiel_key" "$d/b/"
chmod 644 "$d/b/"*
chmod 777 "$d/w"
EFIRMA_PKCS11_CONF=$d/w/x.conf XDG_CONFIG_HOME=$d/w HOME=$d/w \
	run "$d/host-suid" add "$d/b/$(basename "$fiel_cer")" "$d/b/$(basename "$fiel_key")" --pin-env PIN
check "set-user-ID: add writes no file the environment names" \
	"$( [ $rc != 0 ] && [ -z "$(ls -A "$d/w")" ]; echo $?)" "$rc $out $err $(ls -A "$d/w")"
check "... having checked the bundle first (it fails at the file, not the key)" \
	"$(has "$err" 'cannot tell where your configuration goes')" "$err"

tap_done
