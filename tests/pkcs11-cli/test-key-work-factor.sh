#!/bin/bash
# test-key-work-factor.sh - a .key may not make C_Login spin.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Keys converted by hand may use schemes other than SAT's PBES2/PBKDF2
# (PKCS#12 PBE, PBES2 with scrypt); their work factors come from the file.
# Files whose iteration count or scrypt N*r*p is absurd are refused before
# any key derivation, quickly; reasonable ones still open.  Checked with
# the real pkcs11-tool against a bundle whose .key is swapped.
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
command -v pkcs11-tool >/dev/null || skip_all "pkcs11-tool is not installed"
mod=${EF_TEST_MODULE:?}
fiel=$EF_TEST_DATA/sat/fiel-pf-CACX7605101P8-2023
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME=$tmp/xdg
PIN=12345678a
openssl pkcs8 -inform DER -in "$fiel/CACX7605101P8_fiel.key" -passin "pass:$PIN" -out "$tmp/plain.pem"

# hostile NAME ALGORITHM-SECTION: an EncryptedPrivateKeyInfo whose
# ciphertext is random, written with openssl asn1parse -genconf.
hostile() {
	{
		printf 'asn1 = SEQUENCE:epki\n[epki]\nalg = SEQUENCE:alg\n'
		printf 'data = FORMAT:HEX,OCTETSTRING:%s\n' "$(head -c 1224 /dev/urandom | xxd -p | tr -d '\n')"
		cat
	} > "$tmp/$1.cnf"
	openssl asn1parse -genconf "$tmp/$1.cnf" -noout -out "$tmp/$1.key"
}
hostile pkcs12-iter <<'CNF'
[alg]
oid = OID:1.2.840.113549.1.12.1.3
params = SEQUENCE:pbe
[pbe]
salt = FORMAT:HEX,OCTETSTRING:0102030405060708
iter = INTEGER:2000000000
CNF
hostile scrypt-work <<'CNF'
[alg]
oid = OID:1.2.840.113549.1.5.13
params = SEQUENCE:pbes2
[pbes2]
kdf = SEQUENCE:kdf
enc = SEQUENCE:enc
[kdf]
oid = OID:1.3.6.1.4.1.11591.4.11
params = SEQUENCE:scrypt
[scrypt]
salt = FORMAT:HEX,OCTETSTRING:0102030405060708
n = INTEGER:131072
r = INTEGER:1
p = INTEGER:131072
[enc]
oid = OID:2.16.840.1.101.3.4.1.42
iv = FORMAT:HEX,OCTETSTRING:000102030405060708090a0b0c0d0e0f
CNF
openssl pkcs8 -topk8 -in "$tmp/plain.pem" -v1 PBE-SHA1-3DES -iter 2048 -outform DER \
	-passout "pass:$PIN" -out "$tmp/pkcs12-ok.key"
openssl pkcs8 -topk8 -in "$tmp/plain.pem" -scrypt -outform DER \
	-passout "pass:$PIN" -out "$tmp/scrypt-ok.key"

login() {   # KEYFILE: "ok" or the error, within 60 s at most
	printf '[bundle]\ncert = %s\nkey = %s\n' "$fiel/CACX7605101P8_fiel.cer" "$1" > "$tmp/conf"
	EFIRMA_PKCS11_CONF=$tmp/conf timeout 60 pkcs11-tool --module "$mod" \
		--login --pin "$PIN" -O 2>&1
}
for k in pkcs12-iter scrypt-work; do
	t0=$(date +%s)
	out=$(login "$tmp/$k.key")
	t1=$(date +%s)
	check "$k: login refused" "$(grep -q 'Private Key Object' <<<"$out"; echo $((!$?)))" "$out"
	check "$k: ... at once, before any key derivation ($((t1 - t0)) s)" \
		"$(test $((t1 - t0)) -lt 20; echo $?)" "$out"
	check "$k: ... saying the file cannot be read" \
		"$(grep -q 'not an RSA private key this module can read' <<<"$out"; echo $?)" "$out"
done
for k in pkcs12-ok scrypt-ok; do
	out=$(login "$tmp/$k.key")
	check "$k: a reasonable work factor still opens" \
		"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
done
tap_done
