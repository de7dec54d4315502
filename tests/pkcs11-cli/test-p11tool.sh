#!/bin/bash
# test-p11tool.sh - the module registered with p11-kit, used by GnuTLS's
# p11tool and by p11-kit itself.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The registration is a user configuration (~/.config/pkcs11/modules/) in a
# throw-away home with "user-config: only", so the host's modules stay out
# (observed: softhsm2's C_Initialize fails for a user without access to its
# token folder, and GnuTLS then drops every p11-kit module).  p11-kit 0.24
# ignores user configuration in a program running as root, so as root the
# whole test runs as "nobody" with everything it needs copied under /tmp.
#
# Where the bundle comes from: "x-init-reserved:" (the pReserved string of
# C_Initialize) for p11-kit itself.  GnuTLS (observed with 3.7 and p11-kit
# 0.24) calls C_Initialize with its own arguments and pReserved NULL, so
# for p11tool the bundle comes from the user's own file,
# $XDG_CONFIG_HOME/efirma-pkcs11/efirma-pkcs11.conf: the same route a real
# installation takes.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"

module=${EF_TEST_MODULE:-}
sat=${EF_TEST_DATA:-$here/data}/sat
[ -n "$module" ] || skip_all "EF_TEST_MODULE is not set (run through make check)"
[ -f "$module" ] || skip_all "module not built: $module"
command -v p11tool >/dev/null || skip_all "p11tool (gnutls-bin) is not installed"
command -v p11-kit >/dev/null || skip_all "p11-kit is not installed"
command -v openssl >/dev/null || skip_all "openssl is not installed"

