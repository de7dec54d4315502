#!/usr/bin/env python3
# hotplug-login.py - a running browser, a USB stick that comes and goes: the
# driver of test-firefox-hotplug.sh and test-chromium-hotplug.sh (issue 12).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: hotplug-login.py firefox --profile DIR  OPTIONS
#        hotplug-login.py chromium --probe COMMAND OPTIONS -- CHROMIUM-COMMAND...
# OPTIONS: --outdir DIR --url URL --volume DIR --cer FILE --key FILE
#          --label TOKEN-LABEL --pin-file FILE
#
# The browser starts with the module and no bundle.  Then, without
# restarting it: the bundle is copied into --volume (a folder under the
# module's removable root: the stick plugged in), the page is opened (the
# TLS client-certificate login); the folder is removed (the stick pulled
# out), the page is opened again; the bundle is copied back, the page is
# opened a third time.  Each opening asks for a URL of its own (?step=N):
# no cache.  The server closes every connection after one answer
# (keepalive_timeout 0) and keeps no TLS sessions, so every opening is a
# full handshake.
#
# Like firefox-login.py it only observes: facts in OUTDIR/facts ("key
# value"), each page's text in OUTDIR/page-N.txt or its error in
# OUTDIR/page-N.err; the shell test makes the assertions.
#
# The password, as in test-firefox.sh: marionette.py's Prompter, a prompt
# factory registered over Marionette, answers Firefox's own token password
# prompt (here the one the TLS handshake raises); it counts every prompt
# and answers only as many as the driver allows before each step (a wrong
# answer cannot loop).
#
# Chromium (test-chromium-hotplug.sh): the DevTools protocol on a pipe, as
# in webext-login.py, loads the pages.  Chromium asks the token's password
# in a native dialog of its own (CryptoModulePasswordDialogView) that the
# DevTools protocol cannot reach (in headless mode nothing can: UI DevTools'
# DOM.dispatchKeyEvent answers "Dispatch key events is not enabled.").  So
# Chromium runs with a window on a virtual X server (Xvfb) and the password
# is typed as a user types it: xdotool finds the dialog, a new top-level
# window of the browser's process, gives it the keyboard and types the
# password and Return (XTEST: real key events, not synthetic ones Chromium
# would ignore).  Every new window counts as a prompt, whatever its title
# says in whatever language; one beyond the budget is closed with Escape.
# Chromium has no API that lists tokens: whether the module sees the stick
# is asked of the module in another process (--probe, efirma-tool list:
# the same configuration, the same files), so each step waits for the
# files to be there or gone, not for a guess of a delay.

import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import time
import types

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from marionette import Facts, Marionette, MarionetteError, Prompter  # noqa: E402


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# firefox-login.py's token listing and page text; webext-login.py's
# Chromium over the DevTools protocol
ffl = load("firefox_login", os.path.join(here, "firefox-login.py"))
wxl = load("webext_login", os.path.join(here, "..", "webext", "webext-login.py"))

facts = Facts()
fact = facts.add


class DriverError(Exception):
    pass


class Firefox:
    def __init__(self, a):
        self.m = Marionette.connect_profile(a.profile, deadline_s=60.0, timeout=60.0)
        self.m.new_session({"acceptInsecureCerts": False})
        self.m.set_timeouts(script_ms=20000, page_load_ms=30000)
        with open(a.pin_file, encoding="utf-8") as f:
            self.prompter = Prompter(self.m, f.read().strip())

    def token(self, label):
        """None, or (logged in, user certificate subjects) of the token."""
        self.m.set_context("chrome")
        r = self.m.execute(ffl.LIST_CERTS, [label])
        if not r.get("token"):
            return None
        return (bool(r["token"].get("loggedIn")),
                [c["subject"] for c in r.get("certs", []) if c["type"] == "user"])

    def arm(self, answers):
        return self.prompter.allow(answers)

    def asked(self):
        return self.prompter.asked()

    def open(self, url):
        """(page text, None) or (None, error)."""
        self.m.set_context("content")
        try:
            self.m.navigate(url)
            return self.m.execute(ffl.PAGE_TEXT), None
        except MarionetteError as e:
            return None, str(e)

    def alive(self):
        self.m.set_context("chrome")
        return self.m.execute("return Services.appinfo.name;")

    def quit(self):
        self.m.quit()


