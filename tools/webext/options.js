/*
 * options.js - origins the user adds: each is asked as an optional host
 * permission (the browser's own prompt), kept in storage.local, and the
 * background registers the content script there.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
"use strict";
const api = globalThis.browser || globalThis.chrome;
const t = (key) => api.i18n.getMessage(key);
const $ = (sel) => document.getElementById(sel);

async function origins() {
	return (await api.storage.local.get("origins")).origins || [];
}

async function save(list) {
	await api.storage.local.set({ origins: list });
	await api.runtime.sendMessage({ type: "sync-origins" });
	await show();
}

async function show() {
	$("origins").replaceChildren();
	for (const o of await origins()) {
		const li = document.createElement("li");
		const rm = document.createElement("button");
		rm.type = "button";
		rm.textContent = t("optionsRemove");
		rm.addEventListener("click", async () => {
			await api.permissions.remove({ origins: [o + "/*"] });
			await save((await origins()).filter((x) => x !== o));
		});
		li.append(o, " ", rm);
		$("origins").append(li);
	}
}

$("add").addEventListener("submit", async (event) => {
	event.preventDefault();
	$("error").hidden = true;
	let origin;
	try {
		const u = new URL($("origin").value);
		if (u.protocol !== "https:" && !["127.0.0.1", "localhost"].includes(u.hostname))
			throw new Error("https only");
		origin = u.origin;
	} catch (e) {
		$("error").textContent = t("optionsBadOrigin");
		$("error").hidden = false;
		return;
	}
	// Asked within the click: browsers grant permissions only then.
	if (!(await api.permissions.request({ origins: [origin + "/*"] }))) {
		$("error").textContent = t("optionsDenied");
		$("error").hidden = false;
		return;
	}
	const list = await origins();
	if (!list.includes(origin))
		list.push(origin);
	await save(list);
	$("origin").value = "";
});

for (const el of document.querySelectorAll("[data-i18n]"))
	el.textContent = t(el.dataset.i18n);
show();
