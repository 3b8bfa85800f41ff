# The maintenance worker lives as long as the server and makes, moves and drops partitions all
# along. Postgres keeps some catalog cache entries of a partition after its drop (entries for
# catalog rows that never existed, such as its columns' statistics, which nothing frees): with
# partitions moved to a cold tablespace and then dropped, the worker's CacheMemoryContext grew
# by about 700 bytes a partition, for good (283 kB over 50 hourly steps of the eight tables
# below). The worker now resets its catalog caches between runs once they hold 64 kB more than
# after its first run since the last reset. Driven with the wall clock stepped an hour at a time
# (test/tools/clock_shift.cpp); measured in CacheMemoryContext's used bytes, which
# pg_log_backend_memory_contexts writes to the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = clock_shifted_worker_node('worker_memory_long_life', 'log_min_messages = debug1');
my $cold = PostgreSQL::Test::Utils::tempdir();
# Hourly, a day ahead and a day kept, moved to cold after 3 hours; no default partition (the
# worker then detaches concurrently before it drops).
my $cols = join(', ', map { "c$_ text" } 1 .. 30);
my @tables = map { "t$_" } 1 .. 8;
$node->safe_psql('postgres', qq{
CREATE EXTENSION ai_scale;
CREATE TABLESPACE cold LOCATION '$cold';
} . join('', map { qq{
CREATE TABLE $_ (at timestamptz NOT NULL, $cols) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('$_', '1 hour', 24, '1 day', 'drop', '3 hours',
                                                'cold');
DROP TABLE ${_}_default;} } @tables));

# CacheMemoryContext's used bytes in the worker, as it logs them; and its pid.
sub cache_used { return context_used($node, 'ai_scale maintenance', 'CacheMemoryContext') }

# Steps the clock an hour and waits until the worker has made, moved and dropped what the hour
# asks of every table: partitions from a day back (its drop) to a day ahead, none older hot.
my $shift = 0;
sub step {
    $shift += 3600;
    shift_clock($node, $shift);
    for my $t (@tables) {
        $node->poll_query_until('postgres', qq{
SELECT min(lower::timestamptz) >= now() - interval '26 hours'
   AND max(upper::timestamptz) >= now() + interval '24 hours'
   AND bool_and(tablespace = 'cold' OR upper::timestamptz > now() - interval '4 hours')
  FROM ai_scale.partitions('$t') WHERE lower IS NOT NULL}) or die "the worker did not catch up";
    }
}

# The most CacheMemoryContext held at the ends of 5 pairs of steps (a reset leaves it smaller
# till the next ones), and the pid of the worker.
sub most_used {
    my ($most, $pid) = (0, undef);
    for (1 .. 5) {
        step() for 1 .. 2;
        my ($used, $now_pid) = cache_used();
        $most = $used if $used > $most;
        $pid //= $now_pid;
        die 'the worker was restarted' if $now_pid != $pid;
    }
    return ($most, $pid);
}

# Past the first two days, so that every kind of step (make, move, detach, drop) has run, and
# run as often.
step() for 1 .. 50;
my $offset = -s $node->logfile;
my ($early, $pid) = most_used();
step() for 1 .. 40;
my ($late, $late_pid) = most_used();
is($late_pid, $pid, 'the same worker');
note("CacheMemoryContext used: at most $early, then 50 steps later at most $late bytes");
# Before: 283 kB more (5.7 kB a step), and more with each step; now none.
cmp_ok($late - $early, '<', 128 * 1024, "the worker's catalog caches stay bounded");
ok($node->log_contains(qr/ai_scale maintenance worker in database "postgres" reset its catalog caches/, $offset),
    'and it logged the reset');
is($node->safe_psql('postgres', q{SELECT value FROM ai_scale.stats WHERE metric = 'errors'
                                   AND section = 'maintenance'}), '0', 'no run failed');

$node->stop;
done_testing();
