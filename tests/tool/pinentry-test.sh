#!/bin/sh
# pinentry-test.sh - a pinentry for the tests, speaking Assuan as GnuPG's
# does: greets with OK, answers SETTITLE/SETDESC/SETPROMPT/SETERROR and
# OPTION with OK, and GETPIN with the next line of $PE_ANSWERS as
# "D password" + OK, or, for a line CANCEL, the cancel error.  Every
# command line is appended to $PE_LOG (the password is never in one).
# SPDX-License-Identifier: LGPL-2.1-or-later
echo "OK Pleased to meet you"
n=0
while IFS= read -r line; do
	printf '%s\n' "$line" >> "$PE_LOG"
	case $line in
	GETPIN)
		n=$((n + 1))
		a=$(sed -n "${n}p" "$PE_ANSWERS")
		if [ "$a" = CANCEL ]; then
			echo "ERR 83886179 Operation cancelled <Pinentry>"
		else
			printf 'D %s\nOK\n' "$a"
		fi ;;
	BYE) echo "OK closing connection"; exit 0 ;;
	*) echo OK ;;
	esac
done
