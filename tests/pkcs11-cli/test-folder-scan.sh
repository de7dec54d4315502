#!/bin/bash
# test-folder-scan.sh - what a scanned [directory] may make the module do.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Issue 9: a login in a folder where someone dropped many .key files tried
# every one of them (a key derivation each: 23-38 s with the right
# password), a .key asking for millions of iterations was tried too, a
# symlink in the folder made a token of a file anywhere, and an unencrypted
# key found by the scan made a token that took any PIN.  Checked with the
# real pkcs11-tool and the module's trace (EFIRMA_PKCS11_DEBUG), which
# names each key it tries ("trying this key") before deriving anything.
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
command -v pkcs11-tool >/dev/null || skip_all "pkcs11-tool is not installed"
mod=${EF_TEST_MODULE:?}
fiel=$EF_TEST_DATA/sat/fiel-pf-CACX7605101P8-2023
otra=$EF_TEST_DATA/sat/fiel-pf-FUNK671228PH6-2023
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME=$tmp/xdg
PIN=12345678a
LABEL="e.firma CACX7605101P8"
# The bound of ef_keydir_pick: 4 keys carrying the RFC + 3 others.
MAX_TRIED=7

scan() {   # FOLDER: the configuration that scans it
	printf '[directory]\npath = %s\n' "$1" > "$tmp/conf"
}
p11() {   # pkcs11-tool on the e.firma token, with the trace
	EFIRMA_PKCS11_CONF=$tmp/conf EFIRMA_PKCS11_DEBUG=1 timeout 120 \
		pkcs11-tool --module "$mod" --token-label "$LABEL" "$@" 2>&1
}
tried() { grep -c 'trying this key' <<<"$1"; }

# A SAT download folder: the .cer named after the número, the .key renamed
# by hand (no RFC in it, so nothing pairs it), and 40 keys someone else
# dropped there, encrypted with another password, older.
dir=$tmp/descargas
mkdir -p "$dir"
cp "$fiel/CACX7605101P8_fiel.cer" "$dir/00001000000500003282.cer"
cp "$fiel/CACX7605101P8_fiel.key" "$dir/mi_llave.key"
touch -r "$dir/00001000000500003282.cer" "$dir/mi_llave.key"
openssl pkcs8 -inform DER -in "$otra/FUNK671228PH6_fiel.key" -passin "pass:$PIN" \
	-topk8 -v2 des3 -iter 2048 -outform DER -passout pass:otra-clave-1 -out "$tmp/hostile.key"
for i in $(seq -w 1 40); do
	cp "$tmp/hostile.key" "$dir/h$i.key"
done
touch -d '2001-01-01' "$dir"/h*.key
scan "$dir"

out=$(p11 --login --pin "$PIN" -O)
check "40 foreign keys beside it: the right password logs in" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
n=$(tried "$out")
check "... trying $n keys (at most $MAX_TRIED; every one of the 41 before)" \
	"$(test "$n" -le "$MAX_TRIED"; echo $?)" "$(grep 'trying this key' <<<"$out")"
out=$(p11 --login --pin wrong-password -O)
check "a wrong password is CKR_PIN_INCORRECT" \
	"$(grep -q 'CKR_PIN_INCORRECT' <<<"$out"; echo $?)" "$out"
n=$(tried "$out")
check "... after at most $MAX_TRIED key derivations ($n)" \
	"$(test "$n" -le "$MAX_TRIED"; echo $?)" "$(grep 'trying this key' <<<"$out")"

