# What the maintenance worker logs of a table's run (created, rescued, dropped, skipped, error)
# it logs once the run has committed, as it logs its detaches. It logged them inside the run's
# transaction: a line saying a partition was created or dropped came while every other session
# still saw the table as it was, and tests that waited for the line and then looked (TAP 092,
# 120, 125, 204) failed when the worker was descheduled between its log and its commit. Here
# the worker's commit is held (a synchronous standby that never comes, for the worker's
# database only) to see what it has logged meanwhile.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use Test::More;

# The sessions of the test commit without waiting for the standby (synchronous_commit local
# for the server); the worker, with its database's synchronous_commit on, waits for it. (A
# commit waits for a synchronous standby only where WAL senders may run.)
my $node = PostgreSQL::Test::Cluster->new('worker_run_logged_after_commit');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_naptime = 1
synchronous_standby_names = 'never_there'
synchronous_commit = local
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$node->safe_psql('postgres', q{
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);
UPDATE ai_scale.partition_config SET premake = 3;
ALTER DATABASE postgres SET synchronous_commit = on;});
my $partitions = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 't'::regclass};
my $before = $node->safe_psql('postgres', $partitions);

my $offset = -s $node->logfile;
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND wait_event = 'SyncRep'}),
    'the worker waits to commit its run');
is($node->safe_psql('postgres', $partitions), $before, 'whose partitions no one sees yet');
unlike(slurp_file($node->logfile, $offset), qr/${worker_line}created public\.t /,
    'and it has logged none of them');

# The standby no longer asked for, the commit goes through.
$node->safe_psql('postgres',
    "ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf();");
ok($node->wait_for_log(qr/${worker_line}created public\.t public\.t_\d+/, $offset),
    'the run\'s lines come once it has committed');
my ($made) = slurp_file($node->logfile, $offset)
  =~ /${worker_line}created public\.t (public\.t_\d+)/;
is($node->safe_psql('postgres', "SELECT to_regclass('$made') IS NOT NULL"), 't',
    "and the partition a line names ($made) is there when it is read");

$node->stop;
done_testing();
