#!/bin/sh
# build.sh - packs the extension for one browser (make webext):
#   build.sh firefox|chromium SRCDIR OUTPUT GECKO_ID VERSION [MATCH]
# a zip with manifest.json at its root (an .xpi for Firefox).  MATCH: see
# gen-manifest.py (the browser tests' build).
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
browser=$1 src=$2 out=$3 gecko_id=$4 version=$5 match=${6:-}
files="background.js content.js sites/sites.js sites/sat.js chooser.html chooser.js
options.html options.js style.css _locales/es/messages.json _locales/en/messages.json"
stage=$(mktemp -d "${TMPDIR:-/tmp}/efirma-webext.XXXXXX")
trap 'rm -rf "$stage"' EXIT
for f in $files; do
	mkdir -p "$stage/$(dirname "$f")"
	cp "$src/$f" "$stage/$f"
done
python3 "$src/gen-manifest.py" "$browser" "$src/manifest.in.json" "$src/chromium-key.txt" \
	"$gecko_id" "$version" "$match" > "$stage/manifest.json"
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
rm -f "$out.tmp"
# -X: no extra file attributes; -D: no directory entries.
(cd "$stage" && zip -q -X -D -r "$out.tmp" manifest.json $files)
mv -f "$out.tmp" "$out"
