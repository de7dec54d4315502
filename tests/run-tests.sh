#!/bin/bash
# run-tests.sh - the whole test suite from a clean checkout:
# install the Debian packages, build, "make check", then one summary line
# "N passed, N failed[, N skipped]" counting every TAP assertion.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Environment: CONFIGURE_FLAGS (extra ./configure arguments),
# MAKEFLAGS_J (parallel jobs, default 2).  CI=true (or EF_HEAVY=1) adds the
# hardening stages after "make check" (README "Security"): each fuzzer for
# FUZZ_SECONDS (default 60), "make check" of the C tests in a separate
# -fsanitize=address,undefined build, "make memcheck" and "make helgrind",
# and the suite but the browsers, then tests/demo.sh, under a clock moved
# three years ahead (tests/run-moved-clock.sh, libfaketime); their TAP
# results count in the summary line.
# then the Debian packages (tests/check-deb.sh: make deb, lintian, install,
# use, purge; as root); their TAP results count in the summary line.
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

# The hardening stages (tests/hardening/local.am): each prints TAP, kept
# in tests/stage-NAME.tap and counted below.
stage_pass=0 stage_fail=0
stage() {
	local name=$1
	shift
	step "stage $name: $*"
	"$@" 2>&1 | tee "tests/stage-$name.log" | grep -E '^(not )?ok |^# |^1\.\.' >"tests/stage-$name.tap"
	cat "tests/stage-$name.tap"
	local p f
	p=$(grep -c '^ok ' "tests/stage-$name.tap")
	f=$(grep -c '^not ok ' "tests/stage-$name.tap")
	# a stage that printed nothing (a build failure) is one failure
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		f=1
		tail -n 30 "tests/stage-$name.log"
	fi
	stage_pass=$((stage_pass + p))
	stage_fail=$((stage_fail + f))
}
# The C tests of "make check" in a build with ASan and UBSan.  The shell
# tests that drive pkcs11-tool and p11tool are left out there: those
# programs are not built with ASan, and loading an ASan module into them
# needs LD_PRELOAD of libasan in every process the scripts start.
asan_check() {
	local dir=${TMPDIR:-/tmp}/efirma-asan-build
	local san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
	# A clean copy of the sources (this tree is configured in place, so
	# it cannot serve a second build directory).
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	make distdir distdir="$dir/src" >/dev/null || return 1
	cd "$dir/src" || return 1
	./configure CC=gcc CFLAGS="-g -O1 $san" LDFLAGS="$san" >/dev/null || return 1
	make -j"$jobs" >/dev/null || return 1
	local tests
	tests=$(make -s print-c-tests | tail -n 1) || return 1
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		make -j"$jobs" check TESTS="$tests" >/dev/null
	# every assertion of every test, as TAP for the stage counter
	find tests -name '*.trs' | sort | while read -r trs; do
		sed -n "s|^:test-result: PASS.*|ok - asan ${trs%.trs}|p
			s|^:test-result: \(FAIL\|ERROR\|XPASS\).*|not ok - asan ${trs%.trs}|p" "$trs"
	done
	find tests -name '*.trs' -exec grep -l '^:test-result: \(FAIL\|ERROR\)' {} + |
	while read -r trs; do sed 's/^/# /' "${trs%.trs}.log" | grep -E 'ERROR|SUMMARY|not ok|runtime error' | head -n 20; done
}
# "make distcheck": the release tarball builds out of tree, installs as
# the user running it into its own prefix, passes its tests and
# uninstalls without a trace.  Its tests are the C tests and the install
# checks: the client and browser tests ran on the same sources above.
distcheck_run() {
	local tests out=${TMPDIR:-/tmp}/efirma-distcheck.out
	tests="$(make -s print-c-tests | tail -n 1) tests/check-exports.sh tests/check-install.sh tests/check-prefix-install.sh"
	if make -j"$jobs" distcheck TESTS="$tests" >"$out" 2>&1; then
		echo "ok - make distcheck (the C tests and the install checks in it)"
	else
		echo "not ok - make distcheck"
		grep -E '^(FAIL|ERROR):|Error|error:' "$out" | head -n 20 | sed 's/^/# /'
		tail -n 20 "$out" | sed 's/^/# /'
	fi
	rm -f "$out"
}
if [ $build_ok = 1 ] && { [ "${CI:-}" = true ] || [ "${EF_HEAVY:-}" = 1 ]; }; then
	stage fuzz make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
	stage asan asan_check
	stage memcheck make memcheck
	stage helgrind make helgrind
	# No test may depend on today's date (SAT's test e.firma expires on
	# 2027-05-08): the same results three years from now.
	stage faketime bash tests/run-moved-clock.sh
	# The packages built, installed into this machine, used and purged
	# (it purges at exit whatever happened).
	stage deb bash tests/check-deb.sh
	stage distcheck distcheck_run
fi

# What the build and the tests leave in a checkout is either cleaned up or
# listed in .gitignore: "git status" after them must be empty (a file that
# shows up there would be committed by the next "git add -A").
tree_clean() {
	local dirty
	dirty=$(git status --porcelain --untracked-files=all) || return 1
	if [ -z "$dirty" ]; then
		echo "ok - git status --porcelain is empty after the build and the tests"
	else
		echo "not ok - git status --porcelain is not empty after the build and the tests"
		printf '%s\n' "$dirty" | head -n 40 | sed 's/^/# /'
	fi
}
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	stage tree tree_clean
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

passed=$((passed + stage_pass))
failed=$((failed + stage_fail))

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
