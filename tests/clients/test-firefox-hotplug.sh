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

hp_need
cl_find firefox firefox-esr firefox

cl_one_browser
hp_setup firefox-hotplug || { tap_done; exit; }
prof=$tmp/profile
hp_nssdb "$prof"
cl_firefox_prefs "$prof/user.js" select-cert

cl_firefox_start "$prof" 240 env EFIRMA_PKCS11_DEBUG=1 HOME="$tmp/home" TMPDIR="$tmp" \
	XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"
hp_drive firefox --profile "$prof"
cl_firefox_stop

hp_assert Firefox "$tmp/firefox.log"
tap_done
