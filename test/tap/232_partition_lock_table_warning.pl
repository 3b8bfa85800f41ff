# A query reading every partition of a table locks each partition and each of its indexes, and
# the lock table is sized for max_locks_per_transaction times the server's processes and
# prepared transactions: past that, such queries (and pg_dump) fail with out of shared memory.
# A run of maintenance that made partitions past it warns, by hand and in the worker's log,
# once, not at the runs after it; manage_partitions warns when the table is past it already
# (sql/scale_lock_table_warning.sql: when its retention will keep more).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# small_lock_table_worker_node's settings, with prepared transactions allowed: the lock table
# has room for theirs too.
my $node = worker_node_with('partition_lock_table_warning',
    [ 'max_locks_per_transaction = 10', 'max_connections = 10', 'max_prepared_transactions = 3' ]);
$node->safe_psql('postgres', 'CREATE DATABASE hand');
$node->safe_psql('hand', 'CREATE EXTENSION ai_scale');

# What the lock table is sized for, as Postgres sizes it (read by ai_scale from its globals), is
# what the settings say.
my $slots = $node->safe_psql('hand', q{SELECT slots FROM ai_scale._lock_demand('pg_class', 0)});
my $processes = $node->safe_psql('hand', q{
SELECT current_setting('max_connections')::int + current_setting('autovacuum_max_workers')::int
       + 1 + current_setting('max_worker_processes')::int
       + current_setting('max_wal_senders')::int
       + current_setting('max_prepared_transactions')::int});
is($slots, 10 * $processes, 'the lock table is sized for 10 locks a process');
# With one index, two locks a partition: past the lock table at $most + 1 partitions.
my $most = int($slots / 2);
note("lock table slots: $slots; a query can lock every partition of up to $most");

# Table $t in database $db with one index and $n daily partitions made by hand, each in its own
# transaction, in 2000 and after (no retention touches them).
sub table_with_partitions
{
    my ($db, $t, $n) = @_;
    $node->safe_psql($db,
        "CREATE TABLE $t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);\n"
          . "CREATE INDEX ON $t (v);\n"
          . join('',
            map {
                "CREATE TABLE ${t}_old_$_ PARTITION OF $t FOR VALUES FROM "
                  . "('2000-01-01 UTC'::timestamptz + interval '$_ days') TO "
                  . "('2000-01-01 UTC'::timestamptz + interval '@{[$_ + 1]} days');\n"
            } 1 .. $n));
}

sub partitions
{
    my ($db, $t) = @_;
    return $node->safe_psql($db, "SELECT count(*) FROM pg_inherits WHERE inhparent = '$t'::regclass");
}

my $warning = qr/WARNING:  a query reading every partition of public\.(\w+) would need more locks than the lock table is sized for\nDETAIL:  The table has (\d+) partitions\. A query reading all of them takes (\d+) locks/;

# By hand. Six short of the limit, and managed: today, tomorrow and the default made (a fourth
# should a midnight pass), no warning.
table_with_partitions('hand', 't', $most - 6);
my ($rc, $out, $err) = $node->psql('hand',
    q{SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1, time_zone => 'UTC')});
is($rc, 0, 'managed');
unlike($err, qr/WARNING/, 'no warning within the lock table');

# Five more days made ahead: the run that makes them warns.
$node->safe_psql('hand', q{UPDATE ai_scale.partition_config SET premake = 6});
($rc, $out, $err) = $node->psql('hand',
    q{SELECT count(*) FROM ai_scale.run_maintenance('t') WHERE action = 'created'});
cmp_ok($out, '>=', 5, 'the run made its partitions');
ok($err =~ $warning, 'the run that made them past the lock table warns');
is($2, partitions('hand', 't'), 'with the number of partitions the table has');
is($3, 2 * $2, 'and of locks: two a partition');

# A run that makes none does not warn again.
($rc, $out, $err) = $node->psql('hand', q{SELECT count(*) FROM ai_scale.run_maintenance('t')});
is($out, '0', 'the next run has nothing to do');
unlike($err, qr/WARNING/, 'and does not warn');

# manage_partitions again: the table is past it, so it warns, once, whether its run made
# partitions (and warned) or not.
for my $premake (6, 8)
{
    ($rc, $out, $err) = $node->psql('hand',
        qq{SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', $premake, time_zone => 'UTC')
            WHERE action = 'created'});
    my @warnings = $err =~ /WARNING/g;
    is(scalar @warnings, 1, "manage_partitions at premake $premake ($out made) warns once");
    like($err, $warning, 'of the partitions the table has');
}

# The worker: its run that makes them warns in the server's log, and its runs after it do not.
table_with_partitions('postgres', 'w', $most - 6);
$node->safe_psql('postgres',
    q{SELECT count(*) FROM ai_scale.manage_partitions('w', '1 day', 1, time_zone => 'UTC')});
my $offset = -s $node->logfile;
# A run after a UTC midnight makes the new day's partition, and warns again.
my $day = q{SELECT (now() AT TIME ZONE 'UTC')::date};
my $day_before = $node->safe_psql('postgres', $day);
$node->safe_psql('postgres', q{UPDATE ai_scale.partition_config SET premake = 6});
ok( $node->wait_for_log(
        qr/WARNING:  a query reading every partition of public\.w would need more locks than the lock table is sized for\n.*DETAIL:  The table has \d+ partitions\./,
        $offset),
    'the worker warns in the log');
ok(maintenance_runs_reach($node, maintenance_runs($node) + 3), 'the worker runs three more times');
my @warnings = slurp_file($node->logfile, $offset) =~ /reading every partition of public\.w/g;
my $midnights = $node->safe_psql('postgres', qq{SELECT ($day) - '$day_before'::date});
is(scalar @warnings, 1 + $midnights, 'and warns once (once more after a midnight)');

$node->stop;
done_testing();
