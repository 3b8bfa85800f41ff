# The maintenance worker runs in READ COMMITTED whatever default_transaction_isolation the
# server, database or role sets, and writes whatever default_transaction_read_only they set: maintenance looks again, under a lock, at what it saw before
# taking it, which takes a fresh snapshot per statement. In REPEATABLE READ, a row a writer
# committed into the default partition while the worker's rescue waited for its lock was
# missed by the rescue's own statements and found by the check after them: the table's run
# failed (23514, check constraint "ai_scale_rescue_moved"; 40001 since TAP 259), and only the
# next run moved it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# A long lock wait, so that the worker waits for the writer below rather than skipping.
my $node = worker_node('worker_isolation_level', maintenance_lock_timeout => '5min');
$node->append_conf('postgresql.conf', "default_transaction_isolation = 'repeatable read'\n");
$node->restart;
$node->safe_psql('postgres', q{
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);});

# A writer's row in the default, not committed yet; then a committed one of the same day.
my $writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe(q{BEGIN; INSERT INTO t VALUES (now()::date + 5 + interval '2 hours', 2);});
$node->safe_psql('postgres', q{INSERT INTO t VALUES (now()::date + 5 + interval '1 hour', 1)});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND wait_event_type = 'Lock'}),
    'the worker waits for the writer to rescue the committed row');
$writer->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}(?:rescued|error) public\.t /),
    'the worker goes on');
my $log = slurp_file($node->logfile);
unlike($log, qr/ai_scale_rescue_moved|could not serialize access/,
    'its run did not fail on the row committed meanwhile');
like($log, qr/${worker_line}rescued public\.t /, 'it rescued the rows');
ok($node->poll_query_until('postgres', q{SELECT rows = 0 FROM ai_scale.check_default('t')}),
    'both rows left the default partition');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '2', 'none was lost');

$writer->quit;

# Nor does default_transaction_read_only, set for the database to keep new client sessions from
# writing, stop it: each run failed every table with 25006 (read-only transaction), and
# premaking stopped.
$node->safe_psql('postgres', q{
ALTER DATABASE postgres SET default_transaction_read_only = on;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance';});
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{
BEGIN READ WRITE;
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 't'::regclass;
COMMIT;});
ok($node->poll_query_until('postgres',
        q{SELECT count(*) >= 5 FROM ai_scale.partitions('t') WHERE tier <> 'default'}),
    'in a database read-only for new sessions, the worker makes the partitions premake asks for');
unlike(substr(slurp_file($node->logfile), $offset), qr/read-only transaction/,
    'and no run fails on it');
$node->stop;
done_testing();
