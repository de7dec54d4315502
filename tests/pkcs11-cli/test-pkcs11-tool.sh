#!/bin/bash
# test-pkcs11-tool.sh - drives the module with OpenSC's pkcs11-tool.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Black-box: pkcs11-tool talks to the module, OpenSSL checks every
# signature and decryption against the public key in the .cer.  Needs
# EF_TEST_MODULE and EF_TEST_DATA (set by "make check").
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"

module=${EF_TEST_MODULE:-}
sat=${EF_TEST_DATA:-$here/data}/sat
[ -n "$module" ] || skip_all "EF_TEST_MODULE is not set (run through make check)"
[ -f "$module" ] || skip_all "module not built: $module"
command -v pkcs11-tool >/dev/null || skip_all "pkcs11-tool (opensc) is not installed"
command -v openssl >/dev/null || skip_all "openssl is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/efirma-p11tool.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
TAP_LOG=$tmp/cmd.log
unset EFIRMA_PKCS11_DEBUG

PIN=12345678a
fiel=$sat/fiel-pf-CACX7605101P8-2023
fiel_cer=$fiel/CACX7605101P8_fiel.cer
fiel_key=$fiel/CACX7605101P8_fiel.key
fiel_numero=30001000000500003282
csd=$sat/csd-pm-EKU9003173C9-2023
csd_cer=$csd/EKU9003173C9_csd.cer
csd_key=$csd/EKU9003173C9_csd.key

# conf FILE CERT KEY [CERT KEY]...: a configuration with one [bundle] per pair
conf() {
	local f=$1; shift
	: > "$f"
	while [ $# -ge 2 ]; do
		printf '[bundle]\ncert = %s\nkey = %s\n\n' "$1" "$2" >> "$f"
		shift 2
	done
}
conf "$tmp/fiel.conf" "$fiel_cer" "$fiel_key"
conf "$tmp/csd.conf" "$csd_cer" "$csd_key"
conf "$tmp/both.conf" "$fiel_cer" "$fiel_key" "$csd_cer" "$csd_key"

# p11 CONF ARGS...: pkcs11-tool on our module with that configuration
p11() {
	local c=$1; shift
	EFIRMA_PKCS11_CONF=$c pkcs11-tool --module "$module" "$@" </dev/null
}
# has TEXT PATTERN: 0 when the (fixed-string) pattern is in the text
has() { printf '%s\n' "$1" | grep -qF -- "$2"; echo $?; }
hasnt() { if printf '%s\n' "$1" | grep -qF -- "$2"; then echo 1; else echo 0; fi; }
pubkey_of() { openssl x509 -inform DER -in "$1" -noout -pubkey; }
# CKA_ID as the module computes it: SHA-1 of the subjectPublicKey bits
ckaid_of() {
	pubkey_of "$1" | openssl rsa -pubin -RSAPublicKey_out -outform DER 2>/dev/null |
		openssl dgst -sha1 -r | cut -c1-40
}
# first RFC of the certificate (x500UniqueIdentifier before " / "), UTF-8
rfc_of() {
	openssl x509 -inform DER -in "$1" -noout -subject -nameopt multiline,utf8,-esc_msb |
		sed -n 's/^ *x500UniqueIdentifier *= *//p' | sed 's| /.*||'
}

pubkey_of "$fiel_cer" > "$tmp/fiel.pub"
pubkey_of "$csd_cer" > "$tmp/csd.pub"
fiel_id=$(ckaid_of "$fiel_cer")
head -c 3000 /dev/urandom > "$tmp/data"
openssl dgst -sha256 -binary "$tmp/data" > "$tmp/data.sha256"

# ------------------------------------------------------------ -L / -M
out=$(p11 "$tmp/both.conf" -L 2>&1); rc=$?
check "-L succeeds" "$rc" "$out"
check "-L shows token 'e.firma CACX7605101P8'" \
	"$(printf '%s\n' "$out" | grep -Eq '^ *token label *: e\.firma CACX7605101P8 *$'; echo $?)" "$out"
check "-L shows token 'CSD EKU9003173C9'" \
	"$(printf '%s\n' "$out" | grep -Eq '^ *token label *: CSD EKU9003173C9 *$'; echo $?)" "$out"
serial=$(p11 "$tmp/fiel.conf" -L 2>&1 | sed -n 's/^ *serial num *: *//p' | head -n 1 | tr -d ' ')
check "token serial '$serial' comes from the numero de certificado $fiel_numero" \
	"$([ -n "$serial" ] && case $fiel_numero in *"$serial"*) true;; *) false;; esac; echo $?)"
check "-L: token flags include login required" "$(has "$out" 'login required')" "$out"
check "-L: no ':' in any token label" \
	"$(printf '%s\n' "$out" | sed -n 's/^ *token label *: //p' | grep -q ':'; [ $? = 1 ]; echo $?)" "$out"

out=$(p11 "$tmp/fiel.conf" -M 2>&1); rc=$?
check "-M succeeds" "$rc" "$out"
for m in RSA-PKCS SHA256-RSA-PKCS RSA-PKCS-PSS SHA256-RSA-PKCS-PSS RSA-PKCS-OAEP SHA256; do
	check "-M lists $m" \
		"$(printf '%s\n' "$out" | grep -Eq "^ *$m([ ,]|\$)"; echo $?)" "$out"
done
# No raw RSA, and PKCS#1 v1.5 signs but does not decrypt (doc/DESIGN.md §8).
check "-M does not list RSA-X-509" \
	"$(printf '%s\n' "$out" | grep -Eq '^ *RSA-X-509([ ,]|$)'; [ $? = 1 ]; echo $?)" "$out"
check "-M: RSA-PKCS signs, does not decrypt" \
	"$(printf '%s\n' "$out" | grep -E '^ *RSA-PKCS,' | grep -q sign &&
	   ! printf '%s\n' "$out" | grep -E '^ *RSA-PKCS,' | grep -q decrypt; echo $?)" "$out"