class Chromium(wxl.Chromium):
    """Chromium on a pipe (webext-login.py's), its password dialog typed into
    with xdotool on the X server of $DISPLAY."""

    def __init__(self, a):
        a.ext_dir = None
        super().__init__(a)
        with open(a.pin_file, encoding="utf-8") as f:
            self.pin = f.read().strip()
        self.probe_cmd = a.probe
        self.asked_n = 0
        self.budget = 0
        self.titles = []
        # the browser's own windows, there before any prompt
        self.known = set(wait(lambda: self.windows(), 30)[0] or [])
        time.sleep(1)
        self.known |= set(self.windows())
        fact("chromium_windows_at_start", len(self.known))

    def windows(self):
        # the X server is Chromium's alone: every mapped window with a name
        # is one of its (the password dialog has a name but no WM_CLASS)
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "."],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return [w for w in r.stdout.split() if w]

    def xdo(self, *args):
        subprocess.run(["xdotool"] + list(args), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=20)

    def answer_prompts(self):
        """A new window is a prompt: typed into while the budget lasts."""
        for w in self.windows():
            if w in self.known:
                continue
            self.known.add(w)
            self.asked_n += 1
            r = subprocess.run(["xdotool", "getwindowname", w], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            self.titles.append(r.stdout.strip())
            # let the dialog draw and take its focus before the keys come
            time.sleep(0.5)
            # no window manager: the focus is given, not asked for;
            # the keys go to the focused window (not --window: those are
            # synthetic events)
            self.xdo("windowfocus", w)
            time.sleep(0.2)
            if self.budget > 0:
                self.budget -= 1
                self.xdo("type", "--delay", "30", self.pin)
                self.xdo("key", "Return")
            else:
                self.xdo("key", "Escape")

    def send(self, method, params, session):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params, "sessionId": session}
        os.write(self.wfd, json.dumps(msg).encode("utf-8") + b"\0")
        return self.next_id

    def poll(self, timeout):
        """One message, or None after timeout seconds."""
        if b"\0" not in self.buf:
            ready, _, _ = select.select([self.rfd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise DriverError("Chromium closed the pipe")
            self.buf += chunk
            if b"\0" not in self.buf:
                return None
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg.decode("utf-8"))

    def token(self, label):
        # (logged in: unknown, certificates: unknown) when the module sees it
        r = subprocess.run(self.probe_cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        return (None, []) if r.returncode == 0 else None

    def arm(self, answers):
        self.budget = answers
        return self.asked_n

    def asked(self):
        # a prompt may come just after the page: look once more
        time.sleep(0.3)
        self.answer_prompts()
        return self.asked_n

    def open(self, url):
        """(page text, None) or (None, error); prompts answered meanwhile."""
        want = self.send("Page.navigate", {"url": url}, self.page)
        end = time.monotonic() + 60
        res = None
        while res is None:
            if time.monotonic() > end:
                return None, "no answer to Page.navigate"
            self.answer_prompts()
            m = self.poll(0.2)
            if m and m.get("id") == want:
                if "error" in m:
                    return None, m["error"].get("message")
                res = m.get("result", {})
        if res.get("errorText"):
            return None, res["errorText"]
        try:
            wxl.wait_for("the page", lambda: self.js(
                "return document.readyState === 'complete' && location.href === arguments[0]",
                [url]), 30)
            return self.js("return document.body ? document.body.innerText : '';"), None
        except wxl.DriverError as e:
            return None, str(e)

    def alive(self):
        return self.cmd("Browser.getVersion").get("product")


def wait(probe, seconds, step=0.05):
    """(value, seconds waited) once probe() is true; (None, seconds)."""
    t0 = time.monotonic()
    while True:
        v = probe()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 > seconds:
            return None, time.monotonic() - t0
        time.sleep(step)


def plug(a):
    os.makedirs(a.volume, exist_ok=True)
    # as a file manager copies: the certificate, then the key
    shutil.copy(a.cer, a.volume)
    shutil.copy(a.key, a.volume)


def unplug(a):
    # the stick's folder: the volume is everything under the root's entry
    shutil.rmtree(os.path.dirname(a.volume.rstrip("/")))


def step(b, a, n, answers):
    before = b.arm(answers)
    t0 = time.monotonic()
    text, err = b.open("%s?step=%d" % (a.url0 if n == 0 and a.url0 else a.url, n))
    fact("open_ms_%d" % n, int((time.monotonic() - t0) * 1000))
    if text is not None:
        with open(os.path.join(a.outdir, "page-%d.txt" % n), "w", encoding="utf-8") as f:
            f.write(text)
        fact("page_%d" % n, "loaded")
    else:
        with open(os.path.join(a.outdir, "page-%d.err" % n), "w", encoding="utf-8") as f:
            f.write(err + "\n")
        fact("page_%d" % n, "error")
    fact("prompts_%d" % n, b.asked() - before)


def scenario(b, a):
    # Firefox lists the tokens it sees; for Chromium the module is asked
    fact("token_view", "browser" if isinstance(b, Firefox) else "module")
    fact("token_at_start", int(b.token(a.label) is not None))
    # no stick: the page, without a certificate
    step(b, a, 0, 0)

    # plugged in: the token appears, the login asks the password once
    plug(a)
    tok, secs = wait(lambda: b.token(a.label), 20)
    fact("appeared_ms_1", int(secs * 1000) if tok else "never")
    if tok and tok[0] is not None:
        fact("logged_in_before_1", int(tok[0]))
        for s in tok[1]:
            fact("user_cert_1", s)
    step(b, a, 1, 1)
    tok = b.token(a.label)
    if tok is None or tok[0] is not None:
        fact("logged_in_after_1", int(bool(tok and tok[0])))

    # pulled out: the token goes, the page is opened without it
    unplug(a)
    gone, secs = wait(lambda: b.token(a.label) is None, 20)
    fact("vanished_ms", int(secs * 1000) if gone else "never")
    step(b, a, 2, 0)
    fact("alive_after_removal", b.alive())

    # back: the same token, logged out; the password is asked again
    plug(a)
    tok, secs = wait(lambda: b.token(a.label), 20)
    fact("appeared_ms_3", int(secs * 1000) if tok else "never")
    if tok and tok[0] is not None:
        fact("logged_in_before_3", int(tok[0]))
    step(b, a, 3, 1)
    tok = b.token(a.label)
    if tok is None or tok[0] is not None:
        fact("logged_in_after_3", int(bool(tok and tok[0])))


def main():
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("browser", choices=["firefox", "chromium"])
    for opt in ("outdir", "url", "volume", "cer", "key", "label", "pin-file"):
        p.add_argument("--" + opt, required=True)
    p.add_argument("--profile")
    p.add_argument("--url0", help="the page of step 0 (no stick), if not --url")
    p.add_argument("--probe", help="chromium: a command whose status 0 says the module sees "
                   "the token (whitespace-separated words)")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:cut])
    a.command = argv[cut + 1:]
    a.probe = (a.probe or "").split()
    facts.run(a.outdir, lambda: Firefox(a) if a.browser == "firefox" else Chromium(a),
              lambda b: scenario(b, a),
              (DriverError, wxl.DriverError, MarionetteError, OSError, ValueError, KeyError,
               TypeError, AttributeError, subprocess.SubprocessError))
    return 0


if __name__ == "__main__":
    sys.exit(main())
