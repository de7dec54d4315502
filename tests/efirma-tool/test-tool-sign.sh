#!/bin/bash
# test-tool-sign.sh - "sign" (CMS attached and detached, raw PKCS#1) and
# "check", every signature verified by OpenSSL against the .cer.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

conf "$tmp/both.conf" "$fiel_cer" "$fiel_key" "$csd_cer" "$csd_key" "$moral_cer" "$moral_key"
export EFIRMA_PKCS11_CONF=$tmp/both.conf
F=(--token "e.firma CACX7605101P8" --pin-env PIN)
printf 'Contrato de prueba.\nCláusula única: firmar.\n' > "$tmp/doc.txt"
head -c 1500000 /dev/urandom > "$tmp/big.bin"

# SIG [CONTENT]: openssl cms -verify against the SAT test CA, at a time
# SAT's 2023 certificates were valid (they expire in May 2027): what is
# tested is the CMS the tool makes, not today's date
cms_verify() {
	openssl cms -verify -binary -inform DER -in "$1" ${2:+-content "$2"} \
		-CAfile "$chain2023" -attime "$sat_at" -out "$tmp/verified.out" >/dev/null 2>&1
}

# ------------------------------------------------------- CMS, attached
run "$T" sign "$tmp/doc.txt" "${F[@]}"
check "sign (attached): exit 0, writes FILE.p7m" \
	"$( [ $rc = 0 ] && [ -s "$tmp/doc.txt.p7m" ]; echo $?)" "$rc $out $err"
ok "openssl cms -verify accepts the attached signature" cms_verify "$tmp/doc.txt.p7m"
check "... and the content inside is the document" "$(cmp -s "$tmp/verified.out" "$tmp/doc.txt"; echo $?)"
ok "openssl cms -verify -content accepts it too" cms_verify "$tmp/doc.txt.p7m" "$tmp/doc.txt"
openssl cms -verify -binary -inform DER -in "$tmp/doc.txt.p7m" -CAfile "$chain2023" -attime "$sat_at" \
	-signer "$tmp/signer.pem" -out /dev/null >/dev/null 2>&1
check "the signer certificate in the CMS is the .cer" \
	"$(is "$(openssl x509 -in "$tmp/signer.pem" -noout -fingerprint -sha256 2>&1)" \
	     "$(openssl x509 -inform DER -in "$fiel_cer" -noout -fingerprint -sha256)")"
cmsinfo=$(openssl cms -cmsout -print -inform DER -in "$tmp/doc.txt.p7m" 2>&1)
check "the CMS uses SHA-256 and has the signed attributes" \
	"$(printf '%s' "$cmsinfo" | grep -q 'algorithm: sha256' && printf '%s' "$cmsinfo" | grep -q 'messageDigest' &&
	   printf '%s' "$cmsinfo" | grep -q 'signingTime'; echo $?)" "$cmsinfo"

# ------------------------------------------------------- CMS, detached
run "$T" sign "$tmp/doc.txt" --detached "${F[@]}"
check "sign --detached: exit 0, writes FILE.p7s" \
	"$( [ $rc = 0 ] && [ -s "$tmp/doc.txt.p7s" ]; echo $?)" "$rc $err"
ok "openssl cms -verify -content accepts the detached signature" cms_verify "$tmp/doc.txt.p7s" "$tmp/doc.txt"
check "the detached signature does not carry the document" \
	"$(if grep -q 'Cláusula' "$tmp/doc.txt.p7s"; then echo 1; else echo 0; fi)"
printf 'Contrato de prueba.\nCláusula única: NO firmar.\n' > "$tmp/doc2.txt"
check "a changed document fails openssl cms -verify" "$(if cms_verify "$tmp/doc.txt.p7s" "$tmp/doc2.txt"; then echo 1; else echo 0; fi)"

run "$T" sign "$tmp/big.bin" --detached --out "$tmp/big.sig" "${F[@]}"
ok "a 1.5 MB file, detached, --out: openssl verifies" cms_verify "$tmp/big.sig" "$tmp/big.bin"
"$T" sign "$tmp/doc.txt" --out - "${F[@]}" > "$tmp/stdout.p7m" 2>/dev/null
ok "--out - writes the CMS to standard output" cms_verify "$tmp/stdout.p7m"

