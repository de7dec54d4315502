#!/usr/bin/env python3
# firefox-login.py - drives a running Firefox (Marionette) through an
# e.firma TLS client-certificate login, for test-firefox.sh.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: firefox-login.py PROFILE OUTDIR TOKEN-LABEL PIN-FILE NAME=URL...
#
# Writes what it sees into OUTDIR, one fact per line in OUTDIR/facts
# ("key value"), the text of each page in OUTDIR/page-NAME.txt (or the
# error in OUTDIR/page-NAME.err) and a screenshot in OUTDIR/page-NAME.png.
# The shell test makes the assertions; this script only observes, so a
# failure here is reported as a fact and never hides the others.
#
# The password: Firefox asks for a token's password through the prompt
# service; marionette.py's Prompter answers it (a prompt factory registered
# for the life of this Firefox) with the password read from PIN-FILE
# (passed as a script argument, never printed), once: a further prompt is
# cancelled so a wrong password cannot loop.  Then
# nsIPKCS11Token.login(false) logs in exactly as the Security Devices
# dialog's "Log In" button does.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marionette import Facts, Marionette, MarionetteError, Prompter  # noqa: E402

facts = Facts()
fact = facts.add


# The user certificates and CA certificates NSS sees on the token, and
# whether the token is logged in.  Runs before the login.
LIST_CERTS = r"""
const [label] = arguments;
const certdb = Cc["@mozilla.org/security/x509certdb;1"].getService(Ci.nsIX509CertDB);
const out = {certs: [], token: null};
for (const c of certdb.getCerts()) {
  if (c.tokenName !== label) continue;
  out.certs.push({cn: c.commonName, subject: c.subjectName,
                  type: c.certType === Ci.nsIX509Cert.USER_CERT ? "user" :
                        c.certType === Ci.nsIX509Cert.CA_CERT ? "ca" : String(c.certType)});
}
return (async () => {
  const moddb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  for (const m of await moddb.listModules())
    for (const s of m.slots)
      if (s.tokenName === label)
        out.token = {module: m.name, loggedIn: s.getToken().isLoggedIn};
  return out;
})();
"""

# Verifies the token's user certificate for TLS client use at the current
# time, as the certificate viewer does (arguments as pippki.sys.mjs passes
# them in Firefox ESR 153: cert, usage, flags, hostname, time, SCTs,
# callback): NSS builds the chain from what it can find (the intermediate exists
# only on the token; the root is trusted in the profile's own database).
VERIFY_CHAIN = r"""
const [label, resolve] = arguments;
const certdb = Cc["@mozilla.org/security/x509certdb;1"].getService(Ci.nsIX509CertDB);
const cert = certdb.getCerts().find(c => c.tokenName === label &&
                                         c.certType === Ci.nsIX509Cert.USER_CERT);
if (!cert) { resolve({error: "no user certificate on the token"}); return; }
certdb.asyncVerifyCertAtTime(cert, Ci.nsIX509CertDB.verifyUsageTLSClient,
  Ci.nsIX509CertDB.FLAG_LOCAL_ONLY, null, Math.floor(Date.now() / 1000), [],
  (prErrorCode, verifiedChain) => {
    resolve({code: prErrorCode,
             chain: (verifiedChain || []).map(c => ({cn: c.commonName, token: c.tokenName}))});
  });
"""

# Logs in to the token; the password prompt goes to the Prompter.
LOGIN = r"""
const [label] = arguments;
return (async () => {
  const moddb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  let token = null;
  for (const m of await moddb.listModules())
    for (const s of m.slots)
      if (s.tokenName === label) token = s.getToken();
  if (!token) return {error: "token not found"};
  let error = null;
  try { token.login(false); } catch (e) { error = String(e); }
  return {loggedIn: token.isLoggedIn, error: error};
})();
"""

PAGE_TEXT = "return document.body ? document.body.textContent : '';"


def main():
    if len(sys.argv) < 6:
        sys.stderr.write(__doc__ or "usage: PROFILE OUTDIR TOKEN PIN-FILE NAME=URL...\n")
        return 2
    profile, outdir, label, pin_file = sys.argv[1:5]
    urls = [a.split("=", 1) for a in sys.argv[5:]]
    with open(pin_file, "rb") as f:
        pin = f.read().decode("utf-8").strip()

    def start():
        m = Marionette.connect_profile(profile, deadline_s=40.0, timeout=30.0)
        m.new_session({"acceptInsecureCerts": False})
        m.set_timeouts(script_ms=20000, page_load_ms=20000)
        return m

    def scenario(m):
        nonlocal pin
        m.set_context("chrome")
        r = m.execute(LIST_CERTS, [label])
        tok = r.get("token") or {}
        fact("token_module", tok.get("module", "none"))
        fact("logged_in_before", int(bool(tok.get("loggedIn"))))
        for c in r.get("certs", []):
            fact("cert_before_login", "%s %s" % (c["type"], c["subject"]))

        r = m.execute_async(VERIFY_CHAIN, [label])
        if "error" in r:
            fact("chain_error", r["error"])
        else:
            fact("chain_code", r["code"])
            for i, c in enumerate(r["chain"]):
                fact("chain_%d" % i, "%s | %s" % (c["token"], c["cn"]))

        prompter = Prompter(m, pin)
        pin = None
        before = prompter.allow(1)
        r = m.execute(LOGIN, [label])
        fact("login_prompts", prompter.asked() - before)
        fact("logged_in_after", int(bool(r.get("loggedIn"))))
        if r.get("error"):
            fact("login_error", r["error"])

        for name, url in urls:
            m.set_context("content")
            try:
                m.navigate(url)
                text = m.execute(PAGE_TEXT)
                with open(os.path.join(outdir, "page-%s.txt" % name), "w") as f:
                    f.write(text or "")
                fact("page_" + name, "loaded")
            except MarionetteError as e:
                with open(os.path.join(outdir, "page-%s.err" % name), "w") as f:
                    f.write(str(e) + "\n")
                fact("page_" + name, "error")
            try:
                with open(os.path.join(outdir, "page-%s.png" % name), "wb") as f:
                    f.write(m.screenshot_png())
            except (MarionetteError, OSError) as e:
                fact("screenshot_" + name, "error %s" % e)

    facts.run(outdir, start, scenario,
              (MarionetteError, OSError, ValueError, KeyError, TypeError),
              started=("marionette", "connected"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
