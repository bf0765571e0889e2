# Exit probe whose output comes well before its exit (bench/exit-breakdown.mjs LATE=1): prints a line,
# waits 30 ms, then stamps the wall clock in ms into the file $ARGV[0] (not the terminal) as its last act
# and exits 0. Against stamp-exit.pl it tells what the supervisor's turn on an output right before an exit
# costs that exit.
use strict;
use Time::HiRes qw(time sleep);
$| = 1;
print "ready\n";
sleep(0.03);
open(my $fh, '>', $ARGV[0]) or die "stamp file: $!";
printf $fh "T%.3f\n", time() * 1000;
close($fh);
exit(0);
