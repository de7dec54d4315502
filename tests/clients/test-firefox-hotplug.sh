#!/bin/bash
# test-firefox-hotplug.sh - a running Firefox and an e.firma on a USB stick
# that is plugged in, pulled out and plugged in again (issue 12): the TLS
# client-certificate login works each time the stick is in, without a
# restart, fails cleanly while it is out, and asks the password again
# after it comes back.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Firefox ESR runs headless on a fresh profile whose NSS database has the
# module (configured with a stand-in removable root, see hotplug-lib.sh)
# and no bundle.  The driver, hotplug-login.py, copies the
# bundle in and removes it while Firefox runs, and answers Firefox's own
# password prompt through a prompt factory it registers over Marionette
# (as test-firefox.sh does), counting the prompts.  The client certificate
# is chosen without a dialog (security.default_personal_cert).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tap.sh"
. "$here/clients/lib.sh"
. "$here/clients/hotplug-lib.sh"

cl_require_module
firefox=$(command -v firefox-esr || command -v firefox) || skip_all "firefox-esr is not installed"
nginx=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx) || skip_all "nginx is not installed"
cl_need certutil modutil python3 openssl

cl_one_browser
hp_setup firefox-hotplug || { tap_done; exit; }
prof=$tmp/profile
hp_nssdb "$prof"
cl_firefox_prefs "$prof/user.js"
cat >> "$prof/user.js" <<'PREFS'
// the client certificate is chosen without a dialog
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("security.remember_cert_checkbox_default_setting", false);
PREFS

cl_spawn "$tmp/firefox.log" env EFIRMA_PKCS11_DEBUG=1 HOME="$tmp/home" TMPDIR="$tmp" \
	XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache" \
	MOZ_CRASHREPORTER_DISABLE=1 MOZ_HEADLESS=1 \
	timeout 240 "$firefox" --headless --marionette -remote-allow-system-access \
		--no-remote --new-instance --profile "$prof"
ff_pid=$cl_last_pid
hp_drive firefox --profile "$prof"
i=0; while kill -0 "$ff_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
cl_stop "$ff_pid"

hp_assert Firefox "$tmp/firefox.log"
tap_done
