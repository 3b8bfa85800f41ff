# Retention on a small lock table: a run drops, detaches or moves at most 100 partitions of a
# table, each in a subtransaction whose locks are kept to the run's end. Where the lock table
# holds fewer, the first step that does not fit fails with out of shared memory (53200), and so
# did every step after it, each its own error row: up to 99 more a run, which the worker logged
# at every naptime, while it kept the lock table full for the other sessions' queries. As for
# moves to the cold tablespace, the steps after that error are no longer tried: one error row,
# then a skipped row saying how many are left to the next runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('retention_small_lock_table');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
max_locks_per_transaction = 10
max_connections = 10
});
$node->start;
# 90 daily partitions before today, managed without retention.
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE d (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
DO $$
BEGIN
    FOR i IN 1 .. 90 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF d FOR VALUES FROM (%L) TO (%L)',
                       'd_old_' || i, (current_date - i)::timestamp AT TIME ZONE 'UTC',
                       (current_date - i + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;
SELECT count(*) FROM ai_scale.manage_partitions('d', '1 day', 1, time_zone => 'UTC');});

# As in 204_worker_premake_small_lock_table.pl: how many locks the lock table holds depends
# on the OIDs in use, so a session fills it with advisory locks and frees 60: room for some
# of the drops below (each locks its table and the table's row type), not for 90.
my $holder = $node->background_psql('postgres');
my $held = fill_lock_table($holder, 225, 60);
note("a session holds $held advisory locks, and 60 more are free");

my $partitions = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'd'::regclass};
# By hand: 87 partitions past a retention of 3 days, as many dropped as fit, one error row for
# the first that did not, and the others counted in a skipped row. The two partitions premake
# now wants are left to the next run, with a skipped row of their own: any lock they took (one
# on a catalog, to plan their statements) failed the table's whole run, and undid the drops.
$node->safe_psql('postgres', q{UPDATE ai_scale.partition_config SET retention = '3 days',
  premake = 3 WHERE parent = 'd'::regclass});
my %rows = map { my ($a, $n, $d) = split /\|/; ($a => [$n, $d]) } split /\n/,
  $node->safe_psql('postgres', q{
SELECT action, count(*), string_agg(detail, '; ' ORDER BY detail)
  FROM ai_scale.run_maintenance('d') GROUP BY action});
my $dropped = $rows{dropped}[0] // 0;
note("dropped $dropped");
ok($dropped > 0 && $dropped < 86, 'a run by hand drops as many as the lock table holds');
is($rows{error}[0], 1, 'one error row');
like($rows{error}[1],
    qr/^drop public\.d_old_\d+: out of shared memory \(hint: You might need to increase max_locks_per_transaction\.\) \(SQLSTATE 53200\)$/,
    'for the first drop that did not fit');
is($rows{skipped}[1],
    sprintf('%d partitions to drop not tried after the error above; retried on the next run; '
          . 'making partitions not tried after the error above; retried on the next run',
        86 - $dropped),
    'the others are counted, not tried, and the creations left to the next run');
is($node->safe_psql('postgres', $partitions), 90 + 3 - $dropped, 'and stay');

# The worker drops the rest over its runs, one error and one skipped line a run at most.
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf',
    "ai_scale.maintenance_databases = 'postgres'\nai_scale.maintenance_naptime = 1\n");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT ($partitions) = 8"),
    'the worker drops them all, and makes the two');
my $log = slurp_file($node->logfile, $offset);
my $errors = () = $log =~ /${worker_line}error public\.d/g;
my $skips = () = $log =~ /partitions? to drop not tried after the error above/g;
note("$errors error lines, $skips skipped lines");
ok($errors <= $skips + 1, 'with no more error lines than runs that stopped');

$holder->quit;
$node->stop;
done_testing();
