# The worker commits a table's retention before it makes partitions and rescues rows. A drop
# or a plain detach (a table with a default partition cannot be detached concurrently) holds
# the parent ACCESS EXCLUSIVE to the end of its transaction: in one transaction with the
# creations and the rescue, every query of the table, inserts into any partition included,
# waited for those too, where an attach alone takes only SHARE UPDATE EXCLUSIVE on the parent,
# which writers do not wait for. A run by hand (run_maintenance, a function) stays one
# transaction. Shown by the transaction IDs an event trigger records for the worker's DDL.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_retention_committed_first');
# An old partition, today's and two ahead, and a default partition.
$node->safe_psql('postgres', q{
CREATE TABLE w (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE w_old PARTITION OF w FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT count(*) FROM ai_scale.manage_partitions('w', '1 day', 2);
CREATE TABLE ddl_log (xid xid8, tag text);
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.ddl_log VALUES (pg_catalog.pg_current_xact_id(), tg_tag);
END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_start WHEN TAG IN ('DROP TABLE', 'CREATE TABLE')
    EXECUTE FUNCTION log_ddl();});
my $offset = -s $node->logfile;

# One run drops w_old and makes two more partitions.
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention = '3 days', premake = 4
 WHERE parent = 'w'::regclass});
ok($node->poll_query_until('postgres', q{
SELECT to_regclass('public.w_old') IS NULL
   AND (SELECT count(*) FROM ai_scale.partitions('w') WHERE lower IS NOT NULL) = 5}),
    'the worker drops the old partition and makes two');
is($node->safe_psql('postgres', q{
SELECT format('%s drop(s) in %s transaction(s), %s creation(s) in %s, the drop''s first: %s',
              count(*) FILTER (WHERE tag = 'DROP TABLE'),
              count(DISTINCT xid) FILTER (WHERE tag = 'DROP TABLE'),
              count(*) FILTER (WHERE tag = 'CREATE TABLE'),
              count(DISTINCT xid) FILTER (WHERE tag = 'CREATE TABLE'),
              max(xid::text::bigint) FILTER (WHERE tag = 'DROP TABLE')
                < min(xid::text::bigint) FILTER (WHERE tag = 'CREATE TABLE'))
  FROM ddl_log}),
    "1 drop(s) in 1 transaction(s), 2 creation(s) in 1, the drop's first: t",
    'the drop committed in a transaction of its own, before the creations\'');
like(slurp_file($node->logfile, $offset),
    qr/${worker_line}dropped public\.w public\.w_old\n(?:.*\n)*?.*${worker_line}created public\.w /,
    'the log says the drop first');
is($node->safe_psql('postgres',
        q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'}),
    '0', 'no run failed');

# A run with nothing to drop is one transaction, as before.
$node->safe_psql('postgres', q{
TRUNCATE ddl_log;
UPDATE ai_scale.partition_config SET premake = 5 WHERE parent = 'w'::regclass});
ok($node->poll_query_until('postgres', q{
SELECT (SELECT count(*) FROM ai_scale.partitions('w') WHERE lower IS NOT NULL) = 6}),
    'a later run makes one more');
is($node->safe_psql('postgres', q{SELECT format('%s %s', count(*), count(DISTINCT xid)) FROM ddl_log}),
    '1 1', '... in one transaction');

$node->stop;
done_testing();
