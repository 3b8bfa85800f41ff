# The maintenance worker lives as long as the server and makes, moves and drops partitions all
# along. Postgres keeps some catalog cache entries of a partition after its drop (entries for
# catalog rows that never existed, such as its columns' statistics, which nothing frees): with
# partitions moved to a cold tablespace and then dropped, the worker's CacheMemoryContext grew
# by about 700 bytes a partition, for good (283 kB over 50 hourly steps of the eight tables
# below). The worker now resets its catalog caches between runs once they hold an eighth more
# than after its first run since the last reset (64 kB if that is more). Driven with the wall
# clock stepped an hour at a time (test/tools/clock_shift.cpp); measured in CacheMemoryContext's
# used bytes, which pg_log_backend_memory_contexts writes to the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use List::Util qw(max);

# The naptime is an hour, and each step asks for its runs with a reload (a reload starts a run at
# once; the naptime is on the monotonic clock, which the steps leave alone): every run makes,
# moves or drops something, and the worker naps between them, when its memory is dumped. (With
# a naptime of 1 s, most runs had nothing to do, and each dump raised the naptime and put it
# back, two reloads and two runs more.)
my $node = clock_shifted_worker_node('worker_memory_long_life', 'log_min_messages = debug1',
                                     "ai_scale.maintenance_naptime = '1h'");
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

# Starts a run with a reload and waits until it has ended and the worker naps.
sub run_once {
    my $runs = maintenance_runs($node);
    $node->safe_psql('postgres', 'SELECT pg_reload_conf()');
    $node->poll_query_until('postgres', qq{
SELECT $maintenance_runs_sql > $runs AND wait_event = 'Extension'
  FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'})
      or die 'the worker did not run and nap after the reload';
}

# Steps the clock an hour and runs the worker until it has made, moved and dropped what the
# hour asks of every table: partitions from a day back (its drop) to a day ahead, none older
# hot: one run has done it every time so far, and another is started if not. (One query for the
# eight tables: a poll a table, each its own psql, was most of a step.)
my $shift = 0;
my $extra_runs = 0;
my $tables_array = join(', ', map { "'$_'" } @tables);
my $caught_up = qq{
SELECT bool_and(coalesce(caught_up, false))
  FROM unnest(ARRAY[$tables_array]::regclass[]) t,
       LATERAL (SELECT min(lower::timestamptz) >= now() - interval '26 hours'
                   AND max(upper::timestamptz) >= now() + interval '24 hours'
                   AND bool_and(tablespace = 'cold'
                                OR upper::timestamptz > now() - interval '4 hours') AS caught_up
                  FROM ai_scale.partitions(t) WHERE lower IS NOT NULL) p};
sub step {
    $shift += 3600;
    shift_clock($node, $shift);
    for (my $tries = 1;; $tries++) {
        run_once();
        last if $node->safe_psql('postgres', $caught_up) eq 't';
        die 'the worker did not catch up in 10 runs' if $tries == 10;
        $extra_runs++;
    }
}

# The most CacheMemoryContext held after each of $n steps (the worker napping after the step's
# runs), and the pid of the worker.
sub most_used {
    my ($n) = @_;
    my ($most, $pid) = (0, undef);
    for (1 .. $n) {
        step();
        my ($used, $now_pid) = context_used($node, 'ai_scale maintenance', 'CacheMemoryContext');
        $most = $used if $used > $most;
        $pid //= $now_pid;
        die 'the worker was restarted' if $now_pid != $pid;
    }
    return ($most, $pid);
}

# The most the worker said its caches held when it reset them, in the log from $from to $to.
sub most_held_at_reset {
    my ($from, $to) = @_;
    my $log = substr(slurp_file($node->logfile, $from), 0, $to - $from);
    return max(0, $log =~ /reset its catalog caches\n[^\n]*DETAIL:  They held (\d+) bytes/g);
}

# Past the first two days, so that every kind of step (make, move, detach, drop) has run, and
# run as often.
step() for 1 .. 50;
my $offset = -s $node->logfile;
my ($early, $pid) = most_used(20);
step() for 1 .. 20;
my $middle = -s $node->logfile;
my ($late, $late_pid) = most_used(15);
is($late_pid, $pid, 'the same worker');
# The most the caches held, between runs (sampled after each step) or at a reset (the worker's
# own figure, the peak a sample may miss), in steps 51-70 and in steps 71-105.
my $early_most = max($early, most_held_at_reset($offset, $middle));
my $late_most = max($late, most_held_at_reset($middle, -s $node->logfile));
note("CacheMemoryContext used: at most $early_most in steps 51-70, at most $late_most in steps "
      . "71-105 ($early and $late sampled in steps 51-70 and 91-105); runs beyond one a step: "
      . $extra_runs);
# A reset leaves the caches with what the next run reads again, and the first run since sets
# the mark the next reset is measured from (here always a run that makes, moves and drops: about
# 1.9 MB). The worker resets once they hold an eighth more than that mark. Two windows compared
# by growth (an allowance of 128 kB, from when the margin was a fixed 64 kB) differed by 498 kB
# in a run of the suite four files at a time on two cores, when runs with nothing to do (1.36
# MB) could set the mark early and working runs late. What must hold whatever the timing is
# that late they stay within an eighth of what they reached early, plus 64 kB. That catches
# caches that run away, by more than about 8 kB a step that no reset gives back (over the 35
# steps from step 70 to 105; the first leak seen, 5.7 kB a step, was less): that the worker
# resets them at all is the logged reset below (with resets taken out, they grew by 62 kB from the
# first window to the second), and that a reset frees what it should, TAP 268.
cmp_ok($late_most, '<=', $early_most + $early_most / 8 + 64 * 1024,
    "the worker's catalog caches stay within an eighth and 64 kB of what they held early");
ok($node->log_contains(qr/ai_scale maintenance worker in database "postgres" reset its catalog caches/, $offset),
    'the worker reset them, and logged it');
is($node->safe_psql('postgres', q{SELECT value FROM ai_scale.stats WHERE metric = 'errors'
                                   AND section = 'maintenance'}), '0', 'no run failed');

$node->stop;
done_testing();
