// test-webext-logic.js - the extension's logic under node, without a
// browser: the SAT adapter (sites/sat.js) and the content script against
// a small replica of SAT's certform, and the background's login flow
// against a fake browser API and a fake native host.  Prints TAP.
//   node test-webext-logic.js WEBEXT_SOURCE_DIR
// The replica is written from doc/DESIGN.md §7 (the fields of
// "certform", guid = base64 of a UUID), not from SAT's HTML.
// SPDX-License-Identifier: LGPL-2.1-or-later
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const src = process.argv[2];
let n = 0, failed = 0;
function check(name, cond, diag) {
	n++;
	if (!cond)
		failed++;
	console.log(`${cond ? "ok" : "not ok"} ${n} - ${name}`);
	if (!cond && diag !== undefined)
		console.log("# " + JSON.stringify(diag));
}

// ------------------------------------------------------- a tiny DOM
class Node {
	constructor(tag, attrs = {}) {
		this.tagName = tag.toUpperCase();
		this.id = attrs.id || "";
		this.name = attrs.name || "";
		this.type = attrs.type || "";
		this.value = attrs.value || "";
		this.children = [];
		this.parentNode = null;
		this.listeners = {};
		this.dataset = {};
		this.textContent = "";
	}
	append(...nodes) {
		for (const c of nodes)
			if (typeof c === "object") {
				c.parentNode = this;
				this.children.push(c);
			}
	}
	insertBefore(node, ref) {
		const i = this.children.indexOf(ref);
		node.parentNode = this;
		this.children.splice(i < 0 ? this.children.length : i, 0, node);
	}
	addEventListener(type, fn) {
		(this.listeners[type] = this.listeners[type] || []).push(fn);
	}
	dispatch(type, isTrusted) {
		for (const fn of this.listeners[type] || [])
			fn({ type, isTrusted, preventDefault() {} });
	}
	*walk() {
		yield this;
		for (const c of this.children)
			yield* c.walk();
	}
}
class Form extends Node {
	constructor(attrs) {
		super("form", attrs);
		this.submitted = 0;
		const form = this;
		this.elements = {
			namedItem(name) {
				for (const e of form.walk())
					if (e !== form && e.name === name)
						return e;
				return null;
			},
		};
	}
	submit() {
		this.submitted++;
	}
}
function documentOf(body) {
	const html = new Node("html");
	html.append(body);
	return {
		documentElement: html,
		forms: {
			namedItem(name) {
				for (const e of html.walk())
					if (e instanceof Form && e.name === name)
						return e;
				return null;
			},
		},
		getElementById(id) {
			for (const e of html.walk())
				if (e.id === id)
					return e;
			return null;
		},
		createElement: (tag) => new Node(tag),
	};
}

const LEGACY = ["ks", "seeder", "arc", "tan", "placer", "secuence", "urlApplet"];
const guid = Buffer.from("3f2b8a54-7c1e-4d8a-9b2f-6e5d4c3b2a10").toString("base64");
// The replica: SAT's hidden certform as doc/DESIGN.md §7 describes it;
// the legacy fields carry something, to see them emptied.
function replica(fields = ["token", "credentialsRequired", "guid", "fert", ...LEGACY]) {
	const body = new Node("body");
	const box = new Node("div", { id: "contenido" });
	const form = new Form({ id: "certform", name: "certform" });
	for (const f of fields)
		form.append(new Node("input", {
			type: "hidden", name: f,
			value: f === "guid" ? guid : LEGACY.includes(f) ? "legacy-" + f : "",
		}));
	box.append(new Node("input", { type: "file", name: "fileCertificate" }), form);
	body.append(box);
	return { doc: documentOf(body), form, box };
}
const val = (form, name) => form.elements.namedItem(name).value;
const snapshot = (form) =>
	JSON.stringify([...form.walk()].filter((e) => e !== form).map((e) => [e.name, e.value]));

function loadSites(extra = {}) {
	const ctx = vm.createContext({ console, ...extra });
	for (const f of ["sites/sites.js", "sites/sat.js"])
		vm.runInContext(fs.readFileSync(path.join(src, f), "utf8"), ctx, { filename: f });
	return ctx;
}