# ------------------------------------------------------------------ -O
out=$(p11 "$tmp/fiel.conf" -O 2>&1); rc=$?
check "-O succeeds without login" "$rc" "$out"
check "-O shows the certificate" "$(has "$out" 'Certificate Object')" "$out"
check "-O shows the public key" "$(has "$out" 'Public Key Object')" "$out"
check "-O shows no private key before login" "$(hasnt "$out" 'Private Key Object')" "$out"
check "-O: CKA_ID is SHA-1 of the subjectPublicKey ($fiel_id)" \
	"$(printf '%s\n' "$out" | grep -Eq "^ *ID: *$fiel_id\$"; echo $?)" "$out"

out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" -O 2>&1); rc=$?
check "--login -O succeeds" "$rc" "$out"
check "--login -O shows the private key" "$(has "$out" 'Private Key Object')" "$out"
check "private key shares the CKA_ID" \
	"$(printf '%s\n' "$out" | sed -n '/Private Key Object/,/^[^ ]/p' | grep -Eq "^ *ID: *$fiel_id\$"; echo $?)" "$out"
# pkcs11-tool prints "extractable" for CKA_EXTRACTABLE=TRUE and "never
# extractable" for CKA_NEVER_EXTRACTABLE=TRUE; a key read from a file was
# never "always sensitive", so only the first two matter.
access=$(printf '%s\n' "$out" | sed -n '/Private Key Object/,/^[^ ]/p' | sed -n 's/^ *Access: *//p')
check "private key is sensitive (Access: $access)" \
	"$(printf '%s\n' "$access" | grep -Eq '(^|, )sensitive(,|$)'; echo $?)" "$out"
check "private key is not extractable" \
	"$(printf '%s\n' "$access" | grep -Eq '(^|, )extractable(,|$)'; [ $? = 1 ]; echo $?)" "$out"

out=$(p11 "$tmp/fiel.conf" --login --pin wrongpassword -O 2>&1); rc=$?
check "wrong PIN fails" "$([ $rc != 0 ]; echo $?)" "$out"
check "wrong PIN gives CKR_PIN_INCORRECT" "$(has "$out" CKR_PIN_INCORRECT)" "$out"

