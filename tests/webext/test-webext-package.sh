#!/bin/bash
# test-webext-package.sh - the extension as "make webext" packs it, for
# Firefox (.xpi) and Chromium (.zip), checked without a browser: each a
# zip with a valid Manifest V3 manifest.json at its root holding only its
# browser's keys, every file it names packed, the content script only on
# SAT's login pages, the ids the host manifests allow, and every message
# the extension uses present in both locales (es, en).
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
command -v python3 >/dev/null || skip_all "python3 is not installed"
command -v zip >/dev/null || skip_all "zip is not installed (Debian: zip)"
src=$EF_TEST_SRCDIR/tools/webext
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TAP_LOG=$tmp/log

ok "build.sh packs the Firefox .xpi" sh "$src/build.sh" firefox "$src" "$tmp/ff.xpi" efirma@efirma-pkcs11 0.1.0
ok "build.sh packs the Chromium .zip" sh "$src/build.sh" chromium "$src" "$tmp/cr.zip" efirma@efirma-pkcs11 0.1.0

# The checks print "0|NAME|DIAGNOSTIC" (0 = pass), one a line.
python3 - "$tmp/ff.xpi" "$tmp/cr.zip" "$src" > "$tmp/results" <<'PY'
import base64, hashlib, json, re, sys, zipfile
from fnmatch import fnmatchcase

ff_path, cr_path, src = sys.argv[1:]
def check(name, cond, diag=""):
    print("%d|%s|%s" % (0 if cond else 1, name, str(diag).replace("\n", " ")[:300]))

def load(path):
    z = zipfile.ZipFile(path)
    names = set(z.namelist())
    try:
        m = json.loads(z.read("manifest.json").decode("utf-8"))
    except (KeyError, ValueError) as e:
        m = None
        check(path + ": manifest.json at the root, valid JSON", False, e)
    return z, names, m

def match(pattern, url):
    # A WebExtensions match pattern, enough for https hosts and paths.
    scheme, rest = pattern.split("://", 1)
    host, path = rest.split("/", 1)
    uscheme, urest = url.split("://", 1)
    uhost, upath = urest.split("/", 1)
    hostok = host == uhost or (host.startswith("*.") and (uhost == host[2:] or uhost.endswith(host[1:])))
    return scheme == uscheme and hostok and fnmatchcase("/" + upath, "/" + path)

sat_logins = ["https://login.siat.sat.gob.mx/nidp/app/login?id=SATx509Custom",
              "https://cfdiau.sat.gob.mx/nidp/app/login?id=SATx509Custom"]
elsewhere = ["https://www.sat.gob.mx/portal/public/home", "https://example.com/nidp/app/login",
             "https://sat.gob.mx.evil.example/nidp/app/login"]
key = open(src + "/chromium-key.txt").read().strip()
chromium_id = hashlib.sha256(base64.b64decode(key)).hexdigest()[:32].translate(
    str.maketrans("0123456789abcdef", "abcdefghijklmnop"))

used = set()
for browser, path in (("firefox", ff_path), ("chromium", cr_path)):
    z, names, m = load(path)
    if m is None:
        continue
    check(browser + ": manifest.json at the root, Manifest V3", m.get("manifest_version") == 3)
    bg = m.get("background", {})
    if browser == "firefox":
        check("firefox: background.scripts, no service_worker, no key",
              bg.get("scripts") == ["background.js"] and "service_worker" not in bg and "key" not in m, m)
        check("firefox: the fixed gecko id the host manifest allows",
              m.get("browser_specific_settings", {}).get("gecko", {}).get("id") == "efirma@efirma-pkcs11")
    else:
        check("chromium: background.service_worker, no scripts, no gecko settings",
              bg.get("service_worker") == "background.js" and "scripts" not in bg and
              "browser_specific_settings" not in m, m)
        check("chromium: the key whose id (%s) the host manifest allows" % chromium_id,
              m.get("key") == key)
    check(browser + ": nativeMessaging permission", "nativeMessaging" in m.get("permissions", []))
    files = [bg["service_worker"]] if "service_worker" in bg else bg.get("scripts", [])
    files += [m["options_ui"]["page"]]
    cs = m.get("content_scripts", [])
    for c in cs:
        files += c.get("js", [])
    for html in [f for f in names if f.endswith(".html")]:
        text = z.read(html).decode("utf-8")
        files += re.findall(r'(?:src|href)="([^":]+)"', text)
        used |= set(re.findall(r'data-i18n="(\w+)"', text))
    missing = sorted(set(files) - names)
    check(browser + ": every file the manifest and pages name is packed", not missing, missing)
    patterns = [p for c in cs for p in c.get("matches", [])]
    check(browser + ": the content script runs on SAT's login pages",
          all(any(match(p, u) for p in patterns) for u in sat_logins), patterns)
    check(browser + ": ... and nowhere else (no <all_urls>, not SAT's home, not look-alikes)",
          not any(match(p, u) for p in patterns for u in elsewhere) and "<all_urls>" not in patterns, patterns)
    used |= set(re.findall(r"__MSG_(\w+)__", json.dumps(m)))
    for js in [f for f in names if f.endswith(".js")]:
        text = z.read(js).decode("utf-8")
        used |= set(re.findall(r'(?:getMessage|\bt)\(\s*"(\w+)"', text))
        used |= set(re.findall(r':\s*"(err[A-Z]\w*)"', text))
    locales = {}
    for lang in ("es", "en"):
        try:
            locales[lang] = json.loads(z.read("_locales/%s/messages.json" % lang).decode("utf-8"))
        except (KeyError, ValueError) as e:
            locales[lang] = {}
            check(browser + ": _locales/%s/messages.json packed, valid JSON" % lang, False, e)
    check(browser + ": default_locale es", m.get("default_locale") == "es")
    for lang, msgs in locales.items():
        missing = sorted(used - set(msgs))
        check(browser + ": every message used has a text in %s" % lang, not missing and used, missing)
    check(browser + ": es and en have the same messages", set(locales["es"]) == set(locales["en"]),
          set(locales["es"]) ^ set(locales["en"]))
PY
while IFS='|' read -r r name d; do
	check "$name" "$r" "$d"
done < "$tmp/results"
[ -s "$tmp/results" ] || check "the checks ran" 1
tap_done
