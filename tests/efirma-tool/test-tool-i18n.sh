#!/bin/bash
# test-tool-i18n.sh - efirma-tool speaks Spanish under an es_* locale
# (gettext, po/es.po) and English otherwise.  The es_MX.UTF-8 locale is
# generated at test time into a temporary folder (no root needed).
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

mo=$builddir/po/locale/es/LC_MESSAGES/efirma-tool.mo
[ -f "$mo" ] || skip_all "the Spanish catalog was not built (msgfmt missing at configure time)"
command -v localedef >/dev/null || skip_all "localedef is not installed"
[ -f /usr/share/i18n/locales/es_MX ] || skip_all "no es_MX locale definition (Debian package 'locales')"
mkdir -p "$tmp/locale"
localedef -i es_MX -f UTF-8 "$tmp/locale/es_MX.UTF-8" >/dev/null 2>&1 ||
	skip_all "localedef could not build es_MX.UTF-8"

# through env: the shell itself must not try to switch to a locale it
# cannot find (LOCPATH is for the tool)
es() { run env LOCPATH="$tmp/locale" LC_ALL=es_MX.UTF-8 EFIRMA_TOOL_LOCALEDIR="$builddir/po/locale" "$@"; }
en() { run env LOCPATH="$tmp/locale" LC_ALL=C.UTF-8 EFIRMA_TOOL_LOCALEDIR="$builddir/po/locale" "$@"; }

es "$T" --help
check "--help in Spanish under es_MX.UTF-8" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q '^Uso: efirma-tool ORDEN' &&
	    printf '%s' "$out" | grep -q '2  contraseña incorrecta'; echo $?)" "$out"
es "$T" sign --help
check "sign --help in Spanish" "$(has "$out" 'deja el documento fuera de la firma')" "$out"
en "$T" --help
check "--help in English under C.UTF-8" "$(has "$out" 'Usage: efirma-tool COMMAND')" "$out"
run env -u LC_ALL LOCPATH="$tmp/locale" LANG=es_MX.UTF-8 EFIRMA_TOOL_LOCALEDIR="$builddir/po/locale" "$T" --help
check "LANG=es_MX.UTF-8 alone is enough" "$(has "$out" 'Uso: efirma-tool')" "$out"

conf "$tmp/c.conf" "$fiel_cer" "$fiel_key" "$old_cer" "$old_key"
export EFIRMA_PKCS11_CONF=$tmp/c.conf
es "$T" list
check "list in Spanish: labels, vigencia, VENCIDO for the 2019 e.firma" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q 'tipo:     e.firma, persona física' &&
	    printf '%s' "$out" | grep -q 'titular:  XOCHILT CASAS CHAVEZ' &&
	    printf '%s' "$out" | grep -q 'vigencia: del 2023-05-09 18:05:49 UTC al 2027-05-08 18:05:49 UTC' &&
	    printf '%s' "$out" | grep -q 'AVISO:    VENCIDO el 2023-06-13 21:58:00 UTC'; echo $?)" "$out"
check "list in Spanish: where the bundle comes from" \
	"$(has "$out" "  origen:   archivo configurado $fiel_cer")" "$out"
sources_conf "$tmp/src.conf"
EFIRMA_PKCS11_CONF=$tmp/src.conf es "$T" list
check "list in Spanish: a folder and a removable volume" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -qxF "  origen:   carpeta $tmp/SAT (${csdm_cer##*/})" &&
	    printf '%s' "$out" | grep -qxF "  origen:   unidad extraíble KINGSTON ($tmp/media/KINGSTON/SAT/${moral_cer##*/})"; echo $?)" "$out"

es env PIN=malaclave1 "$T" check --token CACX7605101P8 --pin-env PIN
check "wrong password in Spanish: exit 2, 'contraseña incorrecta'" \
	"$( [ $rc = 2 ] && printf '%s' "$err" | grep -q 'contraseña incorrecta para e.firma CACX7605101P8'; echo $?)" "$rc $err"
es "$T" check --token CACX7605101P8 --pin-env PIN
check "check OK in Spanish" "$(has "$out" 'Correcto: la contraseña abre la llave')" "$out"
es "$T" info "$fiel_key"
check "info on a .key refused in Spanish" \
	"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'es una llave privada (.key), no un certificado (.cer)'; echo $?)" "$rc $err"
es "$T" check --token CACX7605101P8
check "no terminal, in Spanish" "$(has "$err" 'no hay terminal para pedir la contraseña')" "$err"
es "$T" frobnicate
check "unknown command in Spanish" "$(has "$err" 'orden desconocida')" "$err"
en "$T" info "$fiel_key"
check "the same refusal in English under C.UTF-8" "$(has "$err" 'is a private key (.key)')" "$err"

# The native host's password dialog (pinentry) in Spanish; with an e.firma
# generated at test time, since the host refuses an expired one before the
# dialog (SAT's test e.firma expires on 2027-05-08).
if command -v perl >/dev/null && [ -n "$gen" ]; then
	conf "$tmp/nh.conf" "$gen/efirma.cer" "$gen/efirma.key"
	guid=$(printf '%s' "$(cat /proc/sys/kernel/random/uuid)" | openssl base64 -A)
	echo CANCEL > "$tmp/answers"
	: > "$tmp/pe.log"
	perl "$here/efirma-tool/nh-frame.pl" frame "{\"method\":\"sat-login\",\"token\":\"GENA800101AB1\",\"guid\":\"$guid\",\"origin\":\"https://login.siat.sat.gob.mx\"}" > "$tmp/nh.in"
	env LOCPATH="$tmp/locale" LC_ALL=es_MX.UTF-8 EFIRMA_TOOL_LOCALEDIR="$builddir/po/locale" \
		EFIRMA_PKCS11_CONF="$tmp/nh.conf" EFIRMA_PINENTRY="$here/efirma-tool/pinentry-test.sh" \
		PE_LOG="$tmp/pe.log" PE_ANSWERS="$tmp/answers" "$T" native-host < "$tmp/nh.in" >/dev/null 2>&1
	check "native-host: the password dialog in Spanish, naming the site, the holder and the RFC" \
		"$(grep -qx 'SETDESC https://login.siat.sat.gob.mx le pide iniciar sesión con la e.firma de ANA GENERADA PRUEBA (RFC GENA800101AB1).%0AContraseña de la clave privada:' "$tmp/pe.log" &&
		   grep -qx 'SETPROMPT Contraseña:' "$tmp/pe.log"; echo $?)" "$(cat "$tmp/pe.log")"
fi

tap_done