# ---------------------------------------------------------- signatures
out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --sign -m SHA256-RSA-PKCS \
	-i "$tmp/data" -o "$tmp/sig.pkcs1" 2>&1); rc=$?
check "--sign -m SHA256-RSA-PKCS" "$rc" "$out"
ok "SHA256-RSA-PKCS signature verifies with openssl dgst" \
	openssl dgst -sha256 -verify "$tmp/fiel.pub" -signature "$tmp/sig.pkcs1" "$tmp/data"

out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --sign -m RSA-PKCS-PSS \
	--hash-algorithm SHA256 --mgf MGF1-SHA256 \
	-i "$tmp/data.sha256" -o "$tmp/sig.pss" 2>&1); rc=$?
check "--sign -m RSA-PKCS-PSS (SHA256, MGF1-SHA256) over a hash" "$rc" "$out"
ok "RSA-PKCS-PSS signature verifies with openssl pkeyutl (salt 32)" \
	openssl pkeyutl -verify -pubin -inkey "$tmp/fiel.pub" -in "$tmp/data.sha256" \
	-sigfile "$tmp/sig.pss" -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 \
	-pkeyopt digest:sha256 -pkeyopt rsa_mgf1_md:sha256

# (pkcs11-tool takes the hash from the mechanism; --hash-algorithm is for RSA-PKCS-PSS)
out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --sign -m SHA256-RSA-PKCS-PSS \
	--mgf MGF1-SHA256 -i "$tmp/data" -o "$tmp/sig.sha256pss" 2>&1); rc=$?
check "--sign -m SHA256-RSA-PKCS-PSS" "$rc" "$out"
ok "SHA256-RSA-PKCS-PSS signature verifies with openssl dgst" \
	openssl dgst -sha256 -verify "$tmp/fiel.pub" -signature "$tmp/sig.sha256pss" \
	-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 \
	"$tmp/data"

# DigestInfo = DER prefix for SHA-256 (RFC 8017 section 9.2 note 1) + hash
{ printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'
  cat "$tmp/data.sha256"; } > "$tmp/digestinfo"
out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --sign -m RSA-PKCS \
	-i "$tmp/digestinfo" -o "$tmp/sig.raw" 2>&1); rc=$?
check "--sign -m RSA-PKCS over a DigestInfo" "$rc" "$out"
ok "RSA-PKCS signature verifies with openssl pkeyutl" \
	openssl pkeyutl -verify -pubin -inkey "$tmp/fiel.pub" -in "$tmp/data.sha256" \
	-sigfile "$tmp/sig.raw" -pkeyopt digest:sha256
ok "RSA-PKCS signature equals SHA256-RSA-PKCS (deterministic padding)" \
	cmp "$tmp/sig.raw" "$tmp/sig.pkcs1"

out=$(p11 "$tmp/csd.conf" --login --pin "$PIN" --sign -m SHA256-RSA-PKCS \
	-i "$tmp/data" -o "$tmp/sig.csd" 2>&1); rc=$?
check "CSD: --sign -m SHA256-RSA-PKCS" "$rc" "$out"
ok "CSD signature verifies with openssl dgst" \
	openssl dgst -sha256 -verify "$tmp/csd.pub" -signature "$tmp/sig.csd" "$tmp/data"

# ---------------------------------------------------------- read-object
out=$(p11 "$tmp/fiel.conf" --read-object --type cert --id "$fiel_id" \
	-o "$tmp/cert.der" 2>&1); rc=$?
check "--read-object --type cert --id $fiel_id" "$rc" "$out"
ok "the certificate read back is byte-identical to the .cer" cmp "$tmp/cert.der" "$fiel_cer"

# ----------------------------------------------------------- decryption
printf 'secreto de prueba %s\n' "$RANDOM" > "$tmp/msg"
openssl pkeyutl -encrypt -pubin -inkey "$tmp/fiel.pub" -in "$tmp/msg" -out "$tmp/ct.oaep" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --decrypt -m RSA-PKCS-OAEP \
	--hash-algorithm SHA256 --mgf MGF1-SHA256 -i "$tmp/ct.oaep" -o "$tmp/pt.oaep" 2>&1); rc=$?
