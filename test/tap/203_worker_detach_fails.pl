# The worker's DETACH ... CONCURRENTLY of a partition retention chose fails after its first
# transaction committed (here an event trigger at ddl_command_end refuses every ALTER TABLE):
# the partition is left pending detach, and the table's run fails with that error, counted and
# logged. No test covered a detach failing while the table is still a partition (only a
# partition really gone, or a lock timeout before the detach began): a worker that swallowed
# every such failure, logging "skipped detach of ...: no longer a partition of it" for a
# partition still there, pending, passed them all. Once the trigger is gone, a later run
# finishes the detach and drops the table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_fails');
my $errors = q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'};
$node->safe_psql('postgres', old_partition_table('r') . q{
CREATE FUNCTION refuse_alter() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF tg_tag = 'ALTER TABLE' THEN
        RAISE EXCEPTION 'alter table refused by the audit';
    END IF;
END $$;
CREATE EVENT TRIGGER refuse_alter ON ddl_command_end EXECUTE FUNCTION refuse_alter();});
my $errors_before = $node->safe_psql('postgres', $errors);
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});

ok($node->wait_for_log(qr/${\ worker_failed('public\.r')}: alter table refused by the audit/,
        $log_offset),
    "the failed detach fails the table's run, with its error");
is($node->safe_psql('postgres', q{
SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'r_old'::regclass}),
    't', 'the partition is left pending detach');
# (The worker logs a failure, then counts it: the count is waited for, not read once after the
# log line.)
ok($node->poll_query_until('postgres', "SELECT ($errors) > $errors_before"), 'the failure is counted');
unlike(substr(slurp_file($node->logfile), $log_offset), qr/no longer a partition/,
    'and not taken for a partition gone');

$node->safe_psql('postgres', 'DROP EVENT TRIGGER refuse_alter');
ok($node->poll_query_until('postgres', q{SELECT to_regclass('r_old') IS NULL}),
    'without the trigger, a later run finishes the detach and drops the table');

$node->stop;
done_testing();
