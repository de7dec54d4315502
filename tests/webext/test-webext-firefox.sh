#!/bin/bash
# test-webext-firefox.sh - Firefox ESR logs in to the replica of SAT's
# e.firma login through the extension, the native host and the module
# (issue 10): a real click on the page's control, the token picked in the
# extension's own window, the password answered in the host's pinentry
# (never in the browser), the form filled and posted as SAT's script would,
# the portal's verifier accepting it; and every refusal on the way.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Firefox runs headless on a fresh profile whose NSS database trusts the
# replica's throw-away server CA; the extension is installed as a temporary
# add-on over Marionette; the host manifest is written into the test's
# HOME by "efirma-tool register firefox", as a user would.  See
# browser-lib.sh for the portal and webext-login.py for the scenario.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"
. "$here/clients/lib.sh"
. "$here/webext/browser-lib.sh"

wx_need
cl_find firefox firefox-esr firefox
cl_one_browser
wx_setup webext-firefox || { tap_done; exit; }

ok "the test build of the extension (.xpi) is packed" wx_extension firefox "$tmp/efirma.xpi"

# the user's profile, where "register firefox" finds it
prof=$wx_home/.mozilla/firefox/efirma.test
mkdir -p "$prof"
ok "certutil makes the profile's NSS database" certutil -N -d "sql:$prof" --empty-password
ok "certutil trusts the replica's server CA" \
	certutil -A -d "sql:$prof" -n "efirma test server CA" -t "C,," -i "$tmp/pki/ca.pem"
cl_firefox_prefs "$prof/user.js"
ok "efirma-tool register firefox: the module in the profile, the host manifest in HOME" \
	wx_register firefox
manifest=$wx_home/.mozilla/native-messaging-hosts/mx.efirma.pkcs11.json
check "the host manifest allows the extension $wx_ext_id" \
	"$(grep -qF "\"$wx_ext_id\"" "$manifest"; echo $?)" "$(cat "$manifest" 2>&1)"

wx_env
cl_firefox_start "$prof" 300 "${wx_browser_env[@]}"
wx_drive "$manifest" firefox --profile "$prof" --xpi "$tmp/efirma.xpi"
cl_firefox_stop

wx_assert Firefox en "$wx_home" "$tmp/firefox.log" "$tmp/driver.log" "$tmp/events" "$tmp/replica.log" \
	"$tmp/nginx/logs"
tap_done