check "e.firma: --decrypt -m RSA-PKCS-OAEP (SHA256)" "$rc" "$out"
ok "OAEP plaintext matches" cmp "$tmp/pt.oaep" "$tmp/msg"

openssl pkeyutl -encrypt -pubin -inkey "$tmp/fiel.pub" -in "$tmp/msg" -out "$tmp/ct.oaep1" \
	-pkeyopt rsa_padding_mode:oaep
out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --decrypt -m RSA-PKCS-OAEP \
	--hash-algorithm SHA-1 --mgf MGF1-SHA1 -i "$tmp/ct.oaep1" -o "$tmp/pt.oaep1" 2>&1); rc=$?
check "e.firma: --decrypt -m RSA-PKCS-OAEP (SHA-1)" "$rc" "$out"
ok "OAEP SHA-1 plaintext matches" cmp "$tmp/pt.oaep1" "$tmp/msg"

# PKCS#1 v1.5 decryption only with allow-pkcs1-decrypt (a Bleichenbacher
# oracle otherwise).
openssl pkeyutl -encrypt -pubin -inkey "$tmp/fiel.pub" -in "$tmp/msg" -out "$tmp/ct.pkcs1"
rm -f "$tmp/pt.pkcs1"
out=$(p11 "$tmp/fiel.conf" --login --pin "$PIN" --decrypt -m RSA-PKCS \
	-i "$tmp/ct.pkcs1" -o "$tmp/pt.pkcs1" 2>&1); rc=$?
check "e.firma: --decrypt -m RSA-PKCS refused by default" "$([ $rc != 0 ]; echo $?)" "$out"
check "e.firma: ... CKR_MECHANISM_INVALID" "$(has "$out" CKR_MECHANISM_INVALID)" "$out"
{ printf '[module]\nallow-pkcs1-decrypt = yes\n\n'; cat "$tmp/fiel.conf"; } > "$tmp/fiel-pkcs1.conf"
out=$(p11 "$tmp/fiel-pkcs1.conf" --login --pin "$PIN" --decrypt -m RSA-PKCS \
	-i "$tmp/ct.pkcs1" -o "$tmp/pt.pkcs1" 2>&1); rc=$?
check "e.firma, allow-pkcs1-decrypt = yes: --decrypt -m RSA-PKCS" "$rc" "$out"
ok "RSA-PKCS plaintext matches" cmp "$tmp/pt.pkcs1" "$tmp/msg"

openssl pkeyutl -encrypt -pubin -inkey "$tmp/csd.pub" -in "$tmp/msg" -out "$tmp/ct.csd" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
rm -f "$tmp/pt.csd"
out=$(p11 "$tmp/csd.conf" --login --pin "$PIN" --decrypt -m RSA-PKCS-OAEP \
	--hash-algorithm SHA256 --mgf MGF1-SHA256 -i "$tmp/ct.csd" -o "$tmp/pt.csd" 2>&1); rc=$?
check "CSD: decryption is refused (no dataEncipherment)" "$([ $rc != 0 ]; echo $?)" "$out"
check "CSD: no plaintext came out" \
	"$(! cmp -s "$tmp/pt.csd" "$tmp/msg"; echo $?)"

# ------------------------------------------------------ pkcs11-tool's own tests
out=$(p11 "$tmp/fiel.conf" --test --login --pin "$PIN" --allow-sw 2>&1); rc=$?
check "--test --login --allow-sw exits 0" "$rc" "$out"
check "--test reports 'No errors'" "$(has "$out" 'No errors')" "$out"
# pkcs11-tool itself treats C_SignUpdate = CKR_FUNCTION_NOT_SUPPORTED as a
# warning (CKM_RSA_PKCS is single-part only), not as a failed part.
warn=$(printf '%s\n' "$out" | grep -E '^warning: PKCS11 function C_SignUpdate failed: rv = CKR_FUNCTION_NOT_SUPPORTED' || true)
[ -z "$warn" ] || diag "--test: $warn"
bad=$(printf '%s\n' "$out" | grep -iE 'fail|error' | grep -vE '^No errors$' |
	grep -vF -- "${warn:-no warning}" || true)