# a CSD and a persona moral sign too
run "$T" sign "$tmp/doc.txt" --out "$tmp/csd.p7m" --token "CSD CACX7605101P8" --pin-env PIN
ok "signed with the CSD: openssl verifies" cms_verify "$tmp/csd.p7m"
run "$T" sign "$tmp/doc.txt" --out "$tmp/moral.p7m" --token EKU9003173C9 --pin-env PIN
ok "signed with the persona moral e.firma: openssl verifies" cms_verify "$tmp/moral.p7m"

# ------------------------------------------------------------ raw
pubkey_of "$fiel_cer" > "$tmp/fiel.pub"
run "$T" sign "$tmp/big.bin" --raw "${F[@]}"
check "sign --raw: exit 0, base64 on stdout" "$rc" "$err"
printf '%s\n' "$out" | openssl base64 -d -A > "$tmp/raw.sig"
check "the raw signature is 256 bytes" "$(is "$(wc -c < "$tmp/raw.sig")" 256)"
ok "openssl dgst -sha256 -verify with the .cer's key accepts --raw" \
	openssl dgst -sha256 -verify "$tmp/fiel.pub" -signature "$tmp/raw.sig" "$tmp/big.bin"
run "$T" sign "$tmp/doc.txt" --raw --out "$tmp/raw.b64" "${F[@]}"
openssl base64 -d -A -in "$tmp/raw.b64" > "$tmp/raw2.sig"
ok "--raw --out FILE: verifies" openssl dgst -sha256 -verify "$tmp/fiel.pub" -signature "$tmp/raw2.sig" "$tmp/doc.txt"
run "$T" sign "$tmp/doc.txt" --raw --detached "${F[@]}"
check "--raw with --detached: usage error (1)" "$(is "$rc" 1)" "$rc $err"

# ------------------------------------------------------------ failures
rm -f "$tmp/doc.txt.p7m"
PIN=wrongpass1 run "$T" sign "$tmp/doc.txt" "${F[@]}"
check "wrong password: exit 2, 'wrong password'" \
	"$( [ $rc = 2 ] && printf '%s' "$err" | grep -q 'wrong password'; echo $?)" "$rc $err"
check "wrong password: no signature file" "$( [ ! -e "$tmp/doc.txt.p7m" ]; echo $?)"
check "the password is not in any message" "$(hasnt "$out$err" wrongpass1)" "$err"
run "$T" sign "$tmp/missing.txt" "${F[@]}"
check "a missing document: exit 3" "$(is "$rc" 3)" "$rc $err"
run "$T" sign "$tmp/doc.txt" --pin-env PIN
check "several tokens and no --token: exit 1, lists them" \
	"$( [ $rc = 1 ] && printf '%s' "$err" | grep -q 'CSD CACX7605101P8'; echo $?)" "$rc $err"
run "$T" sign "$tmp/doc.txt" --token XAXX010101000 --pin-env PIN
check "--token that matches nothing: exit 3" "$(is "$rc" 3)" "$rc $err"
run "$T" sign "$tmp/doc.txt" --token "e.firma CACX7605101P8"
check "no password source and no terminal: exit 1, says how" \
	"$( [ $rc = 1 ] && printf '%s' "$err" | grep -q -- '--pin-file'; echo $?)" "$rc $err"
run "$T" sign "$tmp/doc.txt" "${F[@]}" --pin-file "$tmp/pin.txt"
check "--pin-env and --pin-file together: exit 1" "$(is "$rc" 1)" "$rc $err"
unset PIN_UNSET
run "$T" sign "$tmp/doc.txt" --token "e.firma CACX7605101P8" --pin-env PIN_UNSET
check "--pin-env naming an unset variable: exit 1" "$(is "$rc" 1)" "$rc $err"
printf '12345678a\n' > "$tmp/pin.txt"
run "$T" sign "$tmp/doc.txt" --out "$tmp/pf.p7m" --token "e.firma CACX7605101P8" --pin-file "$tmp/pin.txt"
ok "--pin-file (with a line end) works" cms_verify "$tmp/pf.p7m"

# ------------------------------------------------------- the output
# Never through a symbolic link, never over a file without --force, and
# no more readable than 0600 or the document.
echo "mi configuración" > "$tmp/victim"
ln -s "$tmp/victim" "$tmp/link.p7m"
run "$T" sign "$tmp/doc.txt" --out "$tmp/link.p7m" "${F[@]}"
check "--out a symbolic link: refused (4), the file it names untouched" \
	"$( [ $rc = 4 ] && [ -L "$tmp/link.p7m" ] && [ "$(cat "$tmp/victim")" = "mi configuración" ]; echo $?)" "$rc $err"
