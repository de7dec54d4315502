#!/bin/bash
# run-moved-clock.sh [OFFSET] - the suite but the browsers, and
# tests/demo.sh, under a clock moved ahead (libfaketime; OFFSET in its
# FAKETIME syntax, default +3y = 3 x 365 days).  Prints TAP: one line per
# test program or script, and one for the demo.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Why: SAT's test e.firma (tests/data/sat, CACX7605101P8) expires on
# 2027-05-08.  Every test whose result depends on a certificate being
# valid must use the bundles tests/gen-bundles.sh makes at test time, and
# every validity check on SAT's files must be pinned to a fixed time
# (doc/HACKING.md); this run finds the tests that forgot.
#
# It works on a copy of the sources (make distdir) built with the real
# clock, so the checkout's build, its tests/gen and its test logs are not
# touched.  Only "make check" and the demo run under the moved clock; the
# bundles of tests/gen are made by that "make check", so under that clock
# too, as a run in three years would make them.  The copy is removed
# afterwards unless EF_TEST_KEEP is set.  Environment: MAKEFLAGS_J
# (parallel jobs, default 2).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
offset=${1:-+3y}
jobs=${MAKEFLAGS_J:-2}

lib=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \
	/usr/local/lib/faketime/libfaketimeMT.so.1; do
	[ -f "$f" ] && { lib=$f; break; }
done
if [ -z "$lib" ]; then
	echo "not ok - libfaketime is not installed (tests/setup-debian.sh installs it)"
	exit 1
fi

dir=${TMPDIR:-/tmp}/efirma-moved-clock-build
rm -rf "$dir" && mkdir -p "$dir" || exit 1
[ -n "${EF_TEST_KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
# The build with the real clock: sources, programs, test programs.
if ! { make distdir distdir="$dir/src" >/dev/null && cd "$dir/src" &&
	./configure >/dev/null && make -j"$jobs" >/dev/null &&
	make -j"$jobs" check TESTS= >/dev/null; }; then
	echo "not ok - the copy in $dir/src does not build"
	exit 1
fi
rm -rf tests/gen  # made again by "make check", under the moved clock
tests=$(make -s print-tests | tail -n 1 | tr ' ' '\n' | grep -vE 'firefox|chromium' | tr '\n' ' ')

# moved CMD...: CMD and every process it starts see the clock OFFSET
# ahead.  NO_FAKE_STAT: files keep their real times, so make compares
# them as they are (nothing is rebuilt).  The monotonic clock moves by the
# same offset, which leaves durations as they are: with libfaketime
# 0.9.10, FAKETIME_DONT_FAKE_MONOTONIC=1 makes every absolute monotonic
# sleep fail with EINVAL (Python's time.sleep).  strace keeps the real
# clock (its injected delays wait on the monotonic clock and, moved, never
# end); the programs it traces do not.  A program that sets its own
# LD_PRELOAD (test-setpin-faults's shim) or is set-uid runs with the real
# clock.
moved() {
	env LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" FAKETIME="$offset" NO_FAKE_STAT=1 \
		FAKETIME_SKIP_CMDS=strace "$@"
}
echo "# clock moved $offset: $(moved date -u '+%Y-%m-%d %H:%M:%S UTC') (libfaketime $lib)"

# shellcheck disable=SC2086 # $tests is a list of names
moved make -j"$jobs" check TESTS="$tests" >"$dir/check.out" 2>&1
for t in $tests; do
	base=${t%.sh}  # automake's name for the .log and .trs
	trs=$base.trs
	if grep -q '^:test-result: SKIP' "$trs" 2>/dev/null &&
		! grep -qE '^:test-result: (PASS|FAIL|ERROR|XPASS)' "$trs"; then
		echo "ok - moved clock: $t # SKIP"
	elif [ -f "$trs" ] && ! grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		echo "ok - moved clock: $t"
	else
		echo "not ok - moved clock: $t"
		sed -n 's/^\(not ok .*\)/# \1/p' "$base.log" 2>/dev/null | head -n 20
	fi
done
sed -n 's/^\(# \(TOTAL\|PASS\|SKIP\|FAIL\|ERROR\):.*\)/\1/p' "$dir/check.out" | head -n 5

# The README's main job, as a user would run it in three years.
if moved bash tests/demo.sh >"$dir/demo.out" 2>&1; then
	echo "ok - moved clock: tests/demo.sh"
else
	echo "not ok - moved clock: tests/demo.sh"
	tail -n 20 "$dir/demo.out" | sed 's/^/# /'
fi
