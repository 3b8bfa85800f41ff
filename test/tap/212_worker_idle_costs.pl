# What the maintenance worker costs a quiet server: a run with nothing to do writes no WAL
# (which would be archived and shipped to standbys, and keep checkpoints from being skipped),
# assigns no transaction ID, and between runs the worker holds no snapshot (backend_xmin,
# which would keep VACUUM from removing dead rows) and no lock.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Autovacuum off: its analyze of the new tables would write WAL of its own.
my $node = worker_node('worker_idle_costs');
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->reload;
# The store's partitions made; the VACUUM removes the dead catalog rows of that DDL, which a
# later read (the worker's or a test query's) would otherwise prune, writing WAL.
$node->safe_psql('postgres', 'SELECT ai_scale.create_prediction_store()');
$node->safe_psql('postgres', 'VACUUM');

# Two runs after the VACUUM, so that whatever a first look at the tables sets is set.
ok(maintenance_runs_reach($node, maintenance_runs($node) + 2), 'the worker ran after the setup');

my $position = q{SELECT pg_current_wal_lsn(), txid_snapshot_xmax(txid_current_snapshot())};
my $done = q{SELECT string_agg(value::text, ' ' ORDER BY metric) FROM ai_scale.stats
WHERE section = 'maintenance' AND metric IN ('actions', 'errors')};
# The first run after a UTC midnight has the new day's partition to make: runs that a midnight
# crossed are watched once more.
my $day = q{SELECT (now() AT TIME ZONE 'UTC')::date};
my ($before, $done_before, $after, $done_after);
for my $try (1, 2) {
    my $day_before = $node->safe_psql('postgres', $day);
    $before = $node->safe_psql('postgres', $position);
    $done_before = $node->safe_psql('postgres', $done);
    ok(maintenance_runs_reach($node, maintenance_runs($node) + 5), 'five more runs');
    $done_after = $node->safe_psql('postgres', $done);
    $after = $node->safe_psql('postgres', $position);
    last if $node->safe_psql('postgres', $day) eq $day_before;
    note('a midnight came during the runs; once more');
}
is($done_after, $done_before, 'which had nothing to do and failed none');
is($after, $before, 'they wrote no WAL and assigned no transaction ID');

# Between runs: a naptime of an hour, after the run the reload starts.
my $runs = maintenance_runs($node);
$node->append_conf('postgresql.conf', "ai_scale.maintenance_naptime = '1h'\n");
$node->reload;
ok(maintenance_runs_reach($node, $runs + 1), 'the reload started a run');
# Napping, not only idle: the worker reports 'idle' after each transaction of a run too, the
# next about to start, and holds the next one's snapshot. The checks count when the worker
# napped before and after them with the same count of runs (read before the first look at it
# napping, after the last), so that no run overlapped them; else they are made again. One run
# may: the reload's own, after one that the 1 s naptime started just before the reload arrived
# (which satisfies the poll above, and then napped with the reload's SIGHUP not yet served).
# The naptime of an hour starts no other.
my $napping = q{
SELECT wait_event_type = 'Extension' AND wait_event = 'Extension' FROM pg_stat_activity
WHERE backend_type = 'ai_scale maintenance'};
my ($snapshot, $locks, $runs_since) = ('', '', '');
for my $try (1 .. 3) {
    ok($node->poll_query_until('postgres', $napping), "the worker naps (look $try)");
    my $runs_napping = maintenance_runs($node);
    next unless $node->safe_psql('postgres', $napping) eq 't';
    $snapshot = $node->safe_psql('postgres', q{
SELECT backend_xmin IS NULL AND backend_xid IS NULL FROM pg_stat_activity
WHERE backend_type = 'ai_scale maintenance'});
    $locks = $node->safe_psql('postgres', q{
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.backend_type = 'ai_scale maintenance'});
    my $napped = $node->safe_psql('postgres', $napping);
    $runs_since = $node->safe_psql('postgres', "SELECT $maintenance_runs_sql - $runs_napping");
    last if $napped eq 't' && $runs_since eq '0';
}
is($runs_since, '0', 'no run overlapped the checks (they saw the worker between runs)');
is($snapshot, 't', 'the napping worker holds no snapshot');
is($locks, '0', 'nor any lock');

$node->stop;
done_testing();
