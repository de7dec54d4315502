#!/bin/bash
# test-tool-config.sh - "add" and "remove": the user's configuration file,
# checked through the module before anything is written.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tool-lib.sh"

unset EFIRMA_PKCS11_CONF
cf=$HOME/.config/efirma-pkcs11/efirma-pkcs11.conf
nbundles() { local n; n=$(grep -c '^\[bundle\]' "$cf" 2>/dev/null); echo "${n:-0}"; }

run "$T" add "$fiel_cer" "$fiel_key" --pin-env PIN
check "add e.firma: exit 0, names the file" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -qF "added e.firma CACX7605101P8" &&
	    printf '%s' "$out" | grep -qF "$cf"; echo $?)" "$rc $out $err"
check "the file has one [bundle] with the absolute paths" \
	"$( [ "$(nbundles)" = 1 ] && grep -qF "cert = \"$(realpath "$fiel_cer")\"" "$cf" &&
	    grep -qF "key = \"$(realpath "$fiel_key")\"" "$cf"; echo $?)" "$(cat "$cf" 2>&1)"
check "the file is private (0600)" "$(is "$(stat -c %a "$cf")" 600)"
run "$T" list
check "the module reads it: list shows the token (no EFIRMA_PKCS11_CONF)" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q '^e.firma CACX7605101P8$'; echo $?)" "$rc $out $err"
run "$T" check --pin-env PIN
check "check works on the added token" "$rc" "$err"

# keep a comment of the user's across edits
sed -i '1i # mis firmas' "$cf"
run "$T" add "$fiel_cer" "$fiel_key" --pin-env PIN --label "Mi e.firma"
check "adding the same certificate again replaces it (one entry, new label)" \
	"$( [ $rc = 0 ] && [ "$(nbundles)" = 1 ] && grep -q 'label = "Mi e.firma"' "$cf"; echo $?)" "$(cat "$cf")"
run "$T" list
check "list shows the label" "$(has "$out" 'Mi e.firma')" "$out"
check "the user's comment is kept" "$(grep -q '^# mis firmas' "$cf"; echo $?)"

run "$T" add "$csdm_cer" "$csdm_key" --pin-env PIN
check "add a CSD (persona moral): exit 0, two entries" "$( [ $rc = 0 ] && [ "$(nbundles)" = 2 ]; echo $?)" "$err"

# ------------------------------------------------------------ refused
cp "$cf" "$tmp/before.conf"
if [ -n "$gen" ]; then
	run "$T" add "$gen/wrongpair.cer" "$gen/wrongpair.key" --pin-env PIN
	check "a key of another certificate: refused (4), says so" \
		"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'it is the key of another certificate'; echo $?)" "$rc $err"
	run "$T" add "$gen/efirma.cer" "$gen/garbage.key" --pin-env PIN
	check "a garbage key: refused (4), not a private key" \
		"$( [ $rc = 4 ] && printf '%s' "$err" | grep -q 'is not a private key file'; echo $?)" "$rc $err"
	run "$T" add "$gen/garbage.cer" "$gen/efirma.key" --pin-env PIN
	check "a garbage certificate: refused (4)" "$(is "$rc" 4)" "$rc $err"
fi
run "$T" add "$fiel_cer" "$csd_key" --pin-env PIN
check "the CSD's key with the e.firma's certificate (same person): refused (4)" "$(is "$rc" 4)" "$rc $err"
PIN=wrongpass1 run "$T" add "$moral_cer" "$moral_key" --pin-env PIN
check "wrong password: exit 2, 'wrong password'" \
	"$( [ $rc = 2 ] && printf '%s' "$err" | grep -q 'wrong password'; echo $?)" "$rc $err"
run "$T" add "$fiel_key" "$fiel_key" --pin-env PIN
check "a .key given as the certificate: refused (4)" "$(is "$rc" 4)" "$rc $err"
run "$T" add "$tmp/missing.cer" "$fiel_key" --pin-env PIN
check "a missing certificate: exit 3" "$(is "$rc" 3)" "$rc $err"
run "$T" add "$moral_cer" "$moral_key"
check "no password and no terminal: exit 1" "$(is "$rc" 1)" "$rc $err"
check "nothing refused changed the file" "$(cmp -s "$cf" "$tmp/before.conf"; echo $?)"

