# A worker run that drops a partition no longer looks at the default partition before it: the
# look (whether the default holds rows, for the rescue) took ACCESS SHARE on the default, kept
# to the end of the transaction, and the drop then asked for the parent ACCESS EXCLUSIVE. A
# DBA's ATTACH PARTITION (or CREATE TABLE ... PARTITION OF) between the two holds the parent
# and waits for the default: the two waited for each other, and the deadlock detector
# cancelled one of them, the DBA's statement, or the worker's run when its
# maintenance_lock_timeout is longer than deadlock_timeout (found by the soak of
# 274_partition_chaos_soak.pl, where the DBA's ATTACH failed with 40P01). The worker now looks
# at the default only in the transaction after retention's (TAP 279). An event trigger holds
# the worker's DROP at ddl_command_start while the DBA attaches.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = AiScaleTest::worker_node_with('worker_retention_default_lock_order',
    [ 'deadlock_timeout = 100ms' ], maintenance_lock_timeout => 5000);
$node->safe_psql('postgres', q{
CREATE TABLE w (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE w_old PARTITION OF w FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT count(*) FROM ai_scale.manage_partitions('w', '1 day', 2);
CREATE TABLE w_far (LIKE w);
CREATE FUNCTION gate() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity
                WHERE pid = pg_catalog.pg_backend_pid()
                  AND backend_type = 'ai_scale maintenance') THEN
        PERFORM pg_catalog.pg_advisory_xact_lock_shared(4280);
    END IF;
END $$;
CREATE EVENT TRIGGER gate ON ddl_command_start WHEN TAG IN ('DROP TABLE')
    EXECUTE FUNCTION gate();});

my $gate = $node->background_psql('postgres');
$gate->query_safe('SELECT pg_advisory_lock(4280)');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'w'::regclass});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND wait_event_type = 'Lock'
   AND wait_event = 'advisory'}),
    'the worker\'s DROP of w_old waits at the gate');
# The DBA attaches a partition meanwhile; then the gate opens.
my $dba = $node->background_psql('postgres', on_error_stop => 0);
$dba->query_until(qr/attaching/, q{
\echo attaching
ALTER TABLE w ATTACH PARTITION w_far FOR VALUES FROM ('2100-01-01') TO ('2100-01-02');
});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE c.relname = 'w_default' AND NOT l.granted
UNION ALL SELECT to_regclass('public.w_far') IS NOT NULL
   AND (SELECT relispartition FROM pg_class WHERE oid = 'public.w_far'::regclass)
 ORDER BY 1 DESC LIMIT 1}),
    'the DBA\'s ATTACH waits for the default partition, or is done');
$gate->query_safe('SELECT pg_advisory_unlock(4280)');
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.w_old') IS NULL}),
    'the worker drops w_old');
$dba->query('SELECT 1');
is($dba->{stderr}, '', 'the DBA\'s ATTACH did not fail');
is($node->safe_psql('postgres',
        q{SELECT relispartition FROM pg_class WHERE oid = 'public.w_far'::regclass}),
    't', '... and attached w_far');
unlike(slurp_file($node->logfile), qr/deadlock detected/, 'no deadlock');
is($node->safe_psql('postgres',
        q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'}),
    '0', 'no run failed');
$gate->quit;
$dba->quit;
$node->stop;
done_testing();
