#!/bin/sh
# pinentry-test.sh - a pinentry for the tests, speaking Assuan as GnuPG's
# does: greets with OK, answers SETTITLE/SETDESC/SETPROMPT/SETERROR and
# OPTION with OK, and GETPIN with the next line of $PE_ANSWERS as
# "D password" + OK, or, for a line CANCEL, the cancel error.  Every
# command line is appended to $PE_LOG (the password is never in one).
# With $PE_TIMES set, the moments it answered a GETPIN and was closed (BYE
# or end of input) are appended there, "answer|close EPOCH-SECONDS", so a
# test can tell the time the host spent between the two (its C_Login).
# SPDX-License-Identifier: LGPL-2.1-or-later
stamp() {
	[ -n "${PE_TIMES:-}" ] && echo "$1 $(date +%s.%N)" >> "$PE_TIMES"
	return 0
}
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
			stamp answer
			printf 'D %s\nOK\n' "$a"
		fi ;;
	BYE) echo "OK closing connection"; stamp close; exit 0 ;;
	*) echo OK ;;
	esac
done
stamp close
