#!/bin/sh
# wrapper.sh - runs one compiled test program for "make check".
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# automake gives the program's path; the unit tests take their data
# directory as argv[1], the API tests read $EF_TEST_* from the environment.
# EF_TEST_WRAPPER (for example "valgrind -q --error-exitcode=99
# --leak-check=full") is put in front of the program when set.
prog=$1
shift
data=${EF_TEST_DATA:?EF_TEST_DATA is not set (run through make check)}
case ${prog##*/} in
test-sat)    set -- "$data/sat/keyonly-certifica-2022-nonascii-password" "$@" ;;
test-crypto|test-object) set -- "$data/sat" "$@" ;;
esac
# shellcheck disable=SC2086 # EF_TEST_WRAPPER is a command line on purpose
exec ${EF_TEST_WRAPPER:-} "$prog" "$@"
