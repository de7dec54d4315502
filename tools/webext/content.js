/*
 * content.js - on a page whose login form an adapter knows (sites/), one
 * control "Entrar con mi e.firma (token)"; everything else happens in the
 * extension's own page and the host.  The page gets nothing but the filled
 * form, as the portal's own script would fill it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
"use strict";
(() => {
	const api = globalThis.browser || globalThis.chrome;
	const found = EfirmaSites.find(document);
	if (!found || document.documentElement.dataset.efirmaWebext)
		return;
	// Injected twice (manifest and an origin the user added): one control.
	document.documentElement.dataset.efirmaWebext = "1";
	const button = document.createElement("button");
	button.type = "button";
	button.textContent = api.i18n.getMessage("loginButton");
	button.className = "efirma-webext-login";
	button.addEventListener("click", (event) => {
		// Only the user's own click: the page cannot start a login.
		if (!event.isTrusted)
			return;
		event.preventDefault();
		api.runtime.sendMessage({
			type: "start",
			site: found.adapter.name,
			challenge: found.adapter.challenge(found.form),
		});
	});
	found.adapter.place(found.form, button);
	api.runtime.onMessage.addListener((msg) => {
		if (msg && msg.type === "complete")
			found.adapter.complete(found.form, msg.reply);
	});
})();
