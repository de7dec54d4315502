#!/bin/bash
# demo.sh - the main job end to end: build the module, then sign a file
# with the SAT test e.firma through it and let OpenSSL verify the signature
# against the certificate.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

step() { printf '\n=== %s\n' "$*"; }

step "setup (tests/setup-debian.sh)"
bash tests/setup-debian.sh

step "build"
if [ ! -f Makefile ]; then
	./autogen.sh >/dev/null
	./configure >/dev/null
fi
make -j2 >/dev/null
module=$top/module/.libs/efirma-pkcs11.so
[ -f "$module" ] || { echo "demo.sh: $module was not built" >&2; exit 1; }
echo "module: $module"

bundle=$top/tests/data/sat/fiel-pf-CACX7605101P8-2023
cer=$bundle/CACX7605101P8_fiel.cer
key=$bundle/CACX7605101P8_fiel.key
pin=12345678a            # the published password of SAT's test bundles

work=$(mktemp -d "${TMPDIR:-/tmp}/efirma-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/efirma-pkcs11.conf" <<CONF
# one SAT bundle: the e.firma of SAT's test taxpayer XOCHILT CASAS CHAVEZ
[bundle]
cert = $cer
key = $key

# SAT's test CAs, so the token also shows the chain of this certificate
[ca]
path = $top/tests/data/sat/ca
CONF
export EFIRMA_PKCS11_CONF=$work/efirma-pkcs11.conf
echo "configuration ($EFIRMA_PKCS11_CONF):"
sed 's/^/    /' "$EFIRMA_PKCS11_CONF"

p11() { pkcs11-tool --module "$module" "$@"; }

step "pkcs11-tool -L: the bundle as a token"
p11 -L

step "pkcs11-tool -O: its public objects"
p11 -O

step "pkcs11-tool --login -O: after login the private key appears too"
p11 --login --pin "$pin" -O |
	awk '/^Private Key Object/ { on = 1; print; next } /^[^ ]/ { on = 0 } on'

printf 'Contrato de prueba firmado con la e.firma de pruebas del SAT.\nFecha: %s\n' \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$work/documento.txt"
step "sign documento.txt: pkcs11-tool --sign -m SHA256-RSA-PKCS --login"
cat "$work/documento.txt"
p11 --login --pin "$pin" --sign -m SHA256-RSA-PKCS \
	-i "$work/documento.txt" -o "$work/documento.sig"
echo "signature ($(wc -c < "$work/documento.sig") bytes):"
od -An -tx1 "$work/documento.sig" | head -n 4
echo "    ..."

step "verify with OpenSSL against the public key in the .cer"
openssl x509 -inform DER -in "$cer" -noout -subject -serial -nameopt multiline,utf8,-esc_msb
openssl x509 -inform DER -in "$cer" -noout -pubkey > "$work/pub.pem"
result=$(openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/documento.sig" \
	"$work/documento.txt" 2>&1 || true)
echo "$result"
[ "$result" = "Verified OK" ]

# The portal login: the reference verifier issues a challenge, efirma-tool
# answers it with the e.firma through the module, the verifier checks the
# signature, the chain to SAT's test CA, the validity and the kind.
# SAT's test e.firma is valid from 2023-05-09 to 2027-05-08: the verifier
# checks its validity at a fixed date inside that span (--at), so the demo
# gives the same result on any date; signing itself does not depend on it.
valid_at=1735689600      # 2025-01-01 00:00:00 UTC
tool=$top/tools/efirma-tool
portal=$top/tools/efirma-portal-verify
export EFIRMA_TOOL_MODULE=$module
step "efirma-tool list: the token as a person sees it"
"$tool" list

step "log in to the reference portal (tools/efirma-portal-verify) with the e.firma"
if ! openssl x509 -inform DER -in "$cer" -noout -checkend 0 >/dev/null; then
	echo "note: SAT's test e.firma expired on $(date -u -d "$(openssl x509 -inform DER -in "$cer" \
		-noout -enddate | cut -d= -f2)" +%Y-%m-%d); a real portal would refuse it today."
fi
echo "the portal checks the certificate's validity as of $(date -u -d "@$valid_at" '+%Y-%m-%d %H:%M:%S UTC')"
echo "(--at: a date SAT's test e.firma was valid, so this step works on any date)"
challenge=$("$portal" challenge --state "$work/portal.state")
echo "the portal's challenge: $challenge"
token=$(PIN=$pin "$tool" login-token --challenge "$challenge" --pin-env PIN)
echo "efirma-tool login-token: ${token:0:64}..."
"$portal" verify --state "$work/portal.state" --cert "$cer" \
	--ca "$top/tests/data/sat/ca" --token "$token" --at "$valid_at"
echo
echo "demo.sh: the document was signed through efirma-pkcs11 and the signature verifies;"
echo "demo.sh: the e.firma logged in to the reference portal through efirma-tool"
echo "demo.sh: (the portal checked its validity as of $(date -u -d "@$valid_at" +%Y-%m-%d))."
