#!/bin/sh
# autogen.sh - makes ./configure from a git checkout.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
# automake's TAP driver is not installed by --add-missing: copy it from the
# automake in use.
if [ ! -f build-aux/tap-driver.sh ]; then
	am_dir=$(automake --print-libdir)
	cp "$am_dir/tap-driver.sh" build-aux/tap-driver.sh
	chmod +x build-aux/tap-driver.sh
fi
autoreconf --force --install --verbose "$@"
echo "Now run ./configure && make && make check"