# ------------------------------------------------------------ remove
run "$T" remove EKU9003173C9
check "remove by RFC: exit 0, one entry left" "$( [ $rc = 0 ] && [ "$(nbundles)" = 1 ]; echo $?)" "$rc $err"
run "$T" remove EKU9003173C9
check "remove again: nothing matches, exit 3" "$(is "$rc" 3)" "$rc $err"
run "$T" remove "Mi e.firma"
check "remove by label: exit 0, none left" "$( [ $rc = 0 ] && [ "$(nbundles)" = 0 ]; echo $?)" "$rc $err"
check "the comment survives removals" "$(grep -q '^# mis firmas' "$cf"; echo $?)"
run "$T" add "$moral_cer" "$moral_key" --pin-env PIN
run "$T" remove "$moral_cer"
check "remove by certificate path" "$( [ $rc = 0 ] && [ "$(nbundles)" = 0 ]; echo $?)" "$rc $err"
run "$T" add "$moral_cer" "$moral_key" --pin-env PIN
run "$T" remove 30001000000500003415
check "remove by número" "$( [ $rc = 0 ] && [ "$(nbundles)" = 0 ]; echo $?)" "$rc $err"

# XDG_CONFIG_HOME and EFIRMA_PKCS11_CONF pick the file, as in the module
XDG_CONFIG_HOME=$tmp/xdg run "$T" add "$fiel_cer" "$fiel_key" --pin-env PIN
check "XDG_CONFIG_HOME: the file goes there" "$( [ $rc = 0 ] && [ -f "$tmp/xdg/efirma-pkcs11/efirma-pkcs11.conf" ]; echo $?)" "$err"
EFIRMA_PKCS11_CONF=$tmp/named.conf run "$T" add "$fiel_cer" "$fiel_key" --pin-env PIN
check "EFIRMA_PKCS11_CONF: the file it names" "$( [ $rc = 0 ] && grep -q '^\[bundle\]' "$tmp/named.conf"; echo $?)" "$err"

# ------------------------------------------- the module's syntax, no other
# The tool reads the file with the module's parser (module/config.c): what
# the module takes for a bundle, and for its certificate, is what add
# replaces and remove removes.  Its own copy of the grammar read
# "[ bundle ]" as no bundle, kept a tab and comment in the path, and took
# the first of two cert = lines where the module takes the last.
sf=$tmp/syntax.conf
fc=$(realpath "$fiel_cer")
mc=$(realpath "$moral_cer")
printf '# mine\n[ bundle ]\ncert = %s\t# a tab, then a comment\nkey = %s\n' \
	"$fc" "$(realpath "$fiel_key")" > "$sf"
EFIRMA_PKCS11_CONF=$sf run "$T" list
check "syntax: the module reads '[ bundle ]' and a comment after a tab" \
	"$( [ $rc = 0 ] && printf '%s' "$out" | grep -q '^e.firma CACX7605101P8$'; echo $?)" "$rc $out $err"
EFIRMA_PKCS11_CONF=$sf run "$T" add "$fiel_cer" "$fiel_key" --pin-env PIN
check "syntax: add replaces that entry (one bundle left, the comment kept)" \
	"$( [ $rc = 0 ] && [ "$(grep -c 'bundle' "$sf")" = 1 ] && grep -q '^# mine' "$sf"; echo $?)" \
	"$rc $err $(cat "$sf")"
printf '[ bundle ]\ncert = %s\t# a tab, then a comment\nkey = k.key\n' "$fc" > "$sf"
EFIRMA_PKCS11_CONF=$sf run "$T" remove "$fiel_cer"
check "syntax: remove finds a '[ bundle ]' entry by its certificate's path" \
	"$( [ $rc = 0 ] && ! grep -q 'bundle' "$sf"; echo $?)" "$rc $err $(cat "$sf")"
printf '[bundle]\ncert = %s\ncert = %s\nkey = k.key\n' "$fc" "$mc" > "$sf"
EFIRMA_PKCS11_CONF=$sf run "$T" remove "$fiel_cer"
check "syntax: cert given twice: the first names no entry (exit 3), as for the module" \
	"$(is "$rc" 3)" "$rc $err"
