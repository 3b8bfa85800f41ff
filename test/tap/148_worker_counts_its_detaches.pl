# The maintenance worker counts in the stats view what it does after the SQL part of its run:
# the concurrent detach of an expired partition and the drop of the detached table are one
# action each, and the run that chose them one run. No test read these counts before: the
# worker's detach and drop could have counted nothing, or twice, and every suite passed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# No worker until the table is ready; then one run at its start, and none after it for a day
# (yearly partitions: no new one falls due during the test, short of New Year's midnight).
my $node = worker_node('worker_counts', maintenance_naptime => '1d', maintenance_databases => '');
$node->safe_psql('postgres', q{
CREATE TABLE ev (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE ev_2000 PARTITION OF ev FOR VALUES FROM ('2000-01-01') TO ('2001-01-01');
SELECT count(*) FROM ai_scale.manage_partitions('ev', '1 year', 1);
ALTER TABLE ev DETACH PARTITION ev_default;
DROP TABLE ev_default;
UPDATE ai_scale.partition_config SET retention = '2 years' WHERE parent = 'ev'::regclass;
SELECT ai_scale.reset_stats();
});

sub counts
{
    return $node->safe_psql('postgres', q{
SELECT string_agg(metric || ' ' || value, ', ' ORDER BY metric)
  FROM ai_scale.stats WHERE section = 'maintenance' AND metric IN ('runs', 'actions', 'errors')});
}
is(counts(), 'actions 0, errors 0, runs 0', 'nothing counted after the reset');

my $offset = -s $node->logfile;
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'; SELECT pg_reload_conf();");
ok($node->wait_for_log(qr/${worker_line}dropped public\.ev public\.ev_2000/, $offset),
    'the worker detaches the expired partition concurrently and drops it');
ok($node->wait_for_log(qr/${worker_line}detached public\.ev public\.ev_2000/, $offset),
    'detached first');
ok(maintenance_runs_reach($node, 1), 'one run counted');
is(counts(), 'actions 2, errors 0, runs 1', 'the detach and the drop are an action each');

$node->stop;
done_testing();
