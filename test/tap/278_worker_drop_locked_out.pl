# The worker drops a partition retention chose in two steps: DETACH ... CONCURRENTLY, then DROP
# TABLE of the detached table in a transaction of its own, which waits for its locks at most
# ai_scale.maintenance_lock_timeout, as every step of a run does. A lock the DROP could not have
# in time (here one a DBA's event trigger takes: an audit table it writes to, which a session
# holds; or a session that took the detached table by its own name between the two steps) failed
# the table's run ("maintenance of public.r failed: canceling statement due to lock timeout",
# counted as an error) and left the table's other detaches of the run undone; found by the soak
# of 274_partition_chaos_soak.pl, whose event trigger reads the partitions' bounds. The drop is
# now left to the next run, which drops the table, still marked, once it can.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_drop_locked_out');
# r_old and r_mid both past a retention of 3 days, r_old detached first; an audit of drops (of
# comments too, in the last part).
$node->safe_psql('postgres', old_partition_table('r') . q{
CREATE TABLE r_mid PARTITION OF r FOR VALUES FROM (now()::date - 8) TO (now()::date - 7);
INSERT INTO r VALUES (now()::date - 8 + interval '1 hour', 2);
CREATE TABLE ddl_audit (at timestamptz, what text);
CREATE FUNCTION audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.ddl_audit VALUES (now(), pg_catalog.current_query());
END $$;
CREATE EVENT TRIGGER audit_drop ON ddl_command_start WHEN TAG IN ('DROP TABLE')
    EXECUTE FUNCTION audit_ddl();});

# A session holds the audit table while the worker detaches and drops.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK TABLE ddl_audit IN SHARE MODE;');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});

my $left = 'left the drop of detached table public\.%s of public\.r for the next run: a lock '
  . 'was not free within ai_scale\.maintenance_lock_timeout';
ok($node->wait_for_log(qr/${worker_line}${\ sprintf($left, 'r_mid')}|${\ worker_failed('public\.r')}/),
    'the worker gets to the end of its detaches');
my $log = slurp_file($node->logfile);
unlike($log, worker_failed('public\.r'), 'the table\'s run did not fail');
like($log, qr/detached public\.r public\.r_old\n(?:.*\n)*?.*${\ sprintf($left, 'r_old')}.*\n(?:.*\n)*?.*detached public\.r public\.r_mid\n(?:.*\n)*?.*${\ sprintf($left, 'r_mid')}.*\n/,
    'it detached r_old, left its drop, then did the same for r_mid in the same run');
is($node->safe_psql('postgres', q{
SELECT string_agg(format('%s %s %s', relname, relispartition,
                         obj_description(oid, 'pg_class') IS NOT NULL), ', ' ORDER BY relname)
  FROM pg_class WHERE relname IN ('r_old', 'r_mid');
SELECT (SELECT count(*) FROM r_old) + (SELECT count(*) FROM r_mid)}),
    "r_mid f t, r_old f t\n2", 'both stay, detached with their rows, marked to be dropped');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhdetachpending}),
    '0', 'no partition is left pending detach');

# Once the audit table is free, a later run drops them.
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres',
        q{SELECT to_regclass('public.r_old') IS NULL AND to_regclass('public.r_mid') IS NULL}),
    'a later run drops both once the lock is free');
like(slurp_file($node->logfile),
    qr/${worker_line}dropped public\.r public\.r_old\n.*DETAIL:  detached by retention earlier/,
    '... and says so');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ddl_audit}), '2',
    'the audit saw the two drops (and none of the attempts rolled back)');

# A cancel of the worker while its DROP waits (here with a long lock timeout) fails that run;
# the worker goes on. It left the transaction in the state that waits for a ROLLBACK, and its
# next run ended it with a FATAL ("BeginInternalSubTransaction: unexpected state SUBABORT").
$node->safe_psql('postgres', q{
ALTER SYSTEM SET ai_scale.maintenance_lock_timeout = '5min'; SELECT pg_reload_conf();});
$node->safe_psql('postgres', old_partition_table('s'));
$holder->query_safe('BEGIN; LOCK TABLE ddl_audit IN SHARE MODE;');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 's'::regclass});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND query = 'DROP TABLE public.s_old'
   AND wait_event_type = 'Lock'}),
    'the worker\'s DROP of s_old waits');
my $worker_pid = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'});
$node->safe_psql('postgres', "SELECT pg_cancel_backend($worker_pid)");
ok($node->wait_for_log(qr/${\ worker_failed('public\.s')}: canceling statement due to user request/),
    'the cancel fails that run');
$holder->query_safe('COMMIT');
$node->safe_psql('postgres', q{
ALTER SYSTEM RESET ai_scale.maintenance_lock_timeout; SELECT pg_reload_conf();});
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.s_old') IS NULL}),
    'a later run drops s_old');
unlike(slurp_file($node->logfile), qr/FATAL|unexpected state/, 'the worker ended with no FATAL');
is($node->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'}),
    $worker_pid, 'the same worker still runs');

# The unmark: the retention that chose u_old is lengthened while its detach waits for a reader,
# and the worker keeps the detached table, taking its mark away (COMMENT ON ... IS NULL), under
# maintenance_lock_timeout too. A lock that statement could not have in time (here one a DBA's
# event trigger takes) leaves the unmark to the next run, which keeps the table and unmarks it.
$node->safe_psql('postgres', old_partition_table('u') . q{
CREATE EVENT TRIGGER audit_comment ON ddl_command_start WHEN TAG IN ('COMMENT')
    EXECUTE FUNCTION audit_ddl();});
my $reader = hold_worker_detach($node, 'u');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'u'::regclass});
$holder->query_safe('BEGIN; LOCK TABLE ddl_audit IN SHARE MODE;');
$reader->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}left the unmark of detached table public\.u_old of public\.u for the next run: a lock was not free within ai_scale\.maintenance_lock_timeout/),
    'the worker leaves the unmark for the next run');
unlike(slurp_file($node->logfile), worker_failed('public\.u'),
    'the table\'s run did not fail');
is($node->safe_psql('postgres', q{
SELECT format('%s %s %s', relispartition, obj_description(oid, 'pg_class') IS NOT NULL,
              (SELECT count(*) FROM u_old))
  FROM pg_class WHERE relname = 'u_old'}),
    'f t 1', 'u_old stays, detached with its row, still marked');
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres',
        q{SELECT obj_description('public.u_old'::regclass, 'pg_class') IS NULL}),
    'a later run takes the mark away once the lock is free');
is($node->safe_psql('postgres', q{
SELECT format('%s %s', relispartition, (SELECT count(*) FROM u_old))
  FROM pg_class WHERE relname = 'u_old'}),
    'f 1', '... and keeps the table, detached, with its row');
like(slurp_file($node->logfile),
    qr/kept, as the retention settings changed/, '... and says so');
$reader->quit;
$holder->quit;
$node->stop;
done_testing();
