#!/bin/bash
# check-style.sh - the C lines changed since the house style was adopted
# are formatted as clang-format writes them (.clang-format).
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Diff-only: the base is the last commit that changed .clang-format, and
# what is checked is every C line added or changed since then, committed
# or not.  Code older than the style is left as it is until someone
# touches it.  Outside a git checkout (a release tarball) there is no
# history to compare with: skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
src=${EF_TEST_SRCDIR:-$here/..}

command -v git >/dev/null || skip_all "git is not installed"
fmt_diff=$(command -v clang-format-diff || command -v clang-format-diff-14) ||
	skip_all "clang-format-diff is not installed (Debian: clang-format)"
command -v clang-format >/dev/null || skip_all "clang-format is not installed"
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip_all "not a git checkout"
base=$(git -C "$src" log -n1 --format=%H -- .clang-format)
[ -n "$base" ] || skip_all ".clang-format is not committed yet"

changes=$(git -C "$src" diff -U0 --no-color "$base" -- '*.c' '*.h')
# clang-format-diff prints, as a diff, how the changed lines should read
out=$(cd "$src" && printf '%s\n' "$changes" | "$fmt_diff" -p1 -style=file 2>&1)
check "C lines changed since ${base:0:12} follow .clang-format (clang-format-diff prints nothing)" \
	"$([ -z "$out" ]; echo $?)" "$(printf '%s\n' "$out" | head -n 60)"
tap_done