check "--test: no failed parts" "$([ -z "$bad" ]; echo $?)" "$bad"

# Each --test-threads string starts a thread before the main C_Initialize:
# IL = C_Initialize with CKF_OS_LOCKING_OK, IN = C_Initialize(NULL),
# GI = C_GetInfo, SL = C_GetSlotList, T0 = C_GetTokenInfo of slot index 0.
# The main thread runs --test meanwhile.  (pkcs11-tool sleeps 30 s when a
# thread is still running at its cleanup; a long main job avoids that.)
out=$(p11 "$tmp/both.conf" --test-threads ILGISLT0 --test-threads ILGISLT0 \
	--test-threads IN --test-threads INGISLT0 --test --login --pin "$PIN" --allow-sw 2>&1); rc=$?
check "--test-threads ILGISLT0 x2, IN, INGISLT0 during --test" "$rc" "$out"
check "--test-threads: all threads have ended" "$(has "$out" 'all threads have ended')" "$out"
bad=$(printf '%s\n' "$out" | grep -E '^Test thread [0-9]+ .*returned' |
	grep -vE 'returned (CKR_OK|CKR_CRYPTOKI_ALREADY_INITIALIZED)$' || true)
check "--test-threads: every call returned CKR_OK (C_Initialize: or ALREADY_INITIALIZED)" \
	"$([ -z "$bad" ]; echo $?)" "$bad"
n=$(printf '%s\n' "$out" | grep -cE '^Test thread [0-9]+ C_GetTokenInfo from slot_index 0')
check "--test-threads: three threads read the token info ($n)" "$([ "$n" = 3 ]; echo $?)" "$out"
check "--test-threads: the main --test still has no errors" "$(has "$out" 'No errors')" "$out"

out=$(p11 "$tmp/fiel.conf" --test-fork 2>&1); rc=$?
check "--test-fork (C_Initialize in the child)" "$rc" "$out"
out=$(p11 "$tmp/fiel.conf" --test-fork --login --pin "$PIN" --sign -m SHA256-RSA-PKCS \
	-i "$tmp/data" -o "$tmp/sig.fork" 2>&1); rc=$?
check "--test-fork then sign" "$rc" "$out"
ok "signature after --test-fork verifies" \
	openssl dgst -sha256 -verify "$tmp/fiel.pub" -signature "$tmp/sig.fork" "$tmp/data"

# ------------------------------------- every SAT test bundle: label + signature
for d in "$sat"/fiel-* "$sat"/csd-*; do
	[ -d "$d" ] || continue
	name=${d##*/}
	cer=$(ls "$d"/*.cer | head -n 1)
	key=$(ls "$d"/*.key | head -n 1)
	pw=$(cat "$d/password.txt")
	case $name in fiel-*) kind=e.firma ;; *) kind=CSD ;; esac
	label="$kind $(rfc_of "$cer")"
	conf "$tmp/one.conf" "$cer" "$key"
	out=$(p11 "$tmp/one.conf" -L 2>&1); rc=$?
	check "$name: token label '$label'" \
		"$([ $rc = 0 ] && printf '%s\n' "$out" | sed -n 's/^ *token label *: //p' |
			sed 's/ *$//' | grep -qxF -- "$label"; echo $?)" "$out"
	pubkey_of "$cer" > "$tmp/one.pub"
	rm -f "$tmp/one.sig"
	out=$(p11 "$tmp/one.conf" --login --pin "$pw" --sign -m SHA256-RSA-PKCS \
		-i "$tmp/data" -o "$tmp/one.sig" 2>&1); rc=$?
	check "$name: sign SHA256-RSA-PKCS" "$rc" "$out"
	ok "$name: signature verifies against the .cer" \
		openssl dgst -sha256 -verify "$tmp/one.pub" -signature "$tmp/one.sig" "$tmp/data"
done

tap_done
