/*
 * sites/sat.js - SAT's e.firma login (NetIQ "SATx509Custom" on
 * login.siat.sat.gob.mx, cfdiau.sat.gob.mx and the other SAT login hosts).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * From doc/DESIGN.md §7: the page serves a hidden form "certform" with
 * token, credentialsRequired, guid, ks, seeder, arc, tan, placer, secuence,
 * urlApplet and fert; guid is issued per page load.  SAT's own script posts
 * token (built by the host from guid|RFC|número), credentialsRequired=CERT,
 * the guid as served, fert (the certificate's notAfter, YYMMDDhhmmssZ) and
 * the legacy fields empty.
 */
"use strict";
(() => {
	const REQUIRED = ["token", "credentialsRequired", "guid", "fert"];
	const LEGACY = ["ks", "seeder", "arc", "tan", "placer", "secuence", "urlApplet"];
	const field = (form, name) => form.elements.namedItem(name);

	EfirmaSites.register({
		name: "sat",
		find(doc) {
			const form = doc.forms.namedItem("certform") || doc.getElementById("certform");
			if (!form || form.tagName !== "FORM")
				return null;
			return REQUIRED.every((n) => field(form, n)) ? form : null;
		},
		challenge(form) {
			return field(form, "guid").value;
		},
		place(form, control) {
			form.parentNode.insertBefore(control, form);
		},
		complete(form, reply) {
			if (!reply || reply.ok !== true || typeof reply.token !== "string" ||
			    reply.token === "" || typeof reply.fert !== "string" ||
			    !/^[0-9]{12}Z$/.test(reply.fert))
				return false;
			field(form, "token").value = reply.token;
			field(form, "fert").value = reply.fert;
			field(form, "credentialsRequired").value = "CERT";
			for (const name of LEGACY) {
				const f = field(form, name);
				if (f)
					f.value = "";
			}
			// The guid stays as served: it is what the host signed.
			form.submit();
			return true;
		},
	});
})();
