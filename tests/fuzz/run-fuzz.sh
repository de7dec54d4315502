#!/bin/bash
# run-fuzz.sh - runs each libFuzzer harness for a bounded time ("make fuzz").
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: run-fuzz.sh FUZZ_BIN_DIR SRCDIR SECONDS [HARNESS...]
# Prints TAP: one line per harness, "ok" when it ran its time with no
# finding (crash, sanitizer report, leak, timeout, out-of-memory), with the
# executions and corpus size from libFuzzer's final statistics.  Findings
# are kept in FUZZ_BIN_DIR/findings/NAME/; add each to
# tests/fuzz/regress/NAME/ so that "make check" replays it.
# FUZZ_JOBS (default 2) harnesses run at once.
set -u
bin=$1 src=$2 secs=$3
shift 3
names=${*:-cert key config api native}
data=$src/tests/data
jobs=${FUZZ_JOBS:-2}

# Seeds: the SAT files (certificates as they are; keys behind a
# password-length byte and the password), then the seeds kept in the tree.
seed() {
	local name=$1 dir=$bin/corpus/$1 f n
	mkdir -p "$dir"
	case $name in
	cert)
		find "$data/sat" -type f \( -name '*.cer' -o -name '*.pem' -o -name '*.der' \) |
		while read -r f; do cp "$f" "$dir/sat-$(basename "$f")"; done ;;
	key)
		n=0
		find "$data/sat" -type f \( -name '*.key' -o -name '*.der' \) | while read -r f; do
			n=$((n + 1))
			{ printf '\011%s' 12345678a; cat "$f"; } >"$dir/sat-$n-$(basename "$f")"
			# the same key with a wrong password
			{ printf '\011%s' 12345678b; cat "$f"; } >"$dir/sat-$n-wrong"
		done ;;
	esac
	if [ -d "$src/tests/fuzz/seeds/$name" ]; then
		cp "$src/tests/fuzz/seeds/$name"/* "$dir/" 2>/dev/null
	fi
	if [ -d "$src/tests/fuzz/regress/$name" ]; then
		find "$src/tests/fuzz/regress/$name" -type f -exec cp {} "$dir/" \;
	fi
}

maxlen() {
	case $1 in
	cert) echo 8192 ;;
	key) echo 4096 ;;
	config) echo 4096 ;;
	native) echo 4096 ;;
	*) echo 2048 ;;
	esac
}

run_one() {
	local name=$1 log=$bin/fuzz-$1.log art=$bin/findings/$1
	rm -rf "$art"
	mkdir -p "$art"
	seed "$name"
	# LeakSanitizer is on; -timeout makes a hang a finding; stderr of the
	# module is quiet in these builds (fuzz-common.h).
	EF_TEST_DATA=$data "$bin/fuzz-$name" -max_total_time="$secs" -timeout=30 \
		-rss_limit_mb=2560 -max_len="$(maxlen "$name")" -print_final_stats=1 \
		-artifact_prefix="$art/" "$bin/corpus/$name" >"$log" 2>&1
	echo $? >"$bin/fuzz-$name.rc"
}

mkdir -p "$bin/corpus"
running=0
for name in $names; do
	run_one "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

n=0 failed=0 total_execs=0
for name in $names; do
	n=$((n + 1))
	log=$bin/fuzz-$name.log
	rc=$(cat "$bin/fuzz-$name.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	corpus=$(find "$bin/corpus/$name" -type f | wc -l)
	findings=$(find "$bin/findings/$name" -type f ! -name 'slow-unit-*' | wc -l)
	total_execs=$((total_execs + ${execs:-0}))
	if [ "$rc" = 0 ] && [ "$findings" = 0 ] && [ -n "$execs" ]; then
		echo "ok $n - fuzz-$name: $secs s, ${execs} executions, corpus $corpus inputs, 0 findings"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz-$name: exit $rc, $findings findings in $bin/findings/$name (log: $log)"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written' "$log" | head -n 20 | sed 's/^/# /'
	fi
done
echo "1..$n"
echo "# fuzz total: $total_execs executions"
[ "$failed" = 0 ]
