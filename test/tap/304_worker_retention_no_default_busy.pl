# Without a default partition the worker drops old partitions itself: its run marks each one
# (COMMENT ON, SHARE UPDATE EXCLUSIVE on the partition), then detaches it concurrently (SHARE
# UPDATE EXCLUSIVE on the parent) in transactions of its own, and drops it. Neither step came
# under the rule that stops a table's drops after one gave up on a lock (TAP 186): a session
# building an index on the table (SHARE on every partition) held a run of 200 drops for 200
# marks, an ANALYZE of it (SHARE UPDATE EXCLUSIVE on the parent) for 200 detaches, each waiting
# maintenance_lock_timeout and logging it (10 s and 600 log lines a run). Now, after a mark that
# gives up, the marks of partitions the same transactions hold are counted in one row; after a
# detach that gives up on the parent's lock, the others are left in one line.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('retention_no_default_busy', maintenance_lock_timeout => '100ms');
$node->safe_psql('postgres', q{
CREATE TABLE r (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
DO $$
BEGIN
    FOR i IN 1 .. 6 LOOP
        EXECUTE format('CREATE TABLE r_old%s PARTITION OF r FOR VALUES FROM (%L) TO (%L)', i,
                       date_trunc('day', now()) - (51 - i) * interval '1 day',
                       date_trunc('day', now()) - (50 - i) * interval '1 day');
    END LOOP;
END $$;
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 1, time_zone => 'UTC');
DO $$
BEGIN
    EXECUTE format('DROP TABLE %s', (SELECT partdefid::regclass FROM pg_partitioned_table
                                     WHERE partrelid = 'r'::regclass));
END $$;});
my $old = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'r'::regclass
    AND inhrelid::regclass::text ~ '^r_old'};
is($node->safe_psql('postgres', $old), '6', 'six old partitions, no default partition');

# The marks: a transaction holds every old partition SHARE, as an index build on the table does.
my $builder = $node->background_psql('postgres');
$builder->query_safe('BEGIN; LOCK TABLE r_old1, r_old2, r_old3, r_old4, r_old5, r_old6 IN SHARE MODE;');
my $offset = -s $node->logfile;
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'r'::regclass});
my $run = one_worker_run($node, qr/${worker_line}skipped public\.r public\.r_old1\n/, $offset);
my $waits = () = $run =~ /canceling statement due to lock timeout/g;
is($waits, 1, 'the marks: one run waited once, not once per partition to drop');
like($run,
    qr/DETAIL:  drop public\.r_old1: canceling statement due to lock timeout; lock on public\.r_old1 held by pid \d+ \(transaction open [\d.]+ s\); retried on the next run\n/,
    '... saying what held it');
like($run,
    qr/skipped public\.r\n.*DETAIL:  5 more partitions to drop not marked for the worker after the lock wait above: the transactions it waited for hold them too; retried on the next run\n/,
    '... and one row counting the others, not tried');
unlike($run, qr/r_old[2-6]/, '... none of which has a row or a line of its own');

# The detaches: a transaction holds the parent alone SHARE UPDATE EXCLUSIVE, as an ANALYZE of
# it does, taken before the marks' holder lets go.
my $analyzer = $node->background_psql('postgres');
$analyzer->query_safe('BEGIN; LOCK TABLE ONLY r IN SHARE UPDATE EXCLUSIVE MODE;');
$offset = -s $node->logfile;
$builder->query_safe('COMMIT');
$run = one_worker_run($node, qr/${worker_line}skipped detach of public\.r public\.r_old1: /, $offset);
my $skipped = () = $run =~ /skipped detach of/g;
is($skipped, 1, 'the detaches: one run waited once for the parent, not once per partition');
like($run,
    qr/skipped detach of public\.r public\.r_old1: a lock was not free within ai_scale\.maintenance_lock_timeout; lock on public\.r held by pid \d+/,
    '... saying what held it');
like($run,
    qr/${worker_line}left 5 more detaches of public\.r for the next run: each needs the lock on the table that was not free\n/,
    '... and one line for the others, not tried');
is($node->safe_psql('postgres', $old), '6', 'nothing dropped while the table is held');

$analyzer->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT ($old) = 0"),
    'once the holders are gone, the next run drops them all');
$builder->quit;
$analyzer->quit;

$node->stop;
done_testing();
