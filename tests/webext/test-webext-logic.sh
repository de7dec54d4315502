#!/bin/bash
# test-webext-logic.sh - the extension's logic under node (no browser):
# see test-webext-logic.js.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "${EF_TEST_SRCDIR:?}/tests/tap.sh"
command -v node >/dev/null || skip_all "node is not installed"
exec node "$EF_TEST_SRCDIR/tests/webext/test-webext-logic.js" "$EF_TEST_SRCDIR/tools/webext"
