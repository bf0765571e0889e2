# Exit probe (perl: it starts and exits in a few ms, so the figure is the supervisor's, not the child's
# runtime's teardown): stamps the wall clock in ms as its last act, then exits with $ARGV[0] (default 0).
use strict;
use Time::HiRes qw(time);
$| = 1;
printf "T%.3f\n", time() * 1000;
exit($ARGV[0] // 0);
