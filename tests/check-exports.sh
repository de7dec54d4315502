#!/bin/bash
# check-exports.sh - the module exports exactly the three PKCS#11 getters.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# [PKCS#11 3.0 5.2] an application finds everything through C_GetFunctionList
# or C_GetInterfaceList / C_GetInterface; any other exported symbol could
# clash with the host program or another module (doc/DESIGN.md §6).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"

module=${EF_TEST_MODULE:-}
[ -n "$module" ] || skip_all "EF_TEST_MODULE is not set (run through make check)"
command -v nm >/dev/null || skip_all "nm (binutils) is not installed"

check "module exists: $module" "$([ -f "$module" ]; echo $?)"
syms=$(nm -D --defined-only "$module" 2>&1)
check "nm -D reads the module" "$?" "$syms"
# Only global code/data symbols count (T/D/B/R/W/V/i); nm also lists the
# absolute version-node symbols of a version script (type A).
exported=$(printf '%s\n' "$syms" | awk '$2 ~ /^[TDBRWVi]$/ { print $3 }' | sort)
want=$(printf '%s\n' C_GetFunctionList C_GetInterface C_GetInterfaceList | sort)
check "exports exactly C_GetFunctionList, C_GetInterfaceList, C_GetInterface" \
	"$([ "$exported" = "$want" ]; echo $?)" "exported: $(printf '%s ' $exported)"
for s in C_GetFunctionList C_GetInterfaceList C_GetInterface; do
	check "$s is a function (text symbol)" \
		"$(printf '%s\n' "$syms" | grep -Eq "^[0-9a-f]+ T $s\$"; echo $?)"
done
# Nothing undefined may come from outside libc, libcrypto and the loader:
# a module must not depend on symbols its host happens to provide.
undef=$(nm -D --undefined-only "$module" 2>/dev/null | awk '{ print $2 }' |
	grep -Ev '@(GLIBC|OPENSSL)_|^_(_gmon_start__|ITM_|_cxa_finalize|Jv_)' || true)
check "no undefined symbols beyond libc/libcrypto" "$([ -z "$undef" ]; echo $?)" "$undef"
tap_done
