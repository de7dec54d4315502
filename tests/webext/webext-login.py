#!/usr/bin/env python3
# webext-login.py - drives a real browser through the extension's login to
# the replica portal, for test-webext-firefox.sh and test-webext-chromium.sh.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: webext-login.py firefox --profile DIR --xpi FILE  OPTIONS
#        webext-login.py chromium --ext-dir DIR OPTIONS -- CHROMIUM-COMMAND...
# OPTIONS: --outdir --portal --unlisted --answers --pin-file --events
#          --pe-log --locales
#
# The same scenario in both browsers, through the same user actions: a
# real (trusted) click on the page's control, clicks in the extension's
# chooser window; the password is typed into no browser: the host's test
# pinentry answers from --answers, which this script rewrites before each
# login.  It only observes: one fact per line in OUTDIR/facts ("key
# value"), texts mapped back to the message key of _locales that produced
# them (so the checks hold in Spanish and in English); the shell test makes
# the assertions.
#
# Firefox: the extension installed as a temporary add-on over Marionette
# (tests/clients/marionette.py), whose element clicks are trusted input.
# Chromium: the DevTools protocol over --remote-debugging-pipe (fd 3 in,
# fd 4 out, JSON messages ended by NUL), clicks as Input.dispatchMouseEvent.

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
from marionette import Facts, Marionette, MarionetteError  # noqa: E402

CONTROL = ".efirma-webext-login"
facts = Facts()
fact = facts.add


class DriverError(Exception):
    pass