EFIRMA_PKCS11_CONF=$sf run "$T" remove "$moral_cer"
check "syntax: ... the last one does" "$( [ $rc = 0 ] && ! grep -q 'bundle' "$sf"; echo $?)" "$rc $err"
printf '[bundle]\ncert = "%s" and more\nkey = k.key\n' "$fc" > "$sf"
EFIRMA_PKCS11_CONF=$sf run "$T" remove "$fiel_cer"
check "syntax: a cert = line the module ignores (text after the quotes) names nothing (exit 3)" \
	"$(is "$rc" 3)" "$rc $err"

# ------------------------------------------------- hostile certificate
# A CN that would write "[bundle] cert=/e.cer key=/e.key" lines and a
# colour escape; paths with a double quote and a backslash.
hd="$tmp/dir \"q\" \\x"
if hostile_bundle "$hd"; then
	mkdir -p "$tmp/plain"
	cp "$hd/h.cer" "$hd/h.key" "$tmp/plain/"
	EFIRMA_PKCS11_CONF=$tmp/plain.conf run "$T" add "$tmp/plain/h.cer" "$tmp/plain/h.key" --pin-env PIN
	check "add a certificate whose CN forges lines: exit 0, one [bundle], no 'cert=/e.cer' line" \
		"$( [ $rc = 0 ] && [ "$(grep -c '^\[bundle\]' "$tmp/plain.conf")" = 1 ] &&
		    ! grep -q '^cert=/e.cer\|^key=/e.key' "$tmp/plain.conf"; echo $?)" "$rc $err $(cat "$tmp/plain.conf")"
	hf=$tmp/hostile.conf
	EFIRMA_PKCS11_CONF=$hf run "$T" add "$hd/h.cer" "$hd/h.key" --pin-env PIN --label 'say "hi" \ #1'
	check "add a certificate with a hostile CN and quotes in paths and label: exit 0" "$rc" "$out $err"
	check "... one [bundle], the CN forges no line" \
		"$( [ "$(grep -c '^\[bundle\]' "$hf")" = 1 ] && ! grep -q '^cert=/e.cer\|^key=/e.key' "$hf"; echo $?)" "$(cat "$hf")"
	check "... no raw control character in the file" "$(raw_controls "$hf"; [ $? = 1 ]; echo $?)" "$(cat -A "$hf")"
	check "... the paths and label are written escaped" \
		"$(grep -qF 'cert = "'"$tmp"'/dir \"q\" \\x/h.cer"' "$hf" && grep -qF 'label = "say \"hi\" \\ #1"' "$hf"; echo $?)" "$(cat "$hf")"
	EFIRMA_PKCS11_CONF=$hf run "$T" list
	printf '%s' "$out" > "$tmp/list.out"
	check "the module reads it back: one token, the escaped label" \
		"$( [ $rc = 0 ] && [ "$(grep -c 'holder:' "$tmp/list.out")" = 1 ] && grep -qF 'say "hi" \\ #1' "$tmp/list.out"; echo $?)" "$rc $out $err"
	check "list: the holder's ESC and line breaks are shown escaped" \
		"$(raw_controls "$tmp/list.out"; r=$?; [ $r = 1 ] && grep -qF 'holder:   X"#]\n[bundle]\ncert=/e.cer\nkey=/e.key\n\x1b[31mR' "$tmp/list.out"; echo $?)" "$out"
	run "$T" info "$hd/h.cer"
	printf '%s' "$out" > "$tmp/info.out"
	check "info: no raw control character, no forged line" \
		"$(raw_controls "$tmp/info.out"; r=$?; [ $r = 1 ] && ! grep -q '^cert=' "$tmp/info.out"; echo $?)" "$out"
	run "$T" info "$hd/h.cer" --json
	printf '%s' "$out" > "$tmp/info.json"
	check "info --json: the holder in JSON escapes, no raw ESC" \
		"$(raw_controls "$tmp/info.json"; r=$?; [ $r = 1 ] && grep -qF '"holder": "X\"#]\u000a[bundle]\u000acert=/e.cer\u000akey=/e.key\u000a\u001b[31mR",' "$tmp/info.json"; echo $?)" "$out"
else
	check "openssl made the hostile certificate" 1
fi

tap_done
