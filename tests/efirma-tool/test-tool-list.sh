#!/bin/bash
# test-tool-list.sh - "efirma-tool list": every token with its SAT facts
# (read from the module's CKA_EFIRMA_* attributes), validity warnings and
# where its bundle comes from.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

# block TEXT LABEL: the lines of one token's entry in list's output
block() { printf '%s\n' "$1" | awk -v l="$2" '$0 == l { on = 1; print; next } /^[^ ]/ { on = 0 } on'; }

conf "$tmp/all.conf" "$fiel_cer" "$fiel_key" "$csdm_cer" "$csdm_key" "$moral_cer" "$moral_key" \
	"$old_cer" "$old_key" "$oldm_cer" "$oldm_key"
export EFIRMA_PKCS11_CONF=$tmp/all.conf
run "$T" list
check "list: exit 0" "$rc" "$err"
b=$(block "$out" 'e.firma CACX7605101P8')
check "e.firma física: type, RFC, CURP, holder, número, validity" \
	"$(printf '%s' "$b" | grep -q 'type:     e.firma, persona física' &&
	   printf '%s' "$b" | grep -q 'RFC:      CACX7605101P8' && printf '%s' "$b" | grep -q 'CURP:     CACX760510MGTSHC04' &&
	   printf '%s' "$b" | grep -q 'holder:   XOCHILT CASAS CHAVEZ' && printf '%s' "$b" | grep -q "número:   $fiel_numero" &&
	   printf '%s' "$b" | grep -q 'valid:    2023-05-09 18:05:49 UTC to 2027-05-08 18:05:49 UTC'; echo $?)" "$out"
b2=$(block "$out" 'CSD EKU9003173C9')
check "CSD moral: type, branch, representative" \
	"$(printf '%s' "$b2" | grep -q 'type:     CSD, persona moral' && printf '%s' "$b2" | grep -q 'branch:   Sucursal 1' &&
	   printf '%s' "$b2" | grep -q 'legal representative: RFC VADA800927DJ3'; echo $?)" "$out"
b3=$(block "$out" 'e.firma EKU9003173C9')
check "e.firma moral listed with its holder" "$(has "$b3" 'holder:   ESCUELA KEMPER URGATE SA DE CV')" "$out"
now=$(date +%s)
end2027=$(date -d '2027-05-08 18:05:49 UTC' +%s)
if [ "$now" -lt $((end2027 - 31 * 86400)) ]; then
	check "a valid 2023 certificate has no warning" "$(hasnt "$b" 'WARNING')" "$b"
fi
b4=$(block "$out" 'e.firma IAÑL750210963')
check "expired 2019 e.firma física: EXPIRED warning with the date" \
	"$(has "$b4" 'WARNING:  EXPIRED on 2023-06-13 21:58:00 UTC')" "$out"
b5=$(block "$out" 'e.firma HAÑ930228SM9')
check "expired 2019 e.firma moral: EXPIRED warning" "$(has "$b5" 'WARNING:  EXPIRED on 2023-06-13 21:26:00 UTC')" "$out"

check "a [bundle]: from the configured file" \
	"$(has "$b" "  from:     configured bundle $fiel_cer")" "$b"

# Where each token comes from: a [directory] folder and a removable volume.
sources_conf "$tmp/src.conf"
EFIRMA_PKCS11_CONF=$tmp/src.conf run "$T" list
check "list of a folder and a volume: exit 0" "$rc" "$err"
check "a folder's token: from the folder, then the file's name" \
	"$(has "$(block "$out" 'CSD EKU9003173C9')" "  from:     folder $tmp/SAT (${csdm_cer##*/})")" "$out"
check "a volume's token: from the volume by its name, then the file's path" \
	"$(has "$(block "$out" 'e.firma EKU9003173C9')" \
	       "  from:     removable volume KINGSTON ($tmp/media/KINGSTON/SAT/${moral_cer##*/})")" "$out"
check "one 'from:' line per token" "$(is "$(printf '%s\n' "$out" | grep -c '^  from:')" 2)" "$out"

# A certificate that expires in ten days, made now with the generated
# test CA in SAT's layout.
if [ -n "$gen" ] && [ -f "$gen/ca.key.pem" ]; then
	cat > "$tmp/soon.cnf" <<'CNF'
[req]
prompt = no
distinguished_name = dn
string_mask = nombstr
[dn]
CN = PRONTO VENCE PRUEBA
x500UniqueIdentifier = PRVP900101AB1
serialNumber = PRVP900101HDFRNR01
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = digitalSignature,nonRepudiation,dataEncipherment,keyAgreement
extendedKeyUsage = emailProtection,clientAuth
CNF
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/soon.pem" 2>/dev/null
	openssl req -new -config "$tmp/soon.cnf" -key "$tmp/soon.pem" -out "$tmp/soon.csr" 2>/dev/null
	openssl x509 -req -in "$tmp/soon.csr" -CA "$gen/ca.pem" -CAkey "$gen/ca.key.pem" -days 10 \
		-set_serial 0x3330303031303030303030393939393030303031 -extfile "$tmp/soon.cnf" -extensions ext \
		-outform DER -out "$tmp/soon.cer" 2>/dev/null
	openssl pkcs8 -topk8 -in "$tmp/soon.pem" -v2 des3 -passout env:PIN -outform DER -out "$tmp/soon.key"
	conf "$tmp/soon.conf" "$tmp/soon.cer" "$tmp/soon.key"
	EFIRMA_PKCS11_CONF=$tmp/soon.conf run "$T" list
	check "a certificate expiring in 10 days: WARNING expires in 9 or 10 days" \
		"$( [ $rc = 0 ] && printf '%s' "$out" | grep -Eq 'WARNING:  expires in (9|10) days'; echo $?)" "$out$err"
	check "... with its número from the serial" "$(has "$out" 'número:   30001000000999900001')" "$out"
fi

# ---------------------------------------------------------------- errors
: > "$tmp/empty.conf"
EFIRMA_PKCS11_CONF=$tmp/empty.conf run "$T" list
check "no token configured: exit 3, tells how to add one" \
	"$( [ $rc = 3 ] && printf '%s' "$err" | grep -q 'efirma-tool add'; echo $?)" "$rc $err"
run "$T" list --module "$tmp/nowhere.so"
check "--module to a missing file: exit 3" "$(is "$rc" 3)" "$rc $err"
EFIRMA_TOOL_MODULE=$tmp/nowhere.so run "$T" list
check "EFIRMA_TOOL_MODULE to a missing file: exit 3" "$(is "$rc" 3)" "$rc $err"
EFIRMA_TOOL_MODULE=$tmp/nowhere.so run "$T" --module "$module" list
check "--module wins over EFIRMA_TOOL_MODULE" "$rc" "$err"
cp "$gen/ca.cer" "$tmp/notamodule.so" 2>/dev/null || head -c 100 /dev/urandom > "$tmp/notamodule.so"
run "$T" list --module "$tmp/notamodule.so"
check "--module to a file that is not a library: an error, not a crash" \
	"$( [ $rc = 3 ] || [ $rc = 5 ]; echo $?)" "$rc $err"

tap_done