# Keys asking for 5 million PBKDF2 iterations (seconds each), written at
# the same moment as the certificate, one of them carrying its RFC: ranked
# first, and never tried, since neither is paired with it by name.  Their
# ciphertext is random: nothing ever needs to decrypt them.
{
	printf 'asn1 = SEQUENCE:epki\n[epki]\nalg = SEQUENCE:alg\n'
	printf 'data = FORMAT:HEX,OCTETSTRING:%s\n' "$(head -c 1224 /dev/urandom | xxd -p | tr -d '\n')"
	cat <<'CNF'
[alg]
oid = OID:1.2.840.113549.1.5.13
params = SEQUENCE:pbes2
[pbes2]
kdf = SEQUENCE:kdf
enc = SEQUENCE:enc
[kdf]
oid = OID:1.2.840.113549.1.5.12
params = SEQUENCE:pbkdf2
[pbkdf2]
salt = FORMAT:HEX,OCTETSTRING:0102030405060708
iter = INTEGER:5000000
[enc]
oid = OID:1.2.840.113549.3.7
iv = FORMAT:HEX,OCTETSTRING:0102030405060708
CNF
} > "$tmp/slow.cnf"
openssl asn1parse -genconf "$tmp/slow.cnf" -noout -out "$dir/Claveprivada_FIEL_CACX7605101P8_x.key"
cp "$dir/Claveprivada_FIEL_CACX7605101P8_x.key" "$dir/a_slow.key"
touch -r "$dir/00001000000500003282.cer" "$dir"/*slow.key "$dir"/Claveprivada*.key
out=$(p11 --login --pin "$PIN" -O)
check "keys at 5,000,000 iterations beside it: the right password logs in" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
check "... and neither is tried" \
	"$(grep 'trying this key' <<<"$out" | grep -q -e 'a_slow' -e '_x.key'; echo $((!$?)))" \
	"$(grep -e 'trying this key' -e 'not tried' <<<"$out")"
check "... the trace says why" \
	"$(grep -q 'a_slow.key: not tried' <<<"$out"; echo $?)" "$out"

# Symlinks in a scanned folder are never followed: not to another
# person's bundle elsewhere, not even to a file of the same folder.
links=$tmp/enlaces
mkdir -p "$links"
ln -s "$otra/FUNK671228PH6_fiel.cer" "$links/otro.cer"
ln -s "$otra/FUNK671228PH6_fiel.key" "$links/otro.key"
cp "$fiel/CACX7605101P8_fiel.cer" "$links/CACX7605101P8_fiel.cer"
ln -s "$fiel/CACX7605101P8_fiel.key" "$links/CACX7605101P8_fiel.key"
scan "$links"
out=$(EFIRMA_PKCS11_CONF=$tmp/conf pkcs11-tool --module "$mod" -L 2>&1)
check "a symlinked certificate in a scanned folder is no token" \
	"$(grep -q 'FUNK671228PH6' <<<"$out"; echo $((!$?)))" "$out"
check "... a regular one beside it is" \
	"$(grep -q 'CACX7605101P8' <<<"$out"; echo $?)" "$out"
out=$(p11 --login --pin "$PIN" -O)
check "... but its symlinked key is not used" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $((!$?)))" "$out"

# An unencrypted key: found by a scan, never used (any PIN would open it);
# named by a [bundle], used.
plain=$tmp/plano
mkdir -p "$plain"
cp "$fiel/CACX7605101P8_fiel.cer" "$plain/"
openssl pkcs8 -inform DER -in "$fiel/CACX7605101P8_fiel.key" -passin "pass:$PIN" \
	-topk8 -nocrypt -outform DER -out "$plain/CACX7605101P8_fiel.key"
scan "$plain"
out=$(p11 --login --pin cualquier-cosa -O)
check "an unencrypted key found by a scan does not log in" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $((!$?)))" "$out"
check "... and the log says why" \
	"$(grep -q 'CACX7605101P8_fiel.key: not encrypted' <<<"$out"; echo $?)" "$out"
printf '[bundle]\ncert = %s\nkey = %s\n' "$plain/CACX7605101P8_fiel.cer" \
	"$plain/CACX7605101P8_fiel.key" > "$tmp/conf"
out=$(p11 --login --pin cualquier-cosa -O)
check "... the same key named by a [bundle] is used" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
tap_done
