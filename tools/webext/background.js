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
 * in ("login"), both over one connection to the host; the host asks the
 * password itself; a good reply goes to that tab's content script, which
 * fills and submits the form.  Requests live in storage.session: a
 * service worker may be stopped in between (an open connection to the
 * host keeps it running; without one, a new connection is made).
 */
"use strict";
const api = globalThis.browser || globalThis.chrome;
const HOST = "mx.efirma.pkcs11";
const USER_SCRIPTS = "user-origins";

/* One connection to the host per login request: the chooser's "list"
 * starts the host and its "login" goes to the same process, so the click
 * on a token does not wait for the browser to start a program (Firefox
 * takes about 100 ms to).  The host answers one message at a time, in
 * order.  The connection ends with the login, or when the chooser closes. */
class HostConnection {
	constructor() {
		this.waiting = [];
		this.closed = null;
		try {
			this.port = api.runtime.connectNative(HOST);
		} catch (e) {
			this.closed = String((e && e.message) || e);
			return;
		}
		this.port.onMessage.addListener((reply) => {
			const w = this.waiting.shift();
			if (w)
				w(reply);
		});
		this.port.onDisconnect.addListener((port) => {
			// Not installed, not allowed for this extension, or it died.
			const why = (port && port.error) || (api.runtime.lastError) || {};
			this.closed = String(why.message || "the host closed the connection");
			for (const w of this.waiting.splice(0))
				w(this.missing());
		});
	}

	missing() {
		return { ok: false, error: "host-missing", message: this.closed || "" };
	}

	ask(message) {
		if (this.closed !== null)
			return Promise.resolve(this.missing());
		return new Promise((resolve) => {
			this.waiting.push(resolve);
			try {
				this.port.postMessage(message);
			} catch (e) {
				this.closed = String((e && e.message) || e);
				this.waiting.splice(this.waiting.indexOf(resolve), 1);
				resolve(this.missing());
			}
		});
	}

	close() {
		if (this.closed === null) {
			this.closed = "closed";
			this.port.disconnect();
		}
	}
}

const hosts = new Map();            // login request id -> HostConnection
const chooserWindows = new Map();   // the chooser's window id -> login request id

function hostFor(id) {
	let h = hosts.get(id);
	if (!h) {
		h = new HostConnection();
		hosts.set(id, h);
	}
	return h;
}

function closeHost(id) {
	const h = hosts.get(id);
	hosts.delete(id);
	if (h)
		h.close();
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
	const win = await api.windows.create({
		url: api.runtime.getURL("chooser.html#" + id),
		type: "popup",
		width: 560,
		height: 520,
	});
	if (win && typeof win.id === "number")
		chooserWindows.set(win.id, id);
	return { ok: true };
}

async function login(msg) {
	// Single use: a request is gone once tried.
	const req = await takeRequest(msg.id, true);
	if (!req) {
		closeHost(msg.id);
		return { ok: false, error: "no-request" };
	}
	const reply = await hostFor(msg.id).ask({
		method: "sat-login",
		token: String(msg.token),
		guid: req.challenge,
		origin: req.origin,
	});
	if (reply && reply.ok === true) {
		// The page first: ending the host can wait (Firefox takes its
		// time to stop a native program).
		const sent = api.tabs.sendMessage(req.tabId, { type: "complete", reply },
			{ frameId: req.frameId });
		closeHost(msg.id);
		await sent;
		return { ok: true };
	}
	closeHost(msg.id);
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
	case "list": {
		// Only for a request that exists: the connection is the login's.
		if (!(await takeRequest(msg.id, false)))
			return { ok: false, error: "no-request" };
		return hostFor(msg.id).ask({ method: "list" });
	}
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

/* The chooser closed without a login: its request and host go. */
api.windows.onRemoved.addListener((windowId) => {
	const id = chooserWindows.get(windowId);
	if (id === undefined)
		return;
	chooserWindows.delete(windowId);
	closeHost(id);
	takeRequest(id, true).catch(() => {});
});
