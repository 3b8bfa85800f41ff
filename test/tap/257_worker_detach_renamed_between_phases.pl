# The worker does a run's concurrent detaches once every table has been maintained (TAP 140),
# which can be long after the run chose their partitions. A DBA may rename the table, move it
# to another schema, or rename the partition or its schema meanwhile. The detach then goes on
# under the names the tables have now: it used to be built from the names the run printed,
# and failed the table's maintenance ("relation "public.a" does not exist", counted as an
# error), or was skipped as "no longer a partition" of a table it was still a partition of.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_renamed', maintenance_naptime => 3600,
    maintenance_lock_timeout => '10min');
# Tables a and c (maintained first: lower OIDs) with an old partition each, no default
# partition (the worker detaches concurrently only then); table b after them.
$node->safe_psql('postgres', old_partition_table('a') . old_partition_table('c') . q{
CREATE SCHEMA old_parts;
ALTER TABLE c_old SET SCHEMA old_parts;
CREATE TABLE b (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('b', '1 day', 2);});
my $errors = q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'};
my $errors_before = $node->safe_psql('postgres', $errors);

# The worker's run is held at b, after it chose to drop a_old and c_old.
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN; SELECT ai_scale._lock_for_maintenance('b');");
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent IN ('a'::regclass, 'c'::regclass)});
$node->reload;
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND wait_event = 'advisory'"),
    'the worker waits for b, its detaches of a_old and c_old still to do');
is($node->safe_psql('postgres', q{
SELECT string_agg(obj_description(c.oid, 'pg_class'), ',' ORDER BY c.relname) LIKE '%to be dropped%to be dropped%'
  FROM pg_class c WHERE c.relname IN ('a_old', 'c_old')}),
    't', 'both partitions are marked for their drop');

# Meanwhile the DBA renames a and moves it to another schema, and renames c_old and the
# schema it is in.
$node->safe_psql('postgres', q{
CREATE SCHEMA "New Home";
ALTER TABLE a RENAME TO "A ""2""";
ALTER TABLE "A ""2""" SET SCHEMA "New Home";
ALTER TABLE old_parts.c_old RENAME TO "c old";
ALTER SCHEMA old_parts RENAME TO "Old Parts";});
$holder->query_safe('COMMIT');

# c's detach comes after a's: once it is done (or skipped, or failed), so is a's.
ok($node->wait_for_log(qr/${worker_line}(?:dropped public\.c |skipped detach of public\.c )|${\ worker_failed('public\.c')}/),
    'the worker gets to the detaches');
ok($node->log_contains(qr/${worker_line}dropped "New Home"\."A ""2""" public\.a_old/),
    'it detached and dropped a_old under the table\'s new name');
ok($node->log_contains(qr/${worker_line}dropped public\.c "Old Parts"\."c old"/),
    'and c_old under its new name and schema');
ok(!$node->log_contains(qr/${\ worker_failed('\S+')}|no longer a partition/),
    'no detach failed or was skipped');
is($node->safe_psql('postgres', $errors), $errors_before, 'no error is counted');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_class WHERE relname IN ('a_old', 'c old')}),
    '0', 'both partitions are gone');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM ai_scale.run_maintenance() WHERE action <> 'created'}),
    '0', 'a run by hand afterwards finds nothing left to do');

$holder->quit;
$node->stop;
done_testing();
