#!/bin/bash
# gen-bundles.sh OUTDIR - makes the synthetic test bundles at test time.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Everything made here is throw-away test material signed by a throw-away
# CA: certificates and keys in the SAT layout (see doc/DESIGN.md §2),
# plus the broken and converted variants the module must cope with.
# OUTDIR/MANIFEST lists each bundle; it is written last, so its presence
# means the run completed.  Needs the openssl command line (3.0) only.
set -euo pipefail
umask 022

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$out"
rm -f MANIFEST

PASS=12345678a
printf '%s' "$PASS" > password.txt

# Two non-ASCII passwords.  The first is stored as UTF-8 (what a modern
# program writes); the second as its Windows-1252 bytes, as SAT's old
# "Certifica" program did, while the user still types it as UTF-8.
printf 'contrase\303\261a\342\202\2541' > utf8pw.password.txt     # contraseña€1
printf 'A\303\261o2024\303\261!' > cp1252pw.password.utf8.txt      # Año2024ñ! (UTF-8)
printf 'A\361o2024\361!' > cp1252pw.password.cp1252.bin            # the same in CP1252

# ---------------------------------------------------------------- config
# The string table entry makes x500UniqueIdentifier a PrintableString, or
# a T61String holding Latin-1 when the value has characters outside
# PrintableString (Ñ, &), which is how SAT encodes it; OpenSSL would pick
# IA5String or UTF8String on its own.
cat > gen.cnf <<'EOF'
openssl_conf = gen_init
[gen_init]
stbl_section = gen_stbl
[gen_stbl]
x500UniqueIdentifier = mask:PRINTABLESTRING|T61STRING,flags:nomask
name                 = mask:PRINTABLESTRING|T61STRING,flags:nomask

[req]
prompt             = no
utf8               = yes
# leaves: PrintableString, else T61String (Latin-1), never UTF8String
string_mask        = nombstr
distinguished_name = dn_unused
[dn_unused]
CN = unused

[ca_section]
prompt             = no
utf8               = yes
string_mask        = utf8only
distinguished_name = dn_ca
[dn_ca]
CN           = AC GENERADA DE PRUEBAS EFIRMA-PKCS11
O            = PRUEBAS EFIRMA-PKCS11 (SINTETICO)
OU           = Autoridad de pruebas
C            = MX

[ext_ca]
subjectKeyIdentifier = hash
basicConstraints     = critical,CA:TRUE,pathlen:0
keyUsage             = critical,digitalSignature,nonRepudiation,keyCertSign,cRLSign

# the two-level chain (see "chain" below): its root, and its intermediate
# (ext_ca above, issued by the root)
[chainroot_section]
prompt             = no
utf8               = yes
string_mask        = utf8only
distinguished_name = dn_chainroot
[dn_chainroot]
CN           = AC RAIZ EFIRMA-PKCS11
O            = PRUEBAS EFIRMA-PKCS11 (SINTETICO)
OU           = Autoridad raiz de pruebas
C            = MX
[chainca_section]
prompt             = no
utf8               = yes
string_mask        = utf8only
distinguished_name = dn_chainca
[dn_chainca]
CN           = AC INTERMEDIA EFIRMA-PKCS11
O            = PRUEBAS EFIRMA-PKCS11 (SINTETICO)
OU           = Autoridad intermedia de pruebas
C            = MX
[ext_root]
subjectKeyIdentifier = hash
basicConstraints     = critical,CA:TRUE,pathlen:1
keyUsage             = critical,keyCertSign,cRLSign
[ext_inter]
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,digitalSignature,nonRepudiation,keyCertSign,cRLSign

# e.firma leaf: the SAT extension set, without SKI/AKI (SAT leaves have none)
[ext_efirma]
subjectKeyIdentifier   = none
authorityKeyIdentifier = none
basicConstraints       = critical,CA:FALSE
keyUsage               = digitalSignature,nonRepudiation,dataEncipherment,keyAgreement
nsCertType             = client,email
extendedKeyUsage       = emailProtection,clientAuth

