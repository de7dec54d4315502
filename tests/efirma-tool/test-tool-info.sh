#!/bin/bash
# test-tool-info.sh - efirma-tool's command line (help, exit codes for
# usage errors) and "info": a certificate's facts offline, refusals of
# files that are not SAT certificates.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

# ---------------------------------------------------------- help, usage
run "$T" --help
check "--help exits 0" "$rc"
check "--help lists the commands and the exit codes" \
	"$(printf '%s' "$out" | grep -q 'login-token' && printf '%s' "$out" | grep -q '2  wrong password'; echo $?)" "$out"
for c in list info add remove check sign login-token passwd register unregister; do
	run "$T" "$c" --help
	check "$c --help exits 0 with its usage" \
		"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q "Usage: efirma-tool $c" &&
		    printf '%s' "$out" | grep -q 'Exit status'; echo $?)" "$out$err"
done
run "$T" help sign
check "'help sign' is 'sign --help'" "$(has "$out" 'Usage: efirma-tool sign')" "$out"
run "$T" --version
check "--version prints the version" "$(has "$out" 'efirma-tool ')" "$out"
run "$T"
check "no command: usage, exit 1" "$(is "$rc" 1)" "$rc $out"
run "$T" frobnicate
check "unknown command: exit 1 and says so" \
	"$( [ $rc = 1 ] && printf '%s' "$err" | grep -q 'unknown command'; echo $?)" "$rc $err"
run "$T" list --bogus
check "unknown option: exit 1" "$(is "$rc" 1)" "$rc $err"
run "$T" info "$fiel_cer" --detached
check "an option that does not apply to the command: exit 1, names it" \
	"$( [ $rc = 1 ] && printf '%s' "$err" | grep -q -- '--detached does not apply'; echo $?)" "$rc $err"
run "$T" info
check "info without a file: exit 1" "$(is "$rc" 1)" "$rc $err"
run "$T" sign
check "sign without a file: exit 1" "$(is "$rc" 1)" "$rc $err"
run "$T" login-token --pin-env PIN
check "login-token without --challenge: exit 1" "$(is "$rc" 1)" "$rc $err"

# ------------------------------------------------------------ info text
run "$T" info "$fiel_cer"
check "info e.firma: exit 0" "$rc" "$err"
for s in 'type:     e.firma, persona física' 'RFC:      CACX7605101P8' \
	'CURP:     CACX760510MGTSHC04' 'holder:   XOCHILT CASAS CHAVEZ' \
	"número:   $fiel_numero" 'valid:    2023-05-09 18:05:49 UTC to 2027-05-08 18:05:49 UTC' \
	'issuer:   AC UAT'; do
	check "info e.firma shows '$s'" "$(has "$out" "$s")" "$out"
done
fp=$(openssl x509 -inform DER -in "$fiel_cer" -noout -fingerprint -sha256 | sed 's/.*=//')
check "info's SHA-256 fingerprint is OpenSSL's" "$(has "$out" "SHA-256:  $fp")" "$out"

run "$T" info "$moral_cer"
check "info persona moral: type, RFC and representative" \
	"$(printf '%s' "$out" | grep -q 'e.firma, persona moral' && printf '%s' "$out" | grep -q 'RFC:      EKU9003173C9$' &&
	   printf '%s' "$out" | grep -q 'legal representative: RFC VADA800927DJ3, CURP VADA800927HSRSRL05'; echo $?)" "$out"
run "$T" info "$csdm_cer"
check "info CSD: type CSD and its branch" \
	"$(printf '%s' "$out" | grep -q 'type:     CSD, persona moral' && printf '%s' "$out" | grep -q 'branch:   Sucursal 1'; echo $?)" "$out"
run "$T" info "$old_cer"
check "info expired 2019 e.firma: exit 0, RFC with Ñ in UTF-8, EXPIRED warning" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q 'RFC:      IAÑL750210963' &&
	    printf '%s' "$out" | grep -q 'WARNING:  EXPIRED on 2023-06-13 21:58:00 UTC'; echo $?)" "$out"
run "$T" info "$sat/fiel-pm-AAA010101AAA-2017-expired/AAA010101AAA_fiel.cer.pem"
check "info reads a PEM certificate" "$( [ $rc = 0 ] && printf '%s' "$out" | grep -q 'RFC:      AAA010101AAA'; echo $?)" "$out$err"

# ------------------------------------------------------------ info JSON
run "$T" info "$oldm_cer" --json
check "info --json: exit 0" "$rc" "$err"
if command -v python3 >/dev/null; then
	printf '%s' "$out" > "$tmp/j.json"
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["type"], d["persona"], d["rfc"], d["representative_rfc"], d["numero"], d["status"], d["not_after"])' "$tmp/j.json" 2>&1)
	check "info --json parses, with the facts" \
		"$(is "$got" 'efirma moral HAÑ930228SM9 KAHO641101B39 30001000000400002421 expired 2023-06-13T21:26:00Z')" "$got"
fi

# ------------------------------------------------------------ refusals
run "$T" info "$fiel_key"
check "info on a .key: refused (4), says it is a private key" \
	"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'is a private key (.key), not a certificate'; echo $?)" "$rc $err"
head -c 1493 /dev/urandom > "$tmp/garbage.cer"
run "$T" info "$tmp/garbage.cer"
check "info on garbage: refused (4), not a certificate" \
	"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'is not a certificate'; echo $?)" "$rc $err"
head -c 700 "$fiel_cer" > "$tmp/truncated.cer"
run "$T" info "$tmp/truncated.cer"
check "info on a truncated .cer: refused (4)" "$(is "$rc" 4)" "$rc $err"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/x.key" -subj /CN=example.org \
	-days 30 -out "$tmp/other.pem" 2>/dev/null
run "$T" info "$tmp/other.pem"
check "info on a non-SAT certificate: refused (4), carries no RFC" \
	"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'not one issued by SAT'; echo $?)" "$rc $err"
run "$T" info "$tmp/missing.cer"
check "info on a missing file: not found (3)" "$(is "$rc" 3)" "$rc $err"
run "$T" info "$tmp/missing.cer" --json
check "info --json on a missing file: nothing on stdout" "$(is "$out" '')" "$out"

tap_done