def wait_for(what, probe, seconds=20.0, step=0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = probe()
        if v:
            return v
        time.sleep(step)
    raise DriverError("timed out waiting for " + what)


# ------------------------------------------------------------------ Firefox
class Firefox:
    ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

    def __init__(self, args):
        self.m = Marionette.connect_profile(args.profile, deadline_s=60.0, timeout=60.0)
        self.m.new_session({"acceptInsecureCerts": False})
        self.m.set_timeouts(script_ms=30000, page_load_ms=30000)
        r = self.m.command("Addon:Install", {"path": os.path.abspath(args.xpi),
                                             "temporary": True})
        fact("addon", r.get("value") if isinstance(r, dict) else r)
        self.main = self.m.command("WebDriver:GetWindowHandle")["value"]
        self.seen = {self.main}       # windows that are not a new chooser

    def windows(self):
        r = self.m.command("WebDriver:GetWindowHandles")
        return r.get("value", r) if isinstance(r, dict) else r

    def navigate(self, url):
        self.m.set_context("content")
        self.m.navigate(url)

    def js(self, script, args=None):
        return self.m.execute(script, args)

    def click(self, css):
        found = self.m.command("WebDriver:FindElement", {"using": "css selector", "value": css})
        el = found.get("value", found)
        self.m.command("WebDriver:ElementClick", {"id": el[self.ELEMENT]})

    def new_window(self, seconds):
        try:
            w = wait_for("the chooser window",
                         lambda: next((w for w in self.windows() if w not in self.seen), None),
                         seconds)
            self.seen.add(w)
            return w
        except DriverError:
            return None

    def switch(self, handle, focus=True):
        self.m.command("WebDriver:SwitchToWindow", {"handle": handle, "focus": focus})

    def close_window(self, handle):
        if handle in self.windows():
            self.switch(handle)
            self.m.command("WebDriver:CloseWindow")
        self.switch(self.main)

    def back_to_page(self):
        # without raising the window: the login is still on its way
        self.switch(self.main, focus=False)

    def quit(self):
        self.m.quit()


# ----------------------------------------------------------------- Chromium
class Chromium:
    def __init__(self, args):
        to_browser = os.pipe()
        from_browser = os.pipe()

        def child_fds():
            os.dup2(to_browser[0], 3)
            os.dup2(from_browser[1], 4)

        self.proc = subprocess.Popen(args.command, preexec_fn=child_fds, pass_fds=(3, 4),
                                     stdin=subprocess.DEVNULL)
        os.close(to_browser[0])
        os.close(from_browser[1])
        self.wfd, self.rfd = to_browser[1], from_browser[0]
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.cmd("Target.setDiscoverTargets", {"discover": True})
        page = wait_for("a page", lambda: next(
            (t for t in self.cmd("Target.getTargets")["targetInfos"] if t["type"] == "page"),
            None), 30)
        self.page = self.attach(page["targetId"])
        self.session = self.page
        self.main_target = page["targetId"]
        self.ext_dir = args.ext_dir

    def _read(self, timeout):
        import select
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.rfd], [], [], timeout)
            if not ready:
                raise DriverError("Chromium did not answer")
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise DriverError("Chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg.decode("utf-8"))

    def cmd(self, method, params=None, session=None, timeout=60.0):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.wfd, json.dumps(msg).encode("utf-8") + b"\0")
        while True:
            r = self._read(timeout)
            if r.get("id") == self.next_id:
                if "error" in r:
                    raise DriverError("%s: %s" % (method, r["error"].get("message")))
                return r.get("result", {})
            if "method" in r:
                self.events.append(r)

    def attach(self, target):
        return self.cmd("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def js(self, script, args=None):
        # the Marionette convention: a function body that returns a value
        body = "(function(){%s}).apply(null, %s)" % (script, json.dumps(args or []))
        r = self.cmd("Runtime.evaluate", {"expression": body, "returnByValue": True,
                                          "awaitPromise": True}, self.session)
        if "exceptionDetails" in r:
            raise DriverError("script: %s" % r["exceptionDetails"].get("text"))
        return r.get("result", {}).get("value")

    def navigate(self, url):
        self.session = self.page
        self.cmd("Page.navigate", {"url": url}, self.page)
        wait_for("the page " + url, lambda: self.js(
            "return document.readyState === 'complete' && location.href === arguments[0]",
            [url]), 30)

    def click(self, css):
        rect = self.js("const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                       "return [r.left + r.width / 2, r.top + r.height / 2];", [css])
        for kind in ("mousePressed", "mouseReleased"):
            self.cmd("Input.dispatchMouseEvent", {"type": kind, "x": rect[0], "y": rect[1],
                                                  "button": "left", "clickCount": 1},
                     self.session)

    def targets(self):
        return self.cmd("Target.getTargets")["targetInfos"]

    def new_window(self, seconds):
        try:
            t = wait_for("the chooser window", lambda: next(
                (t for t in self.targets() if t["type"] == "page" and "chooser.html" in t["url"]),
                None), seconds, 0.2)
        except DriverError:
            return None
        return t["targetId"]

    def switch(self, target):
        self.session = self.attach(target)

    def close_window(self, target):
        if any(t["targetId"] == target for t in self.targets()):
            self.cmd("Target.closeTarget", {"targetId": target})
        self.session = self.page

    def back_to_page(self):
        self.session = self.page

    def quit(self):
        try:
            self.cmd("Browser.close", timeout=10)
        except (DriverError, OSError):
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ----------------------------------------------------------------- scenario
class Messages:
    """Maps a text back to the _locales message (es or en) that made it."""

    def __init__(self, locales):
        self.pats = []
        for lang in ("es", "en"):
            with open(os.path.join(locales, lang, "messages.json"), encoding="utf-8") as f:
                for key, m in json.load(f).items():
                    rx = re.escape(m["message"]).replace(re.escape("$ARG$"), "(.*)")
                    self.pats.append((key, lang, re.compile("^" + rx + "$", re.S)))

    def key(self, text, with_lang=False):
        for key, lang, rx in self.pats:
            m = rx.match(text or "")
            if m:
                return (lang + " " if with_lang else "") + key + "".join("|" + g for g in m.groups())
        return "?" + (text or "")


CHOOSER_STATE = r"""
const $ = (id) => document.getElementById(id);
const err = $("error");
return {
  origin: $("origin") ? $("origin").textContent : "",
  tokens: Array.from(document.querySelectorAll("#tokens li")).map((li) => {
    const b = li.querySelector("button"), v = li.querySelector(".validity");
    return [b.disabled ? "disabled" : "enabled", b.textContent, v ? v.textContent : ""];
  }),
  error: err && !err.hidden ? err.textContent : null,
};
"""


def posts(events):
    with open(events, encoding="utf-8") as f:
        return sum(1 for line in f if '"event": "post"' in line)


def dialogs(pe_log):
    with open(pe_log, encoding="utf-8") as f:
        return sum(1 for line in f if line.startswith("GETPIN"))


def chooser(b, msgs, seconds=20.0, tokens=True):
    """Waits for the chooser and (tokens) its token list; returns its
    handle."""
    w = b.new_window(seconds)
    if w is None:
        raise DriverError("no chooser window")
    b.switch(w)
    if tokens:
        wait_for("the token list",
                 lambda: ((b.js(CHOOSER_STATE) or {}).get("tokens") or None), 20)
    return w


def pick(b, rfc_type, force=False):
    """Clicks the token whose text starts with the RFC and whose validity
    line is of rfc_type ("e.firma" or "CSD"); force enables it first."""
    script = r"""
const [rfc, csd, force] = arguments;
for (const li of document.querySelectorAll("#tokens li")) {
  const b = li.querySelector("button"), v = li.querySelector(".validity").textContent;
  if (!b.textContent.startsWith(rfc) || v.startsWith("CSD") !== csd) continue;
  if (force) b.disabled = false;
  const t = Date.now();
  b.click();
  return t;
}
return 0;
"""
    rfc, kind = rfc_type
    clicked = b.js(script, [rfc, kind == "CSD", force])
    if not clicked:
        raise DriverError("no %s token %s in the chooser" % (kind, rfc))
    return clicked / 1000.0     # the moment of the click, by the page's clock


def error_of(b, msgs):
    text = wait_for("the chooser's message", lambda: (b.js(CHOOSER_STATE) or {}).get("error"), 60)
    return msgs.key(text)


def answers(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(x + "\n" for x in lines))


def failed_login(b, a, msgs, name, lines, token, force=False):
    """A login that must end in the chooser's error message; token None:
    the chooser fails before it lists any."""
    answers(a.answers, lines)
    b.navigate(a.portal)
    wait_for("the control", lambda: b.js("return !!document.querySelector(arguments[0])",
                                         [CONTROL]), 15)
    b.click(CONTROL)
    w = chooser(b, msgs, tokens=token is not None)
    if token is not None:
        pick(b, token, force)
    fact("error_" + name, error_of(b, msgs))
    b.close_window(w)


def scenario(b, a):
    msgs = Messages(a.locales)
    # an origin on no list: the same page, no control
    b.navigate(a.unlisted)
    time.sleep(1.5)
    fact("unlisted_control", int(bool(b.js("return !!document.querySelector(arguments[0])",
                                            [CONTROL]))))

    # the portal: the control; a click the page itself makes does nothing
    b.navigate(a.portal)
    text = wait_for("the control", lambda: b.js(
        "const c = document.querySelector(arguments[0]); return c && c.textContent;",
        [CONTROL]), 15)
    fact("control_text", msgs.key(text))
    fact("control_lang", msgs.key(text, True).split(" ")[0])
    before = dialogs(a.pe_log)
    b.js("document.querySelector(arguments[0]).click();", [CONTROL])
    fact("forged_chooser", int(b.new_window(3.0) is not None))
    fact("forged_dialogs", dialogs(a.pe_log) - before)

    # the chooser: origin, tokens; then cancel
    answers(a.answers, ["CANCEL"])
    b.click(CONTROL)
    w = chooser(b, msgs)
    st = b.js(CHOOSER_STATE)
    fact("chooser_origin", msgs.key(st["origin"]))
    for state, label, validity in st["tokens"]:
        fact("chooser_tokens", "%s %s (%s)" % (state, label, msgs.key(validity)))
    pick(b, (a.rfc, "e.firma"))
    fact("error_cancel", error_of(b, msgs))
    b.close_window(w)

    failed_login(b, a, msgs, "wrong", ["bad1", "bad2", "bad3"], (a.rfc, "e.firma"))
    # the chooser does not offer the CSD or the expired e.firma; enabled by
    # hand, the host refuses them
    failed_login(b, a, msgs, "csd", [], (a.rfc, "CSD"), force=True)
    failed_login(b, a, msgs, "expired", [], ("IAÑL750210963", "e.firma"), force=True)
    # the host not installed: its manifest gone
    os.rename(a.host_manifest, a.host_manifest + ".away")
    try:
        failed_login(b, a, msgs, "nohost", [], None)
    finally:
        os.rename(a.host_manifest + ".away", a.host_manifest)
    fact("posts_before_login", posts(a.events))

    # the login
    with open(a.pin_file, encoding="utf-8") as f:
        answers(a.answers, [f.read().strip()])
    b.navigate(a.portal)
    wait_for("the control", lambda: b.js("return !!document.querySelector(arguments[0])",
                                         [CONTROL]), 15)
    b.click(CONTROL)
    chooser(b, msgs)
    t0 = pick(b, (a.rfc, "e.firma"))
    b.back_to_page()
    rfc = wait_for("the portal's welcome page", lambda: b.js(
        "const e = document.getElementById('rfc'); return e && e.textContent;"), 60, 0.05)
    fact("final_rfc", rfc)
    with open(a.events, encoding="utf-8") as f:
        post = [json.loads(x) for x in f if '"event": "post"' in x]
    if post:
        fact("click_t", "%.6f" % t0)
        fact("post_t", "%.6f" % post[-1]["t"])
        fact("click_to_post_ms", int((post[-1]["t"] - t0) * 1000))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("browser", choices=["firefox", "chromium"])
    for opt in ("outdir", "portal", "unlisted", "answers", "pin-file", "events", "pe-log",
                "locales", "host-manifest"):
        p.add_argument("--" + opt, required=True)
    # the RFC of the e.firma and the CSD the chooser lists (tests/webext/
    # browser-lib.sh: a bundle generated at test time)
    p.add_argument("--rfc", required=True)
    p.add_argument("--profile")
    p.add_argument("--xpi")
    p.add_argument("--ext-dir")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:cut])
    a.command = argv[cut + 1:]
    facts.run(a.outdir, lambda: (Firefox if a.browser == "firefox" else Chromium)(a),
              lambda b: scenario(b, a),
              (DriverError, MarionetteError, OSError, ValueError, KeyError, TypeError))
    return 0


if __name__ == "__main__":
    sys.exit(main())
