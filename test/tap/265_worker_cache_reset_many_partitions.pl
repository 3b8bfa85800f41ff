# The maintenance worker resets its catalog caches between runs once they hold much more than
# a run needs (TAP 253), measuring what a run needs after the first run since the last reset,
# most often one with nothing to do. A run that makes and drops a partition needs more, in
# proportion to the partitions its tables have: with 10,000 partitions, 78 to 221 kB more than
# a no-op run's 11.4 MB, and a fixed 64 kB bound reset the caches at every such run, each next
# run reading them all again (80 ms against 2 ms). The bound is now 64 kB or an eighth of what a
# run needs, whichever is more. Driven with the wall clock stepped an hour at a time
# (test/tools/clock_shift.cpp); the resets counted in the worker's DEBUG1 lines.
# 3,000 partitions, not 10,000: making them is most of the test's time, and grows with the
# square of their number (Postgres reads every partition's bound again at each one): about 250 s
# for 10,000 in CI, 52 s for 5,000 and 34 s for 3,000 alone on two cores. With 3,000, a run that
# makes and drops one needs 215 kB more than a no-op run's 4.1 MB: the fixed 64 kB bound still
# reset the caches at all six runs (checked with it put back), and an eighth of 4.1 MB is 510 kB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $n = 3000;
my $node = clock_shifted_worker_node('worker_cache_reset_many_partitions', 'log_min_messages = debug1');
# $n hourly partitions, the last ending 10 hours from now, 500 to a transaction.
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE big (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);}
    . join('', map { qq{
DO \$\$ BEGIN
FOR i IN $_ * 500 .. $_ * 500 + 499 LOOP
  EXECUTE format('CREATE TABLE %I PARTITION OF big FOR VALUES FROM (%L) TO (%L)', 'big_' || i,
                 date_trunc('hour', now()) + make_interval(hours => i - $n + 10),
                 date_trunc('hour', now()) + make_interval(hours => i - $n + 11));
END LOOP; END \$\$;} } 0 .. $n / 500 - 1));
# Kept $n - 11 hours and made 10 ahead: every hour, a run makes one partition and drops one.
$node->safe_psql('postgres',
    "SELECT count(*) FROM ai_scale.manage_partitions('big', '1 hour', 10, '${\ ($n - 11)} hours')");

my $caught_up = qq{
SELECT max(upper::timestamptz) >= now() + interval '9 hours'
   AND min(lower::timestamptz) >= now() - interval '${\ ($n - 9)} hours'
  FROM ai_scale.partitions('big') WHERE lower IS NOT NULL};
# Past the runs that first read the table (its caches grown by it, one reset) and the first run
# since.
sub runs_done {
    maintenance_runs_reach($node, maintenance_runs($node) + 3) or die 'no runs';
}
$node->poll_query_until('postgres', $caught_up) or die 'the worker did not catch up';
runs_done();

my $offset = -s $node->logfile;
for my $hour (1 .. 6) {
    shift_clock($node, 3600 * $hour);
    $node->poll_query_until('postgres', $caught_up) or die 'the worker did not catch up';
    runs_done();
}
my $resets = () = slurp_file($node->logfile, $offset)
    =~ /ai_scale maintenance worker in database "postgres" reset its catalog caches/g;
# Before: 6, one at each hour's run.
is($resets, 0, "runs that make and drop a partition of $n do not reset the caches");
is($node->safe_psql('postgres', q{SELECT value FROM ai_scale.stats WHERE metric = 'errors'
                                   AND section = 'maintenance'}), '0', 'no run failed');

$node->stop;
done_testing();
