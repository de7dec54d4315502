/*
 * chooser.js - lists the tokens (RFC, holder, validity) and the origin
 * about to be logged in to; the chosen one goes to the host, whose own
 * dialog asks the password.  Errors are shown here; the page's form is
 * then left alone.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
"use strict";
const api = globalThis.browser || globalThis.chrome;
const t = (key, ...subs) => api.i18n.getMessage(key, subs);
const id = location.hash.slice(1);
const $ = (sel) => document.getElementById(sel);

// The host's error codes (native_host.c) and the extension's own.
const ERRORS = {
	"wrong-password": "errWrongPassword",
	"cancelled": "errCancelled",
	"expired": "errExpired",
	"not-yet-valid": "errNotYetValid",
	"csd": "errCsd",
	"not-efirma": "errNotEfirma",
	"host-missing": "errHostMissing",
	"no-pinentry": "errNoPinentry",
	"no-token": "errNoToken",
	"no-request": "errNoRequest",
};

function showError(reply) {
	const key = ERRORS[reply && reply.error];
	$("error").textContent = key ? t(key) : t("errGeneric", String((reply && reply.message) || ""));
	$("error").hidden = false;
	$("status").textContent = "";
}

function item(tok) {
	const li = document.createElement("li");
	const b = document.createElement("button");
	b.type = "button";
	const usable = tok.type === "e.firma" && !tok.expired;
	b.disabled = !usable;
	b.textContent = `${tok.rfc} — ${tok.holder}`;
	const info = document.createElement("span");
	info.className = "validity";
	info.textContent = tok.type !== "e.firma" ? t("tokenCsd") :
		tok.expired ? t("tokenExpired", tok.not_after.slice(0, 10)) :
		t("tokenValid", tok.not_after.slice(0, 10));
	b.addEventListener("click", () => choose(tok));
	li.append(b, " ", info);
	return li;
}

async function choose(tok) {
	for (const b of document.querySelectorAll("#tokens button"))
		b.disabled = true;
	$("error").hidden = true;
	$("status").textContent = t("chooserWaiting");
	const reply = await api.runtime.sendMessage({ type: "login", id, token: tok.numero });
	if (reply && reply.ok) {
		window.close();
		return;
	}
	showError(reply);
}

async function main() {
	for (const el of document.querySelectorAll("[data-i18n]"))
		el.textContent = t(el.dataset.i18n);
	const req = await api.runtime.sendMessage({ type: "request", id });
	if (!req || !req.ok)
		return showError(req);
	$("origin").textContent = t("chooserOrigin", req.origin);
	const list = await api.runtime.sendMessage({ type: "list", id });
	if (!list || !list.ok)
		return showError(list);
	$("status").textContent = list.tokens.length ? t("chooserPick") : t("errNoToken");
	for (const tok of list.tokens)
		$("tokens").append(item(tok));
}

main();
