# Load probe for bench/scale.mjs: one short line every $ARGV[0] ms, forever (until killed). Perl, not
# node: 500 node tickers cost 20-40 CPU-seconds of start-up and ~20 GB of RSS on the same 2 cores the
# supervisor is measured on; both modes of scale.mjs run the same child, so the ratio is unchanged.
$| = 1;
my $every = ($ARGV[0] // 1000) / 1000;
my $n = 0;
while (1) {
  print "tick ", $n++, "\n";
  select(undef, undef, undef, $every);
}