tmp=$(mktemp -d /tmp/efirma-p11kit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
TAP_LOG=$tmp/cmd.log
unset EFIRMA_PKCS11_DEBUG EFIRMA_PKCS11_CONF

PIN=12345678a
fiel=$sat/fiel-pf-CACX7605101P8-2023
mkdir -p "$tmp/data" "$tmp/home/.config/pkcs11/modules"
cp "$module" "$tmp/efirma-pkcs11.so"
cp "$fiel/CACX7605101P8_fiel.cer" "$fiel/CACX7605101P8_fiel.key" "$tmp/data/"
printf '[bundle]\ncert = %s\nkey = %s\n' \
	"$tmp/data/CACX7605101P8_fiel.cer" "$tmp/data/CACX7605101P8_fiel.key" > "$tmp/efirma.conf"
printf 'module: %s\nx-init-reserved: conf=%s\n' \
	"$tmp/efirma-pkcs11.so" "$tmp/efirma.conf" \
	> "$tmp/home/.config/pkcs11/modules/efirma-test.module"
printf 'user-config: only\n' > "$tmp/home/.config/pkcs11/pkcs11.conf"
openssl x509 -inform DER -in "$fiel/CACX7605101P8_fiel.cer" -noout -pubkey > "$tmp/fiel.pub"

as_user=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || skip_all "running as root and setpriv is missing"
	chmod 755 "$tmp"
	chown -R 65534:65534 "$tmp"
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	"${as_user[@]}" test -r "$tmp/efirma-pkcs11.so" ||
		skip_all "cannot run as nobody (setpriv failed)"
fi
# u CMD...: runs a command as the test user, in the throw-away home
u() {
	"${as_user[@]}" env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
		TMPDIR="$tmp" "$@" </dev/null
}
has() { printf '%s\n' "$1" | grep -qF -- "$2"; echo $?; }
hasnt() { if printf '%s\n' "$1" | grep -qF -- "$2"; then echo 1; else echo 0; fi; }

label='e.firma CACX7605101P8'
url='pkcs11:token=e.firma%20CACX7605101P8'

# ----------------------------------------------------------- p11-kit
out=$(u p11-kit list-modules 2>&1); rc=$?
check "p11-kit list-modules succeeds" "$rc" "$out"
mod=$(printf '%s\n' "$out" | sed -n '/^efirma-test:/,/^[^ ]/p')
check "p11-kit list-modules shows the registered module" "$([ -n "$mod" ]; echo $?)" "$out"
check "p11-kit list-modules shows token '$label'" "$(has "$mod" "token: $label")" "$out"
check "p11-kit list-modules: token flags login-required" "$(has "$mod" 'login-required')" "$mod"

# ----------------------------------------------------------- p11tool
# GnuTLS passes no pReserved: from here on the bundle comes from the user's
# configuration file.
mkdir -p "$tmp/home/.config/efirma-pkcs11"
cp "$tmp/efirma.conf" "$tmp/home/.config/efirma-pkcs11/efirma-pkcs11.conf"
[ -z "${as_user[*]}" ] || chown -R 65534:65534 "$tmp/home/.config/efirma-pkcs11"
out=$(u p11tool --batch --list-tokens 2>&1); rc=$?
check "p11tool --list-tokens succeeds" "$rc" "$out"
check "p11tool --list-tokens shows '$label'" \
	"$(printf '%s\n' "$out" | grep -Eq "^[[:space:]]*Label: $label\$"; echo $?)" "$out"

out=$(u p11tool --batch --list-token-urls 2>&1); rc=$?
check "p11tool --list-token-urls shows $url" "$(has "$out" "token=e.firma%20CACX7605101P8")" "$out"

out=$(u p11tool --batch --list-all "$url" 2>&1); rc=$?
check "p11tool --list-all succeeds" "$rc" "$out"
check "p11tool --list-all shows the certificate" "$(has "$out" 'Type: X.509 Certificate')" "$out"
check "p11tool --list-all shows the public key" "$(has "$out" 'Type: Public key')" "$out"
check "p11tool --list-all shows no private key without login" \
	"$(hasnt "$out" 'Type: Private key')" "$out"

out=$(u p11tool --batch --login --set-pin="$PIN" --list-all "$url" 2>&1); rc=$?
check "p11tool --login --list-all succeeds" "$rc" "$out"
check "p11tool --login --list-all shows the private key" "$(has "$out" 'Type: Private key')" "$out"
# the objects' own URLs, as p11tool prints them
key_url=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*URL: \(pkcs11:.*type=private.*\)$/\1/p' | head -n 1)
check "the private key has a URL ($key_url)" "$([ -n "$key_url" ]; echo $?)" "$out"
cert_url=$(printf '%s\n' "$out" | sed -n '/Type: X.509 Certificate/,/^Object/p' |
	sed -n 's/^[[:space:]]*URL: \(pkcs11:.*\)$/\1/p' | head -n 1)
if [ -z "$cert_url" ]; then
	cert_url=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*URL: \(pkcs11:.*type=cert.*\)$/\1/p' | head -n 1)
fi

out=$(u p11tool --batch --login --set-pin="$PIN" --test-sign "${key_url:-$url}" 2>&1); rc=$?
check "p11tool --login --test-sign (RSA PKCS#1 v1.5)" "$rc" "$out"
check "p11tool --test-sign: every step ok" \
	"$(printf '%s\n' "$out" | grep -q 'Verifying against public key in the token\.*[[:space:]]*ok' &&
		! printf '%s\n' "$out" | grep -qi 'fail'; echo $?)" "$out"

out=$(u p11tool --batch --login --set-pin="$PIN" --test-sign --sign-params=RSA-PSS "${key_url:-$url}" 2>&1); rc=$?
check "p11tool --login --test-sign --sign-params=RSA-PSS" "$rc" "$out"
check "p11tool --test-sign RSA-PSS: every step ok" \
	"$(printf '%s\n' "$out" | grep -q 'Verifying against public key in the token\.*[[:space:]]*ok' &&
		! printf '%s\n' "$out" | grep -qi 'fail'; echo $?)" "$out"

out=$(u p11tool --batch --login --set-pin=wrongpassword --list-all "$url" 2>&1); rc=$?
check "p11tool with a wrong PIN fails" "$([ $rc != 0 ]; echo $?)" "$out"

u p11tool --batch --export "${cert_url:-$url;type=cert}" --outder --outfile="$tmp/export.der" >"$tmp/export.log" 2>&1
ok "p11tool --export of the certificate is byte-identical to the .cer" \
	cmp "$tmp/export.der" "$fiel/CACX7605101P8_fiel.cer"

# ------------------------------------------- p11tool --provider (no p11-kit config)
out=$(EFIRMA_PKCS11_CONF="$tmp/efirma.conf" p11tool --batch --provider "$module" --list-tokens </dev/null 2>&1); rc=$?
check "p11tool --provider with EFIRMA_PKCS11_CONF lists '$label'" \
	"$([ $rc = 0 ] && printf '%s\n' "$out" | grep -Eq "^[[:space:]]*Label: $label\$"; echo $?)" "$out"

tap_done
