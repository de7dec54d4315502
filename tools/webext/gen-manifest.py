#!/usr/bin/env python3
# gen-manifest.py - the extension's manifest.json for one browser, from the
# one template (manifest.in.json):
#   gen-manifest.py firefox|chromium TEMPLATE KEYFILE GECKO_ID VERSION [MATCH]
# Firefox runs the background as an event page (background.scripts) and
# knows the extension by its gecko id; Chromium runs it as a service worker
# (background.service_worker) and derives the id from "key".  Each browser
# gets only its own keys, so neither warns about the other's.  MATCH, for
# the tests' build only: one more match pattern for the content script (and
# its host permission), the replica portal's origin.
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import sys

browser, template, keyfile, gecko_id, version = sys.argv[1:6]
extra = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
with open(template, encoding="utf-8") as f:
    text = f.read()
with open(keyfile, encoding="ascii") as f:
    key = f.read().strip()
text = (text.replace("@VERSION@", version).replace("@GECKO_ID@", gecko_id)
        .replace("@CHROMIUM_KEY@", key))
m = json.loads(text)
if extra:
    m["host_permissions"].append(extra)
    m["content_scripts"][0]["matches"].append(extra)
if browser == "firefox":
    del m["key"]
    del m["background"]["service_worker"]
elif browser == "chromium":
    del m["browser_specific_settings"]
    del m["background"]["scripts"]
else:
    sys.exit("gen-manifest.py: firefox or chromium, not " + browser)
json.dump(m, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
