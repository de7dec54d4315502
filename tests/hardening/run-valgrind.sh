#!/bin/bash
# run-valgrind.sh - runs test programs under a valgrind tool
# ("make memcheck", "make helgrind").
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: run-valgrind.sh memcheck|helgrind PROGRAM...  (the environment of
# "make check" set).  Prints TAP, one line per program: "ok" when the
# program's own assertions all pass and valgrind reports no error (memcheck:
# invalid accesses, uninitialised values, definite leaks; helgrind: data
# races, lock-order problems, misuse of the pthread API).  Suppressions:
# tests/hardening/valgrind.supp, each entry explained there.  The logs are
# in tests/valgrind/TOOL/.  Child processes (fork/exec in some tests) run
# without valgrind.
set -u
tool=$1
shift
src=${EF_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
out=tests/valgrind/$tool
mkdir -p "$out"
if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP valgrind is not installed"
	exit 0
fi
case $tool in
memcheck)
	opts="--tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
	      --show-leak-kinds=definite --track-origins=yes" ;;
helgrind)
	opts="--tool=helgrind" ;;
*)
	echo "run-valgrind.sh: unknown tool $tool" >&2
	exit 2 ;;
esac
# Under valgrind the stress test keeps its time bound; less work is done.
export EF_STRESS_SECONDS=${EF_STRESS_SECONDS:-5}
# Tests that bound themselves with tap_alarm() against hangs give the
# slower run more time (the outer timeout below still applies).
export EF_TEST_TIME_SCALE=${EF_TEST_TIME_SCALE:-10}

n=0 failed=0
for prog in "$@"; do
	n=$((n + 1))
	name=${prog##*/}
	log=$out/$name.valgrind
	tap=$out/$name.tap
	# shellcheck disable=SC2086 # opts is a list of options
	timeout 1200 valgrind $opts --error-exitcode=99 --num-callers=30 \
		--suppressions="$src/tests/hardening/valgrind.supp" \
		--child-silent-after-fork=yes --log-file="$log" "$prog" >"$tap" 2>"$out/$name.stderr"
	rc=$?
	passed=$(grep -c '^ok ' "$tap")
	notok=$(grep -c '^not ok ' "$tap")
	plan=$(grep -c '^1\.\.[0-9]' "$tap")
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" = 0 ] && [ "$notok" = 0 ] && [ "$plan" = 1 ] && [ "${errors:-1}" = 0 ]; then
		echo "ok $n - $tool $name: $passed assertions passed, 0 errors"
	else
		failed=$((failed + 1))
		echo "not ok $n - $tool $name: exit $rc, $notok assertions failed, ${errors:-?} valgrind errors (log: $log)"
		grep -m 20 -E '^==[0-9]+== (Invalid|Conditional|Use of|Possible data race|Lock at|Thread #|[0-9,]+ bytes in)' "$log" | sed 's/^/# /'
		grep '^not ok' "$tap" | head -n 5 | sed 's/^/# /'
	fi
done
echo "1..$n"
[ "$failed" = 0 ]
