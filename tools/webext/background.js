/*
 * background.js - the only part that talks to the native host
 * (mx.efirma.pkcs11): an event page in Firefox, a service worker in
 * Chromium (gen-manifest.py).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A login: the content script says "start" (its challenge); a login
 * request is kept under a random id, with the origin the browser reports
 * for the sender (never one the page names) and the tab; the extension's
 * chooser page opens, lists the tokens ("list") and asks the host to log
 * in ("login"); the host asks the password itself; a good reply goes to
 * that tab's content script, which fills and submits the form.  Requests
 * live in storage.session: a service worker may be stopped in between.
 */
"use strict";
const api = globalThis.browser || globalThis.chrome;
const HOST = "mx.efirma.pkcs11";
const USER_SCRIPTS = "user-origins";

async function native(message) {
	try {
		return await api.runtime.sendNativeMessage(HOST, message);
	} catch (e) {
		// Not installed, not allowed for this extension, or it died.
		return { ok: false, error: "host-missing", message: String((e && e.message) || e) };
	}
}

const fromExtension = (sender) =>
	typeof sender.url === "string" && sender.url.startsWith(api.runtime.getURL(""));

async function takeRequest(id, remove) {
	const key = "req:" + id;
	const got = await api.storage.session.get(key);
	if (remove)
		await api.storage.session.remove(key);
	return got[key] || null;
}

async function start(msg, sender) {
	if (!sender.tab || fromExtension(sender) || typeof msg.challenge !== "string")
		return { ok: false, error: "extension" };
	const id = crypto.randomUUID();
	await api.storage.session.set({
		["req:" + id]: {
			tabId: sender.tab.id,
			frameId: sender.frameId || 0,
			origin: new URL(sender.url).origin,
			site: String(msg.site),
			challenge: msg.challenge,
		},
	});
	await api.windows.create({
		url: api.runtime.getURL("chooser.html#" + id),
		type: "popup",
		width: 560,
		height: 520,
	});
	return { ok: true };
}

async function login(msg) {
	// Single use: a request is gone once tried.
	const req = await takeRequest(msg.id, true);
	if (!req)
		return { ok: false, error: "no-request" };
	const reply = await native({
		method: "sat-login",
		token: String(msg.token),
		guid: req.challenge,
		origin: req.origin,
	});
	if (reply && reply.ok === true) {
		await api.tabs.sendMessage(req.tabId, { type: "complete", reply },
			{ frameId: req.frameId });
		return { ok: true };
	}
	return reply && typeof reply.error === "string" ? reply : { ok: false, error: "error" };
}

/* The content script on the origins the user added (options page), as far
 * as the user granted them. */
async function syncOrigins() {
	const { origins = [] } = await api.storage.local.get("origins");
	const granted = [];
	for (const o of origins)
		if (await api.permissions.contains({ origins: [o + "/*"] }))
			granted.push(o + "/*");
	try {
		await api.scripting.unregisterContentScripts({ ids: [USER_SCRIPTS] });
	} catch (e) {
		// none registered yet
	}
	if (granted.length > 0)
		await api.scripting.registerContentScripts([{
			id: USER_SCRIPTS,
			matches: granted,
			js: ["sites/sites.js", "sites/sat.js", "content.js"],
			runAt: "document_idle",
			persistAcrossSessions: true,
		}]);
	return { ok: true };
}

async function handle(msg, sender) {
	if (!msg || typeof msg.type !== "string")
		return { ok: false, error: "extension" };
	if (msg.type === "start")
		return start(msg, sender);
	// Everything else only from the extension's own pages.
	if (!fromExtension(sender))
		return { ok: false, error: "extension" };
	switch (msg.type) {
	case "request": {
		const req = await takeRequest(msg.id, false);
		return req ? { ok: true, origin: req.origin } : { ok: false, error: "no-request" };
	}
	case "list":
		return native({ method: "list" });
	case "login":
		return login(msg);
	case "sync-origins":
		return syncOrigins();
	default:
		return { ok: false, error: "extension" };
	}
}

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
	handle(msg, sender).then(sendResponse,
		(e) => sendResponse({ ok: false, error: "extension", message: String(e) }));
	return true;
});
api.runtime.onInstalled.addListener(() => syncOrigins().catch(() => {}));
