#!/usr/bin/perl
# nh-frame.pl - the browser's side of native messaging, for the tests:
#   nh-frame.pl frame MESSAGE...  each message framed as the browser frames
#                                 it (32-bit native-endian length, then the
#                                 bytes); "raw:HEX" is sent as those bytes,
#                                 unframed (a bad length, a short message)
#   nh-frame.pl unframe           the host's replies, one a line; a
#                                 truncated one as TRUNCATED
# (Perl, not Python: it starts in milliseconds on a loaded machine, and
# the test runs it twice per host session.)
# SPDX-License-Identifier: LGPL-2.1-or-later
use strict;
use warnings;
binmode STDOUT;
binmode STDIN;
my $mode = shift @ARGV;
if ($mode eq 'frame') {
	for my $m (@ARGV) {
		if ($m =~ /^raw:([0-9a-fA-F]*)$/) {
			print pack('H*', $1);
		} else {
			print pack('L', length($m)), $m;
		}
	}
	exit 0;
}
local $/;
my $in = <STDIN> // '';
while (length($in) > 0) {
	if (length($in) < 4) { print "TRUNCATED\n"; last; }
	my $n = unpack('L', substr($in, 0, 4));
	if (length($in) - 4 < $n) { print "TRUNCATED\n"; last; }
	print substr($in, 4, $n), "\n";
	$in = substr($in, 4 + $n);
}
