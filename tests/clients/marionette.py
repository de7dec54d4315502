#!/usr/bin/env python3
# marionette.py - a minimal client for Firefox's Marionette protocol.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Marionette is the remote-control protocol built into Firefox (started with
# --marionette; the "marionette.port" pref picks the port, 0 = any, and the
# port in use is written to MarionetteActivePort in the profile).  Framing:
# every message is "<decimal byte length>:<JSON>".  On connect the server
# sends a hello object ({"applicationType": "gecko", "marionetteProtocol":
# 3}); then a command is [0, id, name, params] and its answer is
# [1, id, error-or-null, result].  Only the standard library is used.
#
# Also what the browser drivers (firefox-login.py, hotplug-login.py,
# webext-login.py) share: Facts, the record of what a driver saw, and
# Prompter, the answer to Firefox's token password prompt.

import json
import os
import socket
import time
import traceback


class MarionetteError(Exception):
    pass


class Marionette:
    def __init__(self, host, port, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.msg_id = 0
        hello = self._recv()
        if not isinstance(hello, dict) or hello.get("marionetteProtocol") != 3:
            raise MarionetteError("unexpected hello: %r" % (hello,))

    @classmethod
    def connect_profile(cls, profile, deadline_s=30.0, timeout=30.0):
        """Waits for Firefox to write its port into the profile and connects."""
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            try:
                with open(profile + "/MarionetteActivePort") as f:
                    port = int(f.read().strip())
                return cls("127.0.0.1", port, timeout)
            except (OSError, ValueError, MarionetteError) as e:
                last = e
            time.sleep(0.2)
        raise MarionetteError("Firefox's Marionette did not come up: %s" % last)

    def _recv(self):
        while True:
            colon = self.buf.find(b":")
            if colon > 0:
                length = int(self.buf[:colon])
                if len(self.buf) >= colon + 1 + length:
                    body = self.buf[colon + 1:colon + 1 + length]
                    self.buf = self.buf[colon + 1 + length:]
                    return json.loads(body.decode("utf-8"))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MarionetteError("connection closed by Firefox")
            self.buf += chunk

    def command(self, name, params=None):
        self.msg_id += 1
        body = json.dumps([0, self.msg_id, name, params or {}]).encode("utf-8")
        self.sock.sendall(str(len(body)).encode("ascii") + b":" + body)
        while True:
            msg = self._recv()
            # answers only; anything else (there is nothing else in protocol
            # 3 for a client that sends one command at a time) is skipped
            if isinstance(msg, list) and len(msg) == 4 and msg[0] == 1 \
                    and msg[1] == self.msg_id:
                break
        if msg[2]:
            err = msg[2]
            raise MarionetteError("%s: %s" % (err.get("error"), err.get("message")))
        return msg[3]

    # ---- the few commands the tests use
    def new_session(self, capabilities=None):
        return self.command("WebDriver:NewSession",
                            {"capabilities": capabilities or {}})

    def set_context(self, context):
        """'chrome' (privileged browser code) or 'content' (the web page)."""
        self.command("Marionette:SetContext", {"value": context})

    def set_timeouts(self, script_ms, page_load_ms):
        self.command("WebDriver:SetTimeouts",
                     {"script": script_ms, "pageLoad": page_load_ms, "implicit": 0})

    def execute(self, script, args=None):
        r = self.command("WebDriver:ExecuteScript",
                         {"script": script, "args": args or []})
        return r.get("value") if isinstance(r, dict) else r

    def execute_async(self, script, args=None):
        """The script calls arguments[arguments.length - 1](value) to answer."""
        r = self.command("WebDriver:ExecuteAsyncScript",
                         {"script": script, "args": args or []})
        return r.get("value") if isinstance(r, dict) else r

    def navigate(self, url):
        self.command("WebDriver:Navigate", {"url": url})

    def current_url(self):
        r = self.command("WebDriver:GetCurrentURL")
        return r.get("value") if isinstance(r, dict) else r

    def screenshot_png(self):
        import base64
        r = self.command("WebDriver:TakeScreenshot", {"full": False, "hash": False})
        return base64.b64decode(r.get("value") if isinstance(r, dict) else r)

    def quit(self):
        try:
            self.command("Marionette:Quit", {"flags": ["eForceQuit"]})
        except (MarionetteError, OSError):
            pass
        self.sock.close()


class Facts:
    """What a driver saw, one fact per line ("key value") in OUTDIR/facts.
    A driver only observes and the shell test makes the assertions, so a
    failure is one more fact and never hides the facts before it."""

    def __init__(self):
        self.lines = []

    def add(self, key, value):
        self.lines.append("%s %s" % (key, str(value).replace("\n", " ")))

    def write(self, outdir):
        with open(os.path.join(outdir, "facts"), "w", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")

    def run(self, outdir, start, scenario, errors, started=("browser", "started")):
        """b = start(), scenario(b), b.quit(): the fact `started` once the
        browser is there, "done 1" once the scenario is over; an error of
        the tuple `errors` becomes driver_error (its traceback on stderr), a
        failing quit quit_error, and OUTDIR/facts is written whatever
        happens."""
        b = None
        try:
            b = start()
            self.add(*started)
            scenario(b)
            self.add("done", 1)
        except errors as e:
            self.add("driver_error", "%s: %s" % (type(e).__name__, e))
            traceback.print_exc()
        finally:
            if b is not None:
                try:
                    b.quit()
                except Exception as e:  # the facts must be written whatever happens
                    self.add("quit_error", e)
            self.write(outdir)


# Firefox asks a token's password through the prompt service
# ("@mozilla.org/prompter;1").  This registers, for the life of this
# Firefox, a prompt factory of the test's under that contract ID (as
# Mozilla's own tests mock prompts).  Its promptPassword counts every
# prompt and answers with the password only while the budget lasts, so a
# wrong password cannot loop.  The state lives on the chrome window: the
# chrome scripts of one Marionette session all run against it.
PROMPTER = r"""
const [pin] = arguments;
const st = {asked: 0, budget: 0, pin: pin};
window.efirmaPrompts = st;
const prompt = {
  QueryInterface: ChromeUtils.generateQI(["nsIPrompt"]),
  promptPassword(title, text, password, checkMsg, checkState) {
    st.asked++;
    if (st.budget <= 0) return false;
    st.budget--;
    password.value = st.pin;
    return true;
  },
  alert() {}, alertCheck() {}, confirm() { return false; },
  confirmCheck() { return false; }, confirmEx() { return 1; },
  prompt() { return false; }, promptUsernameAndPassword() { return false; },
  select() { return false; },
};
const factory = {
  QueryInterface: ChromeUtils.generateQI(["nsIFactory"]),
  createInstance(iid) {
    return { QueryInterface: ChromeUtils.generateQI(["nsIPromptFactory"]),
             getPrompt(win, piid) { return prompt.QueryInterface(piid); } }.QueryInterface(iid);
  },
};
Components.manager.QueryInterface(Ci.nsIComponentRegistrar).registerFactory(
  Services.uuid.generateUUID(), "efirma test prompter", "@mozilla.org/prompter;1", factory);
return true;
"""


class Prompter:
    """The prompt factory above, installed in the Firefox behind m with the
    password pin; it answers nothing until allow() gives it a budget."""

    def __init__(self, m, pin):
        self.m = m
        m.set_context("chrome")
        m.execute(PROMPTER, [pin])

    def allow(self, answers):
        """From now on, answer this many prompts (and cancel any beyond);
        returns how many prompts came so far."""
        self.m.set_context("chrome")
        return self.m.execute("window.efirmaPrompts.budget = arguments[0];"
                              " return window.efirmaPrompts.asked;", [answers])

    def asked(self):
        """How many prompts came since the factory was installed."""
        self.m.set_context("chrome")
        return self.m.execute("return window.efirmaPrompts.asked;")


if __name__ == "__main__":
    # exploration aid: marionette.py PROFILE CONTEXT SCRIPT
    import sys
    m = Marionette.connect_profile(sys.argv[1])
    m.new_session()
    m.set_context(sys.argv[2])
    print(json.dumps(m.execute(sys.argv[3]), indent=1))
