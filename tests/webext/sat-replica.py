#!/usr/bin/env python3
# sat-replica.py - the back end of the test portal: a replica of SAT's
# e.firma login flow (doc/DESIGN.md §7), written from the facts, for the
# browser tests of the extension.  nginx terminates HTTPS on 127.0.0.1 and
# passes requests here (plain HTTP on another loopback port).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: sat-replica.py PORT EVENTS VERIFY CERTDIR CA...
#
#   GET  /nidp/app/login?id=SATx509Custom
#        the login page: the hidden form "certform" with SAT's fields and a
#        fresh guid (base64 of a UUID) per load.  Nothing else: the page
#        reads no files and runs no script (the extension does the work).
#   POST /nidp/app/login?sid=0&id=SATx509Custom
#        the portal's verifier: the guid was issued here and is used once;
#        credentialsRequired is CERT and the legacy fields are empty; the
#        certificate is found by the número inside the token, as SAT finds
#        it in its own registry (here CERTDIR's .cer files); VERIFY
#        (efirma-portal-verify) checks the signature, the chain to the CA
#        files, the validity and that it is an e.firma; fert is the
#        certificate's notAfter.  Accepted: a page naming the RFC and the
#        holder; refused: 403 and the reason.
#
# Every event is one JSON line appended to EVENTS ({"event": "page" |
# "post", "t": wall-clock seconds, ...}) for the test's assertions.

import base64
import datetime
import html
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOGIN_PATH = "/nidp/app/login"
LEGACY = ["ks", "seeder", "arc", "tan", "placer", "secuence", "urlApplet"]

port, events_path, verify, certdir = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
cas = sys.argv[5:]
issued = set()
lock = threading.Lock()


def openssl_x509(path, *args):
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-in", path, "-noout", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def load_registry():
    """número (the serial's 20 ASCII digits) -> (path, fert)"""
    reg = {}
    for name in sorted(os.listdir(certdir)):
        if not name.endswith(".cer"):
            continue
        path = os.path.join(certdir, name)
        serial = openssl_x509(path, "-serial").split("=", 1)[1]
        numero = bytes.fromhex(serial).decode("ascii", "replace")
        end = openssl_x509(path, "-enddate").split("=", 1)[1]
        when = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z")
        reg[numero] = (path, when.strftime("%y%m%d%H%M%SZ"))
    return reg


registry = load_registry()


def now():
    return datetime.datetime.now().timestamp()


def record(**event):
    event.setdefault("t", now())
    with lock, open(events_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, ensure_ascii=False) + "\n")


def login_page(guid):
    fields = ["token", "credentialsRequired", "guid"] + LEGACY + ["fert"]
    inputs = "\n".join('<input type="hidden" name="%s" id="%s" value="%s">'
                       % (n, n, html.escape(guid) if n == "guid" else "")
                       for n in fields)
    return """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>SAT (replica de prueba)</title></head>
<body>
<h1>Acceso con e.firma</h1>
<p id="portal">Portal de prueba de efirma-pkcs11</p>
<form name="certform" id="certform" method="post"
      action="%s?sid=0&amp;id=SATx509Custom">
%s
</form>
</body></html>
""" % (LOGIN_PATH, inputs)


def numero_of(token):
    """The número the signed text names: token = b64(b64(co) "#" ...)."""
    outer = base64.b64decode(token, validate=True).decode("ascii")
    co = base64.b64decode(outer.split("#", 1)[0], validate=True).decode("utf-8")
    return co.split("|")[2]


def check_post(form):
    one = lambda n: form.get(n, [None])[0]
    guid = one("guid")
    with lock:
        fresh = guid in issued
        issued.discard(guid)
    if not fresh:
        return "guid not issued here, or already used"
    if one("credentialsRequired") != "CERT":
        return "credentialsRequired is not CERT"
    if any(one(n) not in ("", None) for n in LEGACY):
        return "a legacy field is not empty"
    token = one("token") or ""
    try:
        path, fert = registry[numero_of(token)]
    except (ValueError, IndexError, KeyError, UnicodeDecodeError):
        return "no registered certificate for the token's número"
    if one("fert") != fert:
        return "fert is not the certificate's notAfter"
    cmd = [verify, "verify", "--cert", path, "--challenge", guid, "--token", token]
    for ca in cas:
        cmd += ["--ca", ca]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return "verifier: " + (r.stdout + r.stderr).strip().replace("\n", " ")
    return dict(line.split(": ", 1) for line in r.stdout.splitlines()[1:] if ": " in line)


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != LOGIN_PATH:
            return self.reply(404, "<p>no such page</p>")
        guid = base64.b64encode(str(uuid.uuid4()).encode("ascii")).decode("ascii")
        with lock:
            issued.add(guid)
        record(event="page", guid=guid, host=self.headers.get("Host", ""))
        self.reply(200, login_page(guid))

    def do_POST(self):
        arrived = now()     # "t" of a post: when it arrived, before checking
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8"),
                                     keep_blank_values=True)
        result = check_post(form)
        if isinstance(result, dict):
            record(event="post", accepted=True, rfc=result.get("rfc"),
                   guid=form.get("guid", [""])[0], t=arrived)
            self.reply(200, """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Bienvenido</title></head>
<body><h1>Bienvenido</h1>
<p>RFC: <span id="rfc">%s</span></p><p>Nombre: <span id="name">%s</span></p>
</body></html>
""" % (html.escape(result.get("rfc", "")), html.escape(result.get("name", ""))))
        else:
            record(event="post", accepted=False, reason=result, t=arrived)
            self.reply(403, "<p id=\"refused\">%s</p>" % html.escape(result))

    def log_message(self, fmt, *args):
        sys.stderr.write("sat-replica: " + (fmt % args) + "\n")


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