# CSD leaf: signing only
[ext_csd]
subjectKeyIdentifier   = none
authorityKeyIdentifier = none
basicConstraints       = critical,CA:FALSE
keyUsage               = digitalSignature,nonRepudiation
EOF
export OPENSSL_CONF="$out/gen.cnf"

# The X.509 serial of a SAT certificate is the ASCII of its 20-digit
# número de certificado, read as one big-endian integer.
serial_of() {
	printf '0x'
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# leaf_dn SECTION CN RFC CURP [OU]: appends a leaf DN section, attributes
# in SAT's order.
leaf_dn() {
	{
		printf '\n[%s]\nprompt = no\nutf8 = yes\nstring_mask = nombstr\n' "$1"
		printf 'distinguished_name = %s_dn\n[%s_dn]\n' "$1" "$1"
		printf 'CN = %s\nname = %s\nO = %s\n' "$2" "$2" "$2"
		if [ -z "${5:-}" ]; then
			printf 'C = MX\nemailAddress = pruebas@efirma-pkcs11.invalid\n'
		fi
		printf 'x500UniqueIdentifier = %s\n' "$3"
		printf 'serialNumber = "%s"\n' "$4"
		if [ -n "${5:-}" ]; then
			printf 'OU = %s\n' "$5"
		fi
	} >> gen.cnf
}

# ------------------------------------------------------------------ CA
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key.pem 2>/dev/null
openssl req -new -x509 -section ca_section -key ca.key.pem -sha256 -days 3650 \
	-set_serial "$(serial_of 00000000000088880001)" -extensions ext_ca \
	-out ca.pem
openssl x509 -in ca.pem -outform DER -out ca.cer

# The two-level chain, shaped as SAT's 2023 one (AC UAT 2022 under the
# root ARC UAT 2022): a root, an intermediate under it, and below that the
# e.firma and the CSD of one holder ("chained" and "chainedcsd").  The
# tests whose result depends on the certificates being valid (TLS client
# login in OpenSSL, GnuTLS, nginx and the browsers; the portal verifier)
# use these instead of SAT's test e.firma, which expires on 2027-05-08:
# these are valid from the day they are made (doc/HACKING.md).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out chain-root.key.pem 2>/dev/null
openssl req -new -x509 -section chainroot_section -key chain-root.key.pem -sha256 -days 3650 \
	-set_serial "$(serial_of 00000000000088880002)" -extensions ext_root \
	-out chain-root.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out chain-ca.key.pem 2>/dev/null
openssl req -new -section chainca_section -key chain-ca.key.pem -out chain-ca.csr
openssl x509 -req -in chain-ca.csr -CA chain-root.pem -CAkey chain-root.key.pem -sha256 \
	-days 3650 -set_serial "$(serial_of 00000000000088880003)" \
	-extfile gen.cnf -extensions ext_inter -out chain-ca.pem 2>/dev/null
rm -f chain-ca.csr
openssl x509 -in chain-root.pem -outform DER -out chain-root.cer
openssl x509 -in chain-ca.pem -outform DER -out chain-ca.cer
cat chain-ca.pem chain-root.pem > chain.pem

# leaf NAME SECTION EXT NUMERO PASSWORD-FILE [CA]: NAME.p8.pem (plain key),
# NAME.cer (DER) and NAME.key (SAT format: DER PBES2, PBKDF2 with the
# default PRF hmacWithSHA1, 2048 iterations, des-ede3-cbc); issued by
# CA.pem (default ca.pem).
leaf() {
	local name=$1 section=$2 ext=$3 numero=$4 pwfile=$5 ca=${6:-ca}
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$name.p8.pem" 2>/dev/null
	openssl req -new -section "$section" -key "$name.p8.pem" -out "$name.csr"
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key.pem" -sha256 \
		-days 1460 -set_serial "$(serial_of "$numero")" \
		-extfile gen.cnf -extensions "$ext" -outform DER -out "$name.cer" 2>/dev/null
	openssl pkcs8 -topk8 -in "$name.p8.pem" -v2 des3 -v2prf hmacWithSHA1 \
		-iter 2048 -passout "file:$pwfile" -outform DER -out "$name.key"
	rm -f "$name.csr"
}

leaf_dn efirma_dn   "ANA GENERADA PRUEBA"         "GENA800101AB1" "GENA800101MDFNRN09"
leaf_dn moral_dn    "GENERADORA ÑANDU & HIJOS SA DE CV" \
	"GEÑ900101AB1 / GENA800101AB1" " / GENA800101MDFNRN09"
leaf_dn csd_dn      "ANA GENERADA PRUEBA"         "GENA800101AB1" "GENA800101MDFNRN09" \
	"Sucursal Generada 1"
leaf_dn pem_dn      "PEDRO PEM PRUEBA"            "PEPP810202CD2" "PEPP810202HDFMRD08"
leaf_dn plain_dn    "PAULA LLANA PRUEBA"          "LAPP820303EF3" "LAPP820303MDFLRL07"
leaf_dn plainder_dn "DIEGO DER PRUEBA"            "DEPD830404GH4" "DEPD830404HDFRRG06"
leaf_dn utf8pw_dn   "ULISES UTF PRUEBA"           "UTPU840505IJ5" "UTPU840505HDFTRL05"
leaf_dn cp1252pw_dn "CARLA CODIGO PRUEBA"         "COPC850606KL6" "COPC850606MDFDRR04"
leaf_dn dira_dn     "DAVID DIRECTORIO PRUEBA"     "DIPD860707MN7" "DIPD860707HDFRRV03"
leaf_dn dirb_dn     "BEATRIZ DIRECTORIO PRUEBA"   "DIPB870808OP8" "DIPB870808MDFRRT02"
leaf_dn chained_dn  "TOMAS CADENA PRUEBA"         "CAPT880909QR9" "CAPT880909HDFDNM01"
leaf_dn chainedcsd_dn "TOMAS CADENA PRUEBA"       "CAPT880909QR9" "CAPT880909HDFDNM01" \
	"Sucursal Cadena 1"

leaf efirma   efirma_dn   ext_efirma 30001000000888800001 password.txt
leaf moral    moral_dn    ext_efirma 30001000000888800002 password.txt
leaf csd      csd_dn      ext_csd    30001000000888800003 password.txt
leaf pem      pem_dn      ext_efirma 30001000000888800004 password.txt
leaf plain    plain_dn    ext_efirma 30001000000888800005 password.txt
leaf plainder plainder_dn ext_efirma 30001000000888800006 password.txt
leaf utf8pw   utf8pw_dn   ext_efirma 30001000000888800007 utf8pw.password.txt
leaf cp1252pw cp1252pw_dn ext_efirma 30001000000888800008 cp1252pw.password.cp1252.bin
leaf dira     dira_dn     ext_efirma 30001000000888800009 password.txt
leaf dirb     dirb_dn     ext_csd    30001000000888800010 password.txt
leaf chained    chained_dn    ext_efirma 30001000000888800011 password.txt chain-ca
leaf chainedcsd chainedcsd_dn ext_csd    30001000000888800012 password.txt chain-ca

# ------------------------------------------------------------- variants
# PEM certificate + PEM encrypted PKCS#8 (same scheme as SAT's, armoured)
openssl x509 -inform DER -in pem.cer -out pem.cer.tmp && mv pem.cer.tmp pem.cer
openssl pkcs8 -topk8 -in pem.p8.pem -v2 des3 -v2prf hmacWithSHA1 -iter 2048 \
	-passout file:password.txt -out pem.key
# unencrypted PKCS#8, PEM ("BEGIN PRIVATE KEY") and DER
cp plain.p8.pem plain.key
openssl pkcs8 -topk8 -nocrypt -in plainder.p8.pem -outform DER -out plainder.key
# wrong pair: efirma's certificate with the CSD's key (same password)
cp efirma.cer wrongpair.cer
cp csd.key wrongpair.key
# truncated files, each next to an intact partner
head -c 700 efirma.cer > truncated-cer.cer
cp efirma.key truncated-cer.key
cp efirma.cer truncated-key.cer
head -c 600 efirma.key > truncated-key.key
# garbage and empty files
openssl rand -out garbage.cer 1493
openssl rand -out garbage.key 1298
: > empty.cer
: > empty.key
# a directory to scan: dira pairs by name; dirb's files are named as SAT's
# portal names them, so the module must try the key at login.
mkdir -p dir
cp dira.cer dir/DIPD860707MN7.cer
cp dira.key dir/DIPD860707MN7.key
cp dirb.cer dir/00001000000888800010.cer
cp dirb.key dir/Claveprivada_FIEL_DIPB870808OP8_20250101_120000.key

# the unencrypted keys are no longer needed (plain/plainder ship theirs)
rm -f ./*.p8.pem

# ------------------------------------------------------------ self-check
# Every key that should work must open with its password and match its
# certificate; a broken generator must fail here, not in a module test.
spki_of_cert() {
	openssl x509 -inform "$2" -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform DER | od -An -tx1 | tr -d ' \n'
}
spki_of_key() {
	openssl pkey -in "$1" -inform "$2" ${3:+-passin "file:$3"} -pubout -outform DER |
		od -An -tx1 | tr -d ' \n'
}
check_pair() {  # CERT CERTFORM KEY KEYFORM [PASSWORD-FILE]
	if [ "$(spki_of_cert "$1" "$2")" != "$(spki_of_key "$3" "$4" "${5:-}")" ]; then
		echo "gen-bundles.sh: self-check failed for $1 / $3" >&2
		exit 1
	fi
}
for n in efirma moral csd dira dirb chained chainedcsd; do
	check_pair "$n.cer" DER "$n.key" DER password.txt
done
check_pair pem.cer PEM pem.key PEM password.txt
check_pair plain.cer DER plain.key PEM
check_pair plainder.cer DER plainder.key DER
check_pair utf8pw.cer DER utf8pw.key DER utf8pw.password.txt
check_pair cp1252pw.cer DER cp1252pw.key DER cp1252pw.password.cp1252.bin
if openssl pkey -inform DER -in cp1252pw.key -passin file:cp1252pw.password.utf8.txt \
	-noout 2>/dev/null; then
	echo "gen-bundles.sh: cp1252pw.key opens with the UTF-8 password" >&2
	exit 1
fi
if [ "$(spki_of_cert wrongpair.cer DER)" = "$(spki_of_key wrongpair.key DER password.txt)" ]; then
	echo "gen-bundles.sh: wrongpair is a pair" >&2
	exit 1
fi

# -------------------------------------------------------------- MANIFEST
cat > MANIFEST.tmp <<'EOF'
# MANIFEST - test bundles made by tests/gen-bundles.sh (synthetic, throw-away)
#
# CA: ca.cer (DER), ca.pem (PEM), ca.key.pem; "AC GENERADA DE PRUEBAS
# EFIRMA-PKCS11", RSA-2048, signs every leaf below.  Leaves are RSA-2048,
# sha256WithRSAEncryption, valid 1460 days from today, serial = ASCII of the
# número, RFC in x500UniqueIdentifier, CURP in serialNumber, no SKI/AKI.
# SAT-format key: DER EncryptedPrivateKeyInfo, PBES2 / PBKDF2 (hmacWithSHA1,
# 2048 iterations, 8-byte random salt) / des-ede3-cbc.
# password.txt = 12345678a (no newline).
#
# Tab-separated columns:
# name  cert  key  password-file  kind  numero  rfc  expect  description
#   kind:   efirma | csd | - (not a certificate)
#   expect: ok          - the token appears and login with the password works
#           login-fails - the token appears, login cannot succeed
#           no-token    - the slot has no token (unreadable certificate)
EOF
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> MANIFEST.tmp; }
row efirma efirma.cer efirma.key password.txt efirma 30001000000888800001 GENA800101AB1 ok \
	"e.firma, persona fisica ANA GENERADA PRUEBA, DER .cer + SAT-format .key"
row moral moral.cer moral.key password.txt efirma 30001000000888800002 "GEÑ900101AB1 / GENA800101AB1" ok \
	"e.firma, persona moral; RFC/name with Ñ and & as T61String (Latin-1); CURP ' / GENA800101MDFNRN09'"
row csd csd.cer csd.key password.txt csd 30001000000888800003 GENA800101AB1 ok \
	"CSD of ANA GENERADA PRUEBA, OU=Sucursal Generada 1, keyUsage digitalSignature+nonRepudiation only"
row pem pem.cer pem.key password.txt efirma 30001000000888800004 PEPP810202CD2 ok \
	"PEM certificate + PEM encrypted PKCS#8 key (BEGIN ENCRYPTED PRIVATE KEY, same scheme)"
row plain plain.cer plain.key - efirma 30001000000888800005 LAPP820303EF3 ok \
	"unencrypted PKCS#8 PEM key (BEGIN PRIVATE KEY): nothing to decrypt, the PIN is not checked"
row plainder plainder.cer plainder.key - efirma 30001000000888800006 DEPD830404GH4 ok \
	"unencrypted PKCS#8 DER key: nothing to decrypt, the PIN is not checked"
row utf8pw utf8pw.cer utf8pw.key utf8pw.password.txt efirma 30001000000888800007 UTPU840505IJ5 ok \
	"key encrypted with the UTF-8 bytes of 'contraseña€1'"
row cp1252pw cp1252pw.cer cp1252pw.key cp1252pw.password.utf8.txt efirma 30001000000888800008 COPC850606KL6 ok \
	"key encrypted with the Windows-1252 bytes of 'Año2024ñ!' (cp1252pw.password.cp1252.bin); the PIN is typed as UTF-8 and must work through the CP1252 retry"
row wrongpair wrongpair.cer wrongpair.key password.txt efirma 30001000000888800001 GENA800101AB1 login-fails \
	"efirma.cer with csd.key: the key decrypts but does not match the certificate"
row truncated-cer truncated-cer.cer truncated-cer.key password.txt - - - no-token \
	"efirma.cer cut to 700 bytes, intact efirma.key"
row truncated-key truncated-key.cer truncated-key.key password.txt efirma 30001000000888800001 GENA800101AB1 login-fails \
	"intact efirma.cer, efirma.key cut to 600 bytes"
row garbage garbage.cer garbage.key password.txt - - - no-token \
	"random bytes in both files"
row empty empty.cer empty.key password.txt - - - no-token \
	"two empty files"
row dira dir/DIPD860707MN7.cer dir/DIPD860707MN7.key password.txt efirma 30001000000888800009 DIPD860707MN7 ok \
	"in dir/: e.firma whose .cer and .key share a base name"
row dirb dir/00001000000888800010.cer dir/Claveprivada_FIEL_DIPB870808OP8_20250101_120000.key password.txt csd 30001000000888800010 DIPB870808OP8 ok \
	"in dir/: CSD whose names do not tell the pair (key found by trying at login)"
cat >> MANIFEST.tmp <<'EOF'
#
# The two-level chain (not rows above, to keep the table's sets as they
# are): chain-root.{cer,pem} (root "AC RAIZ EFIRMA-PKCS11"), chain-ca.{cer,pem}
# (intermediate "AC INTERMEDIA EFIRMA-PKCS11" issued by the root), chain.pem
# (intermediate then root, as SAT's chain-2023 file), and under the
# intermediate: chained.{cer,key} (e.firma, TOMAS CADENA PRUEBA,
# CAPT880909QR9, número 30001000000888800011) and chainedcsd.{cer,key}
# (his CSD, OU=Sucursal Cadena 1, número 30001000000888800012), password.txt.
# Root and intermediate valid 3650 days, leaves 1460 days, from today.
#
# Also here: dira.*, dirb.* (the originals of dir/), gen.cnf (the OpenSSL
# configuration used), utf8pw.password.txt (UTF-8, no newline),
# cp1252pw.password.utf8.txt and cp1252pw.password.cp1252.bin.
EOF
mv MANIFEST.tmp MANIFEST
echo "$out/MANIFEST"