ln -s "$tmp/nowhere" "$tmp/dangling.p7m"
run "$T" sign "$tmp/doc.txt" --out "$tmp/dangling.p7m" "${F[@]}"
check "--out a dangling symbolic link: refused, nothing created where it points" \
	"$( [ $rc = 4 ] && [ ! -e "$tmp/nowhere" ]; echo $?)" "$rc $err"
run "$T" sign "$tmp/doc.txt" --raw --out "$tmp/link.p7m" "${F[@]}"
check "--raw --out a symbolic link: refused too" \
	"$( [ $rc = 4 ] && [ "$(cat "$tmp/victim")" = "mi configuración" ]; echo $?)" "$rc $err"
cp "$tmp/victim" "$tmp/exists.p7m"
run "$T" sign "$tmp/doc.txt" --out "$tmp/exists.p7m" "${F[@]}"
check "--out an existing file: refused (4), says --force, file unchanged" \
	"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q -- '--force' && cmp -s "$tmp/exists.p7m" "$tmp/victim"; echo $?)" "$rc $err"
cp "$tmp/victim" "$tmp/doc.txt.p7m"
run "$T" sign "$tmp/doc.txt" "${F[@]}"
check "the default FILE.p7m exists already: refused as well" "$(is "$rc" 4)" "$rc $err"
run "$T" sign "$tmp/doc.txt" --out "$tmp/link.p7m" --force "${F[@]}"
check "--force: the link itself is replaced by the signature, its target untouched" \
	"$( [ $rc = 0 ] && [ ! -L "$tmp/link.p7m" ] && [ "$(cat "$tmp/victim")" = "mi configuración" ] &&
	    cms_verify "$tmp/link.p7m"; echo $?)" "$rc $err"
run "$T" sign "$tmp/doc.txt" --out "$tmp/exists.p7m" --force "${F[@]}"
check "--force replaces an existing file" "$( [ $rc = 0 ] && cms_verify "$tmp/exists.p7m"; echo $?)" "$rc $err"
check "... created 0600, not with the umask" "$(is "$(stat -c %a "$tmp/exists.p7m")" 600)" "$(stat -c %a "$tmp/exists.p7m")"
(umask 022; run "$T" sign "$tmp/doc.txt" --out "$tmp/mode.p7m" "${F[@]}"; exit $rc)
check "a new output under umask 022 is 0600" \
	"$( [ "$(stat -c %a "$tmp/mode.p7m" 2>&1)" = 600 ]; echo $?)" "$(stat -c %a "$tmp/mode.p7m" 2>&1)"
cp "$tmp/doc.txt" "$tmp/private.txt"
chmod 0400 "$tmp/private.txt"
run "$T" sign "$tmp/private.txt" --raw --out "$tmp/private.sig" "${F[@]}"
check "a 0400 document gives a 0400 signature (the stricter mode)" \
	"$( [ $rc = 0 ] && [ "$(stat -c %a "$tmp/private.sig")" = 400 ]; echo $?)" "$rc $err $(stat -c %a "$tmp/private.sig" 2>&1)"

# ------------------------------------------------------------ check
run "$T" check "${F[@]}"
check "check: exit 0, OK" "$( [ $rc = 0 ] && printf '%s' "$out" | grep -q '^OK: the password opens the key'; echo $?)" "$rc $out $err"
PIN=wrongpass1 run "$T" check "${F[@]}"
check "check with a wrong password: exit 2" "$(is "$rc" 2)" "$rc $err"
if [ -n "$gen" ]; then
	conf "$tmp/wrong.conf" "$gen/wrongpair.cer" "$gen/wrongpair.key"
	EFIRMA_PKCS11_CONF=$tmp/wrong.conf run "$T" check --pin-env PIN
	check "check with a key of another certificate: refused (4)" \
		"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'belongs to another certificate'; echo $?)" "$rc $err"
fi
conf "$tmp/one.conf" "$moral_cer" "$moral_key"
EFIRMA_PKCS11_CONF=$tmp/one.conf run "$T" check --pin-env PIN
check "one token configured: no --token needed" "$rc" "$err"

tap_done
