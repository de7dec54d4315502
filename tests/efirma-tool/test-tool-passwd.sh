#!/bin/bash
# test-tool-passwd.sh - "passwd" through C_SetPIN on a copy of a SAT
# bundle; the new .key is opened with openssl pkcs8.  Also the password
# prompt on a real terminal (a pty): no echo, and the answer is used.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

mkdir -p "$tmp/b"
cp "$sat/fiel-pf-FUNK671228PH6-2023/"FUNK671228PH6_fiel.* "$tmp/b/"
key=$tmp/b/FUNK671228PH6_fiel.key
conf "$tmp/c.conf" "$tmp/b/FUNK671228PH6_fiel.cer" "$key"
export EFIRMA_PKCS11_CONF=$tmp/c.conf
spki_cert=$(openssl x509 -inform DER -in "$tmp/b/FUNK671228PH6_fiel.cer" -noout -pubkey)
opens() {   # PASSWORD: the key opens with it and is the certificate's
	[ "$(openssl pkey -inform DER -in "$key" -passin "pass:$1" -pubout 2>/dev/null)" = "$spki_cert" ]
}

cp "$key" "$tmp/orig.key"
NEW=nueva-clave-2026 run "$T" passwd --pin-env PIN --new-pin-env NEW
check "passwd: exit 0" "$rc" "$out $err"
ok "openssl pkcs8 opens the new .key with the new password" \
	openssl pkcs8 -inform DER -in "$key" -passin pass:nueva-clave-2026 -out /dev/null
ok "... and it is the certificate's key" opens nueva-clave-2026
check "the old password no longer opens it" "$(if opens 12345678a; then echo 1; else echo 0; fi)"
asn=$(openssl asn1parse -inform DER -in "$key" 2>&1)
check "the new .key is in SAT's format (PBES2, PBKDF2, des-ede3-cbc)" \
	"$(printf '%s' "$asn" | grep -q PBES2 && printf '%s' "$asn" | grep -q PBKDF2 &&
	   printf '%s' "$asn" | grep -q des-ede3-cbc; echo $?)" "$asn"
PIN=nueva-clave-2026 run "$T" check --pin-env PIN
check "check with the new password" "$rc" "$err"

cp "$key" "$tmp/before.key"
NEW=otra-clave-99 run "$T" passwd --pin-env PIN --new-pin-env NEW
check "passwd with the old (wrong) password: exit 2, file unchanged" \
	"$( [ $rc = 2 ] && cmp -s "$key" "$tmp/before.key"; echo $?)" "$rc $err"
PIN=nueva-clave-2026 NEW=corta run "$T" passwd --pin-env PIN --new-pin-env NEW
check "a new password shorter than 8: exit 2, says the range, file unchanged" \
	"$( [ $rc = 2 ] && printf '%s' "$err" | grep -q '8 to 256' && cmp -s "$key" "$tmp/before.key"; echo $?)" "$rc $err"
printf 'desde-archivo-1\n' > "$tmp/new.txt"
PIN=nueva-clave-2026 run "$T" passwd --pin-env PIN --new-pin-file "$tmp/new.txt"
check "--new-pin-file" "$( [ $rc = 0 ] && opens desde-archivo-1; echo $?)" "$rc $err"
check "no password was printed" "$(hasnt "$out$err" 'desde-archivo-1')" "$out$err"

# The terminal: a pty, as a person would type.
if command -v python3 >/dev/null; then
	cat > "$tmp/drive-tty.py" <<'PY'
import os, pty, sys, time, select
answers = sys.argv[1].split(",")
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
seen, deadline = b"", time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if answers and seen.rstrip().endswith(b":"):
        time.sleep(0.1)
        os.write(fd, answers.pop(0).encode() + b"\n")
        seen += b"<answered>"
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
	out=$(timeout 60 python3 "$tmp/drive-tty.py" "desde-archivo-1,tecleada-en-tty,tecleada-en-tty" \
		"$T" passwd 2>&1); rc=$?
	check "passwd on a terminal: asks old, new and again; exit 0" \
		"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q 'Password of e.firma FUNK671228PH6' &&
		    printf '%s' "$out" | grep -q 'New password, again'; echo $?)" "$rc $out"
	check "the typed passwords are not echoed" \
		"$(if printf '%s' "$out" | grep -q 'tecleada\|desde-archivo'; then echo 1; else echo 0; fi)" "$out"
	ok "the password typed on the terminal opens the key" opens tecleada-en-tty
	out=$(timeout 60 python3 "$tmp/drive-tty.py" "tecleada-en-tty,una-clave-nueva,otra-distinta" \
		"$T" passwd 2>&1); rc=$?
	check "two different new passwords: exit 1, nothing changed" \
		"$( [ $rc = 1 ] && opens tecleada-en-tty; echo $?)" "$rc $out"
	out=$(timeout 60 python3 "$tmp/drive-tty.py" "mala-clave-123" "$T" check 2>&1); rc=$?
	check "check on a terminal with a wrong password: exit 2" "$(is "$rc" 2)" "$rc $out"
fi

tap_done
