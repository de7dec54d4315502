# tap.sh - Test Anything Protocol helpers for the shell tests (sourced).
# SPDX-License-Identifier: LGPL-2.1-or-later
tap_n=0
tap_failed=0
# ok NAME COMMAND...: runs the command, one TAP line for its exit status.
ok() {
	local name=$1; shift
	tap_n=$((tap_n + 1))
	if "$@" >"${TAP_LOG:-/dev/null}" 2>&1; then
		echo "ok $tap_n - $name"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $name"
		[ -n "${TAP_LOG:-}" ] && sed 's/^/#   /' "$TAP_LOG" | tail -n 20
	fi
}
# check NAME CONDITION-RESULT: records a result computed by the caller
# (0 = pass), with an optional diagnostic as the third argument.
check() {
	tap_n=$((tap_n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $tap_n - $1"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $1"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
}
diag() { echo "# $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
tap_done() { echo "1..$tap_n"; [ "$tap_failed" = 0 ]; }
