#!/bin/bash
# setup-debian.sh - installs what the build and the tests need (Debian 12).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Idempotent: asks apt only when a package is missing.  Runs as root (CI)
# or through sudo.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config
	libssl-dev libp11-kit-dev openssl
	p11-kit p11-kit-modules opensc gnutls-bin libnss3-tools softhsm2
	libengine-pkcs11-openssl valgrind xxd
	# ACLs and extended attributes of the .key (test-setpin-file)
	acl attr
	# holds a race window open in the portal verifier's test
	strace
	# real clients: the browser, the web server, their automation
	firefox-esr nginx-light python3
	# the browser extension: its packages (make webext), its logic tests,
	# the second browser it is tested in (with its Spanish UI)
	zip unzip nodejs chromium chromium-l10n
	# Chromium with windows on a virtual X server, its password dialog
	# typed into as a user would (test-chromium-hotplug.sh)
	xvfb xdotool
	# efirma-tool's translations
	gettext locales
	# the Debian packages (make deb, tests/check-deb.sh)
	debhelper dpkg-dev lintian man-db
	# the house style (make check-style)
	clang-format git
	# fuzzing and sanitizers
	clang-14 libclang-rt-14-dev llvm-14
	# the suite under a clock moved three years ahead (tests/run-moved-clock.sh)
	faketime libfaketime
)

missing=()
for p in "${packages[@]}"; do
	# "install ok installed" only; a removed package leaves "deinstall ok config-files"
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} = 0 ]; then
	echo "setup-debian.sh: all ${#packages[@]} packages are installed"
	exit 0
fi

echo "setup-debian.sh: installing ${missing[*]}"
if [ "$(id -u)" = 0 ]; then
	sudo=()
elif command -v sudo >/dev/null; then
	sudo=(sudo)
else
	echo "setup-debian.sh: need root or sudo to install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"
