#!/bin/bash
# run-tests.sh - the whole test suite from a clean checkout:
# install the Debian packages, build, "make check", then one summary line
# "N passed, N failed[, N skipped]" counting every TAP assertion.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Environment: CONFIGURE_FLAGS (extra ./configure arguments),
# MAKEFLAGS_J (parallel jobs, default 2).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
jobs=${MAKEFLAGS_J:-2}

step() { printf '\n=== %s\n' "$*"; }

step "setup (tests/setup-debian.sh)"
bash tests/setup-debian.sh || exit 1

build_ok=1
step "autogen + configure"
# shellcheck disable=SC2086 # CONFIGURE_FLAGS is a list of arguments
if ! { ./autogen.sh >/dev/null && ./configure ${CONFIGURE_FLAGS:-} >/dev/null; }; then
	echo "run-tests.sh: autogen/configure failed (see config.log)" >&2
	build_ok=0
fi
if [ $build_ok = 1 ]; then
	step "make -j$jobs"
	make -j"$jobs" || build_ok=0
fi

rm -f test-suite.log
if [ $build_ok = 1 ]; then
	step "make -j$jobs check"
	make -j"$jobs" check
fi

# The logs of every test that failed (including failed assertions in an
# otherwise passing program), before the summary.
failed_logs=$(find tests -name '*.trs' -exec grep -lE '^:test-result: (FAIL|ERROR|XPASS)' {} + 2>/dev/null | sort)
for trs in $failed_logs; do
	log=${trs%.trs}.log
	[ -f "$log" ] || continue
	printf '\n=== FAILED: %s\n' "$log"
	cat "$log"
done

count() { sed -n "s/^# $1: *\\([0-9][0-9]*\\)\$/\\1/p" test-suite.log | head -n 1; }
if [ -f test-suite.log ]; then
	pass=$(count PASS); xfail=$(count XFAIL); skip=$(count SKIP)
	fail=$(count FAIL); xpass=$(count XPASS); error=$(count ERROR)
	passed=$(( ${pass:-0} + ${xfail:-0} ))
	failed=$(( ${fail:-0} + ${xpass:-0} + ${error:-0} ))
	skipped=${skip:-0}
else
	# the build (or building the tests) failed: nothing ran
	echo "run-tests.sh: no test-suite.log: the build or the test programs failed to build" >&2
	passed=0 failed=1 skipped=0
fi

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
