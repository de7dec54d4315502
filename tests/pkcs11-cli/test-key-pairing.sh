#!/bin/bash
# test-key-pairing.sh - how a [directory] pairs certificates with keys.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# SAT names the .cer after the número de certificado and the .key after the
# RFC ("Claveprivada_FIEL_RFC_date.key"): the names do not pair, so the
# module tries the unclaimed keys at login, those carrying the
# certificate's RFC first.  Checked with the real pkcs11-tool and the
# module's trace (EFIRMA_PKCS11_DEBUG), which names each key it tries.
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
command -v pkcs11-tool >/dev/null || skip_all "pkcs11-tool is not installed"
mod=${EF_TEST_MODULE:?}
sat=$EF_TEST_DATA/sat
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME=$tmp/xdg

dir=$tmp/fiel
mkdir -p "$dir"
cp "$sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.cer" "$dir/00001000000500003282.cer"
cp "$sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.key" \
	"$dir/Claveprivada_FIEL_CACX7605101P8_20230509_114423.key"
# Another person's key with the same password sorts first by name.
cp "$sat/fiel-pf-FUNK671228PH6-2023/FUNK671228PH6_fiel.key" "$dir/Aaa_otra.key"
printf '[directory]\npath = %s\n' "$dir" > "$tmp/conf"
export EFIRMA_PKCS11_CONF=$tmp/conf

p11() { pkcs11-tool --module "$mod" --token-label "e.firma CACX7605101P8" "$@"; }

out=$(EFIRMA_PKCS11_DEBUG=1 p11 --login --pin 12345678a -O 2>&1)
check "login pairs the SAT-named key with the número-named certificate" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
first=$(grep 'trying this key' <<<"$out" | head -n 1)
check "the key carrying the certificate's RFC is tried first" \
	"$(grep -q 'Claveprivada_FIEL_CACX7605101P8' <<<"$first"; echo $?)" "$first"
check "the other person's key is never opened" \
	"$(grep -q 'Aaa_otra.key' <<<"$out"; echo $((!$?)))" "$out"

# With only someone else's key beside it, login fails, and the module says
# why on the trace; a bundle never logs in with a key that is not its own.
rm "$dir/Claveprivada_FIEL_CACX7605101P8_20230509_114423.key"
out=$(EFIRMA_PKCS11_DEBUG=1 p11 --login --pin 12345678a -O 2>&1)
check "another person's key is refused" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $((!$?)))" "$out"
check "... and the trace says it belongs to another certificate" \
	"$(grep -q 'belongs to another certificate' <<<"$out"; echo $?)" "$out"
out=$(p11 --login --pin 12345678a -O 2>&1)
check "... without a warning when the trace is off" \
	"$(grep -q 'does not belong' <<<"$out"; echo $((!$?)))" "$out"

# Only the keys that carry the RFC are candidates; when none of them is the
# certificate's (here the same person's CSD key, and the e.firma key
# renamed by hand), the folder's other unclaimed keys are tried: the right
# password is never answered with "wrong password".
rm -f "$dir"/*
cp "$sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.cer" "$dir/00001000000500003282.cer"
cp "$sat/csd-pf-CACX7605101P8-2023/CACX7605101P8_csd.key" "$dir/CSD_CACX7605101P8_sucursal.key"
cp "$sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.key" "$dir/mi_llave_nueva.key"
out=$(EFIRMA_PKCS11_DEBUG=1 p11 --login --pin 12345678a -O 2>&1)
check "a renamed key is found after the RFC-named ones fail" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
tried=$(grep 'trying this key' <<<"$out")
check "... the RFC-named key was tried first" \
	"$(head -n 1 <<<"$tried" | grep -q 'CSD_CACX7605101P8_sucursal'; echo $?)" "$tried"
out=$(p11 --login --pin wrong-password -O 2>&1)
check "... and a wrong password is still CKR_PIN_INCORRECT" \
	"$(grep -q 'CKR_PIN_INCORRECT' <<<"$out"; echo $?)" "$out"

# The names pair: CACX7605101P8_fiel.cer with CACX7605101P8_fiel.key, and
# no other key is tried.
rm -f "$dir"/*
cp "$sat/fiel-pf-FUNK671228PH6-2023/FUNK671228PH6_fiel.key" "$dir/Aaa_otra.key"
cp "$sat/fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel."{cer,key} "$dir/"
out=$(EFIRMA_PKCS11_DEBUG=1 p11 --login --pin 12345678a -O 2>&1)
check "a key with the certificate's name pairs by name" \
	"$(grep -q 'Private Key Object' <<<"$out"; echo $?)" "$out"
check "... and is the only key tried" \
	"$(test "$(grep -c 'trying this key' <<<"$out")" = 1; echo $?)" "$out"
tap_done
