#!/bin/sh
# build-openssl-mingw.sh - OpenSSL 3 for Windows (x86_64-w64-mingw32),
# static, built from Debian's own openssl source package, once: the result
# is cached and reused while Debian's version stays the same (issue 15).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: tools/win/build-openssl-mingw.sh [CACHE_DIR]
#   CACHE_DIR  default: ${XDG_CACHE_HOME:-~/.cache}/efirma-pkcs11/openssl-mingw
# Prints the installation prefix (CACHE_DIR/VERSION) on its last line; its
# lib64/pkgconfig/libcrypto.pc is what a cross ./configure wants in
# PKG_CONFIG_PATH (or PKG_CONFIG_LIBDIR).
#
# Needs: gcc-mingw-w64-x86-64, dpkg-dev (dpkg-source), perl, make.
# apt-get source needs a deb-src entry.  Debian 12's image has only "deb"
# ones; when none is there this script, run as root, adds
# /etc/apt/sources.list.d/efirma-deb-src.sources (bookworm, its updates and
# security suites, main) and runs apt-get update; run as another user it
# stops and prints that file for an administrator to add.
#
# Static (no-shared) and without loadable modules (no-module), so that
# efirma-pkcs11.dll carries OpenSSL inside and needs nothing beside it.
# JOBS=N sets make's parallel jobs (default 1).
set -eu

host=x86_64-w64-mingw32
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/efirma-pkcs11/openssl-mingw}
jobs=${JOBS:-1}
src_list=/etc/apt/sources.list.d/efirma-deb-src.sources

die() {
	echo "build-openssl-mingw: $*" >&2
	exit 1
}

command -v "$host-gcc" >/dev/null ||
	die "$host-gcc not found (apt-get install gcc-mingw-w64-x86-64)"
command -v dpkg-source >/dev/null || die "dpkg-source not found (apt-get install dpkg-dev)"

# A deb-src entry, so that apt knows the source package's version.
if ! apt-cache showsrc openssl 2>/dev/null | grep -q '^Version:'; then
	entry='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
	if [ "$(id -u)" -ne 0 ]; then
		die "apt has no deb-src entry for openssl; as root, write this to $src_list
and run apt-get update:
$entry"
	fi
	echo "build-openssl-mingw: no deb-src entry: adding $src_list" >&2
	printf '%s\n' "$entry" >"$src_list"
	apt-get update -q >&2
fi

# Newest first: a mirror may lack the newest version's files (a security
# update's .dsc not yet mirrored), and then the one before it is built.
versions=$(apt-cache showsrc openssl | sed -n 's/^Version: //p' | sort -rV | uniq)
[ -n "$versions" ] || die "apt-cache showsrc openssl gives no version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=
for v in $versions; do
	if [ -f "$cache/$v/.built" ]; then
		echo "build-openssl-mingw: cached: $cache/$v" >&2
		echo "$cache/$v"
		exit 0
	fi
	# A normal download (no root needed), checked by apt against the
	# signed Sources index; dpkg-source then applies Debian's patches.
	if (cd "$work" && apt-get source -q --download-only "openssl=$v" >&2); then
		version=$v
		break
	fi
	echo "build-openssl-mingw: openssl $v cannot be fetched; trying an older one" >&2
	rm -f "$work"/openssl_*
done
[ -n "$version" ] || die "no version of Debian's openssl source could be fetched"
prefix=$cache/$version
(cd "$work" && dpkg-source -x --no-check openssl_"$version".dsc src >&2)
cd "$work/src"
# mingw64: the 64-bit Windows target of OpenSSL's Configure.  The
# OPENSSLDIR compiled in is never read: the module loads no configuration
# (module/ossl_ctx.c).
./Configure mingw64 --cross-compile-prefix="$host-" \
	no-shared no-module no-tests \
	--prefix="$prefix" --libdir=lib64 --openssldir="$prefix/ssl" >&2
make -j"$jobs" build_sw >&2
rm -rf "$prefix"
make install_sw >&2
# Only a complete installation counts as cached.
touch "$prefix/.built"
echo "build-openssl-mingw: built OpenSSL $version for $host in $prefix" >&2
echo "$prefix"