// -------------------------------------------------- the SAT adapter
{
	const ctx = loadSites();
	const sat = ctx.EfirmaSites.adapters.find((a) => a.name === "sat");
	check("sites/sat.js registers the adapter \"sat\"", !!sat);
	const { doc, form, box } = replica();
	check("it finds the replica's certform", ctx.EfirmaSites.find(doc) &&
		ctx.EfirmaSites.find(doc).form === form);
	check("nothing on a page without certform",
		ctx.EfirmaSites.find(documentOf(new Node("body"))) === null);
	check("nothing on a certform without SAT's fields (no token, no fert)",
		ctx.EfirmaSites.find(replica(["guid", "credentialsRequired"]).doc) === null);
	check("the challenge is the guid as served", sat.challenge(form) === guid);
	const control = new Node("button");
	sat.place(form, control);
	check("the control is placed next to the form", control.parentNode === box &&
		box.children.indexOf(control) === box.children.indexOf(form) - 1);

	const before = snapshot(form);
	for (const [what, reply] of [
		["an error reply (wrong password)", { ok: false, error: "wrong-password", message: "x" }],
		["a cancel", { ok: false, error: "cancelled" }],
		["a host that is missing", { ok: false, error: "host-missing" }],
		["a reply without token", { ok: true, fert: "270527000000Z" }],
		["a reply with a malformed fert", { ok: true, token: "dA==", fert: "2027-05-27" }],
		["no reply at all", undefined],
	]) {
		const r = sat.complete(form, reply);
		check(`given ${what}: nothing filled, nothing submitted`,
			r === false && form.submitted === 0 && snapshot(form) === before, snapshot(form));
	}
	const token = Buffer.from("Y28=#c2ln").toString("base64");
	const r = sat.complete(form, { ok: true, token, fert: "270527181205Z" });
	check("given the host's reply: submitted once", r === true && form.submitted === 1);
	check("... token as the host made it", val(form, "token") === token);
	check("... fert as the host gave it", val(form, "fert") === "270527181205Z");
	check("... credentialsRequired=CERT", val(form, "credentialsRequired") === "CERT");
	check("... the guid kept as served", val(form, "guid") === guid);
	check("... the legacy fields empty", LEGACY.every((f) => val(form, f) === ""), snapshot(form));
}

// -------------------------------------------------- the content script
{
	const sent = [];
	let onMessage = null;
	const api = {
		i18n: { getMessage: (k) => (k === "loginButton" ? "Entrar con mi e.firma (token)" : "?") },
		runtime: {
			sendMessage: (m) => { sent.push(m); return Promise.resolve({ ok: true }); },
			onMessage: { addListener: (fn) => { onMessage = fn; } },
		},
	};
	const { doc, form } = replica();
	const ctx = loadSites({ chrome: api, document: doc });
	const content = fs.readFileSync(path.join(src, "content.js"), "utf8");
	vm.runInContext(content, ctx, { filename: "content.js" });
	vm.runInContext(content, ctx, { filename: "content.js" });
	const buttons = [...doc.documentElement.walk()].filter((e) => e.tagName === "BUTTON");
	check("content.js adds one control, however often injected",
		buttons.length === 1 && buttons[0].textContent === "Entrar con mi e.firma (token)",
		buttons.map((b) => b.textContent));
	buttons[0].dispatch("click", false);
	check("a click the page made (untrusted) starts nothing", sent.length === 0);
	buttons[0].dispatch("click", true);
	check("the user's click asks the background to start, with the guid",
		sent.length === 1 && sent[0].type === "start" && sent[0].challenge === guid &&
		sent[0].site === "sat", sent);
	onMessage({ type: "complete", reply: { ok: false, error: "cancelled" } });
	check("an error relayed: nothing submitted", form.submitted === 0);
	onMessage({ type: "complete", reply: { ok: true, token: "dG9r", fert: "270527181205Z" } });
	check("the host's reply relayed: the form is filled and submitted",
		form.submitted === 1 && val(form, "token") === "dG9r");
}

