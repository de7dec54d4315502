/*
 * sites/sites.js - the registry of site adapters (content script, loaded
 * before the adapters).  An adapter is one file that knows one portal's
 * login form and registers an object:
 *   name                 short name ("sat")
 *   find(document)       the login form on this page, or null (then the
 *                        extension does nothing here)
 *   challenge(form)      what the host signs for this login (SAT: guid)
 *   place(form, control) puts the extension's control next to the form
 *   complete(form, reply) given the host's reply: fills the form and
 *                        submits it, true; anything but a good reply:
 *                        touches nothing, false
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
"use strict";
var EfirmaSites = globalThis.EfirmaSites || (globalThis.EfirmaSites = {
	adapters: [],
	register(adapter) {
		this.adapters.push(adapter);
	},
	/* The first adapter that finds its form: {adapter, form}, or null. */
	find(doc) {
		for (const adapter of this.adapters) {
			const form = adapter.find(doc);
			if (form)
				return { adapter, form };
		}
		return null;
	},
});
