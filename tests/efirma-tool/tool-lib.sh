# tool-lib.sh - shared setup of the efirma-tool tests (sourced).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sets: T (efirma-tool), V (efirma-portal-verify), module, sat, gen, tmp
# (removed at exit), PIN (exported), bundle paths; helpers below.
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"

module=${EF_TEST_MODULE:-}
builddir=${EF_TEST_BUILDDIR:-}
sat=${EF_TEST_DATA:-$here/data}/sat
gen=${EF_TEST_GEN:-}
[ -n "$module" ] && [ -n "$builddir" ] || skip_all "EF_TEST_MODULE/EF_TEST_BUILDDIR not set (run through make check)"
[ -f "$module" ] || skip_all "module not built: $module"
T=$builddir/tools/efirma-tool
V=$builddir/tools/efirma-portal-verify
[ -x "$T" ] && [ -x "$V" ] || skip_all "efirma-tool not built"
command -v openssl >/dev/null || skip_all "openssl is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/efirma-tooltest.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
TAP_LOG=$tmp/cmd.log

# English, whatever the caller's locale; the tool loads the build tree's
# module and never the user's configuration.
export LC_ALL=C.UTF-8 LANGUAGE=
unset LANG EFIRMA_PKCS11_DEBUG EFIRMA_TOOL_LOCALEDIR XDG_CONFIG_HOME
export EFIRMA_TOOL_MODULE=$module
export HOME=$tmp/home
mkdir -p "$HOME"
export PIN=12345678a

fiel=$sat/fiel-pf-CACX7605101P8-2023
fiel_cer=$fiel/CACX7605101P8_fiel.cer fiel_key=$fiel/CACX7605101P8_fiel.key
fiel_numero=30001000000500003282
csd=$sat/csd-pf-CACX7605101P8-2023
csd_cer=$csd/CACX7605101P8_csd.cer csd_key=$csd/CACX7605101P8_csd.key
moral=$sat/fiel-pm-EKU9003173C9-2023
moral_cer=$moral/EKU9003173C9_fiel.cer moral_key=$moral/EKU9003173C9_fiel.key
csdm=$sat/csd-pm-EKU9003173C9-2023
csdm_cer=$csdm/EKU9003173C9_csd.cer csdm_key=$csdm/EKU9003173C9_csd.key
old=$sat/fiel-pf-IANL750210963-2019-expired
old_cer=$old/IANL750210963_fiel.cer old_key=$old/IANL750210963_fiel.key
oldm=$sat/fiel-pm-HAN930228SM9-2019-expired
oldm_cer=$oldm/HAN930228SM9_fiel.cer oldm_key=$oldm/HAN930228SM9_fiel.key
ca_dir=$sat/ca
# SAT's 2023 test certificates are valid from May 2023 to May 2027: a
# check of their validity is made at this fixed time (2025-01-01 00:00:00
# UTC), never at the real one, so the tests hold after they expire.  What
# depends on the real clock uses the bundles made at test time ($gen).
sat_at=1735689600
chain2023=$ca_dir/chain-2023-AC_UAT_2022+ARC_UAT_2022.pem
chain2019=$ca_dir/chain-2019-AC_4096_2018+arcbeta.pem

# conf FILE CERT KEY [CERT KEY]...: one [bundle] per pair
conf() {
	local f=$1; shift
	: > "$f"
	while [ $# -ge 2 ]; do
		printf '[bundle]\ncert = %s\nkey = %s\n\n' "$1" "$2" >> "$f"
		shift 2
	done
}

# sources_conf FILE: a bundle of each source that scans: the CSD moral in
# a [directory] folder $tmp/SAT (~/SAT, where SAT's download lands), the
# e.firma moral on a removable volume KINGSTON/SAT under $tmp/media (a
# folder standing in for /media/$USER)
sources_conf() {
	mkdir -p "$tmp/SAT" "$tmp/media/KINGSTON/SAT"
	cp "$csdm_cer" "$csdm_key" "$tmp/SAT/"
	cp "$moral_cer" "$moral_key" "$tmp/media/KINGSTON/SAT/"
	printf '[directory]\npath = %s\n\n[removable]\nroot = %s\n' "$tmp/SAT" "$tmp/media" > "$1"
}

# run CMD...: runs it with stdin from /dev/null and without a controlling
# terminal (a password prompt must fail, not hang); sets $out (stdout),
# $err (stderr) and $rc.
run() {
	setsid -w "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
# has TEXT PATTERN / hasnt: 0 when the fixed string is (not) in the text
has() { printf '%s\n' "$1" | grep -qF -- "$2"; echo $?; }
hasnt() { if printf '%s\n' "$1" | grep -qF -- "$2"; then echo 1; else echo 0; fi; }
# is A B: 0 when equal
is() { [ "$1" = "$2" ]; echo $?; }
pubkey_of() { openssl x509 -inform DER -in "$1" -noout -pubkey; }

# hostile_bundle DIR: DIR/h.cer (self-signed, SAT-looking: it carries an
# RFC) and DIR/h.key (SAT format, password $PIN), whose CN holds a double
# quote, '#', ']', line breaks forging config lines, and an ESC sequence.
hostile_bundle() {
	local d=$1 esc
	esc=$(printf '\033')
	mkdir -p "$d"
	# OpenSSL's config reads \n as a line break in an unquoted value.
	cat > "$d/h.cnf" <<HCNF
[req]
prompt = no
utf8 = yes
string_mask = utf8only
distinguished_name = dn
[dn]
CN = X\\"\\#]\\n[bundle]\\ncert=/e.cer\\nkey=/e.key\\n${esc}[31mR
x500UniqueIdentifier = XAXX010101000
serialNumber = XAXX010101HDFXXX01
HCNF
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/h.p8.pem" 2>/dev/null &&
	OPENSSL_CONF=/dev/null openssl req -new -x509 -config "$d/h.cnf" -key "$d/h.p8.pem" \
		-days 30 -set_serial 0x3330303031303030303030353030303039393939 \
		-outform DER -out "$d/h.cer" 2>/dev/null &&
	openssl pkcs8 -topk8 -in "$d/h.p8.pem" -v2 des3 -v2prf hmacWithSHA1 -iter 2048 \
		-passout "pass:$PIN" -outform DER -out "$d/h.key"
}
# raw_controls FILE: 0 when FILE holds an ESC, DEL or C1-in-UTF-8 byte
raw_controls() { LC_ALL=C grep -q "$(printf '[\033\177]\|\302[\200-\237]')" "$1"; }
