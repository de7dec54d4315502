#!/bin/bash
# test-webext-chromium.sh - Chromium logs in to the replica of SAT's e.firma
# login through the extension, the native host and the module (issue 10):
# the same scenario and the same assertions as test-webext-firefox.sh.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Chromium runs headless (as root it needs --no-sandbox) with the unpacked
# test build of the extension (--load-extension; its id comes from the
# manifest's key, the one the host manifest allows) and in Spanish
# (LANGUAGE, LC_ALL; Firefox runs in English), driven over the DevTools
# protocol on a pipe.  It trusts the replica's server CA through the NSS
# database in HOME (~/.pki/nssdb), as on a user's machine; the host
# manifest is written by "efirma-tool register chromium" under
# XDG_CONFIG_HOME, where Chromium looks for it: in the NativeMessagingHosts
# folder of its user data folder, so the test uses the default one
# ($XDG_CONFIG_HOME/chromium), as a user does.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"
. "$here/clients/lib.sh"
. "$here/webext/browser-lib.sh"

wx_need
cl_find chromium chromium chromium-browser
cl_one_browser
wx_setup webext-chromium || { tap_done; exit; }

ok "the test build of the extension (.zip) is packed" wx_extension chromium "$tmp/efirma.zip"
ok "unzip the extension for --load-extension" unzip -q "$tmp/efirma.zip" -d "$tmp/ext"
nssdb=$wx_home/.pki/nssdb
mkdir -p "$nssdb"
ok "certutil makes the user's NSS database (where register chromium adds the module)" certutil -N -d "sql:$nssdb" --empty-password
ok "certutil trusts the replica's server CA" \
	certutil -A -d "sql:$nssdb" -n "efirma test server CA" -t "C,," -i "$tmp/pki/ca.pem"

ok "efirma-tool register chromium writes the host manifest under XDG_CONFIG_HOME" \
	wx_register chromium
manifest=$wx_home/.config/chromium/NativeMessagingHosts/mx.efirma.pkcs11.json
check "the host manifest allows the extension chrome-extension://$wx_ext_id/" \
	"$(grep -qF "\"chrome-extension://$wx_ext_id/\"" "$manifest"; echo $?)" "$(cat "$manifest" 2>&1)"


wx_env
# Chromium on Linux takes its language from the environment, not --lang
wx_drive "$manifest" chromium --ext-dir "$tmp/ext" -- "${wx_browser_env[@]}" LANGUAGE=es_MX LC_ALL=es_MX.UTF-8 \
	timeout 300 "$chromium" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
	--remote-debugging-pipe --user-data-dir="$wx_home/.config/chromium" \
	--load-extension="$tmp/ext" --disable-extensions-except="$tmp/ext" \
	--no-first-run --no-default-browser-check --disable-background-networking \
	--disable-component-update --disable-sync --disable-quic \
	--enable-logging=stderr --v=0 about:blank

wx_assert Chromium es "$wx_home" "$tmp/driver.log" "$tmp/events" \
	"$tmp/replica.log" "$tmp/nginx/logs"
tap_done