// ------------------------------------------------------ the background
(async () => {
	const session = new Map();
	const calls = { native: [], windows: [], tabs: [], ports: [] };
	let removed = null, nextWindow = 100;
	let listener = null, hostReply = null;
	const EXT = "chrome-extension://hikmccjinamdbcljmadhaccgffgmcbmh/";
	const api = {
		runtime: {
			getURL: (p) => EXT + p,
			// A host connection: each message answered in turn; "missing":
			// the browser finds no host and disconnects.
			connectNative: (host) => {
				const port = {
					host, sent: [], onMsg: [], onDisc: [], error: null, disconnected: false,
					onMessage: { addListener: (f) => port.onMsg.push(f) },
					onDisconnect: { addListener: (f) => port.onDisc.push(f) },
					postMessage: (m) => {
						calls.native.push([host, m]);
						port.sent.push(m);
						if (hostReply === "missing")
							return;
						const reply = m.method === "list" ? { ok: true, tokens: [] } : hostReply;
						setTimeout(() => port.onMsg.forEach((f) => f(reply)), 0);
					},
					disconnect: () => { port.disconnected = true; },
				};
				calls.ports.push(port);
				if (hostReply === "missing")
					setTimeout(() => {
						port.error = { message: "Specified native messaging host not found." };
						port.onDisc.forEach((f) => f(port));
					}, 0);
				return port;
			},
			onMessage: { addListener: (fn) => { listener = fn; } },
			onInstalled: { addListener() {} },
		},
		storage: {
			session: {
				get: async (k) => (session.has(k) ? { [k]: session.get(k) } : {}),
				set: async (o) => { for (const [k, v] of Object.entries(o)) session.set(k, v); },
				remove: async (k) => { session.delete(k); },
			},
		},
		windows: {
			create: async (o) => { calls.windows.push(o); return { id: nextWindow++ }; },
			onRemoved: { addListener: (fn) => { removed = fn; } },
		},
		tabs: { sendMessage: async (...a) => { calls.tabs.push(a); } },
	};
	const ctx = vm.createContext({ chrome: api, crypto: require("crypto"), URL, console });
	vm.runInContext(fs.readFileSync(path.join(src, "background.js"), "utf8"), ctx,
		{ filename: "background.js" });
	const send = (m, sender) => new Promise((res) => listener(m, sender, res));
	const page = { tab: { id: 7 }, frameId: 0, url: "https://login.siat.sat.gob.mx/nidp/app/login?id=SATx509Custom" };
	const ext = { url: EXT + "chooser.html", tab: { id: 9 } };

	let r = await send({ type: "start", site: "sat", challenge: guid, origin: "https://evil.example" }, page);
	const url = calls.windows[0] && calls.windows[0].url;
	check("start opens the extension's own page", r.ok && url && url.startsWith(EXT + "chooser.html#"), calls);
	const id = url ? url.split("#")[1] : "";
	r = await send({ type: "list", id }, page);
	check("a content script cannot list the tokens", r.ok === false && calls.native.length === 0);
	r = await send({ type: "login", id, token: "1" }, page);
	check("a content script cannot log in", r.ok === false && calls.native.length === 0);
	r = await send({ type: "request", id }, ext);
	check("the chooser learns the origin the browser reported, not one the page named",
		r.ok && r.origin === "https://login.siat.sat.gob.mx", r);
	hostReply = { ok: false, error: "wrong-password", message: "wrong password, 3 times" };
	r = await send({ type: "login", id, token: "30001000000500003282" }, ext);
	const m = calls.native[0] && calls.native[0][1];
	check("login asks the host mx.efirma.pkcs11 for sat-login with the guid, the token and that origin",
		calls.native[0] && calls.native[0][0] === "mx.efirma.pkcs11" && m.method === "sat-login" &&
		m.guid === guid && m.token === "30001000000500003282" &&
		m.origin === "https://login.siat.sat.gob.mx", calls.native);
	check("an error from the host reaches the chooser, and nothing the page",
		r.error === "wrong-password" && calls.tabs.length === 0, r);
	r = await send({ type: "login", id, token: "30001000000500003282" }, ext);
	check("a request is used once", r.error === "no-request", r);

	await send({ type: "start", site: "sat", challenge: guid }, page);
	const id2 = calls.windows[1].url.split("#")[1];
	hostReply = { ok: true, token: "dG9r", fert: "270527181205Z" };
	const before = calls.ports.length;
	r = await send({ type: "list", id: id2 }, ext);
	check("the chooser lists the tokens through the host", r.ok === true && Array.isArray(r.tokens), r);
	r = await send({ type: "login", id: id2, token: "30001000000500003282" }, ext);
	check("the host's reply goes to that tab's content script",
		r.ok && calls.tabs.length === 1 && calls.tabs[0][0] === 7 &&
		calls.tabs[0][1].type === "complete" && calls.tabs[0][1].reply.token === "dG9r", calls.tabs);
	const p2 = calls.ports[before];
	check("list and sat-login go to one host process, closed after the login",
		calls.ports.length === before + 1 && p2.sent.map((m) => m.method).join() === "list,sat-login" &&
		p2.disconnected, calls.ports.slice(before).map((p) => p.sent));

	await send({ type: "start", site: "sat", challenge: guid }, page);
	const idc = calls.windows[calls.windows.length - 1].url.split("#")[1];
	await send({ type: "list", id: idc }, ext);
	const pc = calls.ports[calls.ports.length - 1];
	removed(nextWindow - 1);
	await new Promise((res) => setTimeout(res, 10));
	r = await send({ type: "login", id: idc, token: "30001000000500003282" }, ext);
	check("the chooser closed without a login: its host connection and its request end",
		pc.disconnected && r.error === "no-request" && pc.sent.length === 1, r);

	await send({ type: "start", site: "sat", challenge: guid }, page);
	const id3 = calls.windows[calls.windows.length - 1].url.split("#")[1];
	hostReply = "missing";
	r = await send({ type: "login", id: id3, token: "x" }, ext);
	check("no host installed: its own error, nothing sent to the page",
		r.error === "host-missing" && calls.tabs.length === 1, r);

	console.log(`1..${n}`);
	process.exit(failed ? 1 : 0);
})();
