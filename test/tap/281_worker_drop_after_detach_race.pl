# The worker drops a partition retention chose in two steps: DETACH ... CONCURRENTLY, then, in a
# transaction of its own, DROP TABLE of the detached table. A session may take the table between
# the two: a run by hand drops a detached table still marked as owed its drop (the worker's own
# mark), and a DBA may drop it. The worker checked that the table was there, then ran the DROP by
# name, which waited for that session: when the session dropped the table, the DROP failed the
# table's run ("maintenance of public.soak failed: table "soak_..." does not exist", found by
# the soak of 274_partition_chaos_soak.pl in a CI run); when the session also made another
# table of the same name (as a run makes a partition again for the same range), the DROP
# dropped that table; a table the session attached again, with a retention that keeps it, it
# would have dropped as a partition. The worker now locks the detached table by OID first, then
# reads its name, its mark and whether it is a partition again under the lock: a table dropped
# meanwhile is skipped, one kept or attached since is left to the next run, and the DROP names
# the table the worker detached.
#
# The session gets the table in the window between the two steps by asking for it while the
# detach holds it (ACCESS EXCLUSIVE, to its commit), at the end of the worker's ALTER TABLE
# (worker_alter_gate).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# The worker's steps wait for their locks long enough for the session to act.
my $node = worker_node('worker_drop_after_detach_race', maintenance_lock_timeout => '5min');
my $gate = worker_alter_gate($node);
my $worker = q{(SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance')};

# Makes table $t (old_partition_table), gives it a retention that chooses ${t}_old, and returns
# a session that holds ${t}_old (ACCESS SHARE) from the detach's commit, its request queued
# while the detach held the table; the worker's drop then waits for it.
sub drop_waits_for_session {
    my ($t) = @_;
    $node->safe_psql('postgres', old_partition_table($t));
    $gate->query_safe('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE;');
    $node->safe_psql('postgres',
        "UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = '$t'::regclass");
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE pid = $worker AND relation = '${t}_old'::regclass AND mode = 'AccessExclusiveLock'
   AND granted}),
        "the worker's detach of ${t}_old holds it at its end, at the gate");
    my $session = $node->background_psql('postgres');
    $session->query_until(qr/sent/, "\\echo sent\nBEGIN; LOCK TABLE ${t}_old IN ACCESS SHARE MODE;\n");
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_locks WHERE relation = '${t}_old'::regclass AND NOT granted}),
        "a session asks for ${t}_old");
    $gate->query_safe('COMMIT');
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE pid = $worker AND query = 'DROP TABLE public.${t}_old' AND wait_event_type = 'Lock'}),
        "the worker's drop of the detached ${t}_old waits for the session");
    is($node->safe_psql('postgres', qq{
SELECT relispartition, obj_description(oid, 'pg_class') IS NOT NULL FROM pg_class
 WHERE oid = '${t}_old'::regclass}),
        'f|t', "${t}_old is detached, marked as owed its drop");
    return $session;
}

# The lines of the server log from $offset on that match $re, joined.
sub log_lines {
    my ($offset, $re) = @_;
    return join("\n", grep { /$re/ } split /\n/, substr(slurp_file($node->logfile), $offset));
}

my $errors = q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'};
my $errors_before = $node->safe_psql('postgres', $errors);

# The session drops the table.
my $log_offset = -s $node->logfile;
my $session = drop_waits_for_session('r');
$session->query_safe('DROP TABLE r_old; COMMIT;');
ok($node->wait_for_log(
        qr/skipped the drop of detached table public\.r_old of public\.r|${\ worker_failed('public\.r')}/,
        $log_offset),
    'the worker gets past its drop of r_old');
is(log_lines($log_offset, worker_failed('public\.r')), '', 'the table\'s run did not fail');
like(log_lines($log_offset, qr/skipped the drop/), qr/skipped the drop of detached table public\.r_old of public\.r: dropped by another session since its detach/,
    'the worker says another session dropped the table');
$session->quit;

# The session drops the table and makes another of the same name.
$log_offset = -s $node->logfile;
$session = drop_waits_for_session('s');
$session->query_safe(q{DROP TABLE s_old; CREATE TABLE s_old (note text);
INSERT INTO s_old VALUES ('not a partition'); COMMIT;});
ok($node->wait_for_log(
        qr/skipped the drop of detached table public\.s_old of public\.s|${\ worker_failed('public\.s')}|dropped public\.s public\.s_old/,
        $log_offset),
    'the worker gets past its drop of s_old');
is($node->safe_psql('postgres', 'SELECT note FROM s_old'), 'not a partition',
    'the other table of the same name stays, with its row');
is(log_lines($log_offset, qr/${\ worker_failed('public\.s')}|dropped public\.s public\.s_old/),
    '', 'the worker neither failed nor dropped it');
$session->quit;

# The session (from drop_waits_for_session($t)) runs $statements, which keep ${t}_old, and
# commits: a later run unmarks the table, which stays as $state_sql says ($state), with its
# row, and the worker neither failed nor dropped it.
sub kept_and_unmarked {
    my ($t, $statements, $state_sql, $state, $what) = @_;
    my $log_offset = -s $node->logfile;
    my $session = drop_waits_for_session($t);
    $session->query_safe("$statements\nCOMMIT;");
    ok($node->poll_query_until('postgres',
            "SELECT obj_description('${t}_old'::regclass, 'pg_class') IS NULL"),
        "a later run unmarks the table $what");
    is($node->safe_psql('postgres', "$state_sql;\nSELECT count(*) FROM ${t}_old"), "$state\n1",
        "it stays, with its row: $what");
    is( log_lines(
            $log_offset, qr/${\ worker_failed("public\\.$t")}|dropped public\.$t public\.${t}_old/),
        '', "the worker neither failed nor dropped it: $what");
    $session->quit;
}

# The session attaches the table again, and gives its parent a retention that keeps it.
kept_and_unmarked('u', q{ALTER TABLE u ATTACH PARTITION u_old
    FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'u'::regclass;},
    q{SELECT i.inhparent::regclass FROM pg_inherits i WHERE i.inhrelid = 'u_old'::regclass},
    'u', 'attached again, a partition of u');

# The session attaches the table again, to a range the unchanged retention keeps (its row moved
# there, and the constraint the concurrent detach added dropped): what the table is owed is what
# the worker marked, and only the check that it is a partition again keeps it. (In the case
# above the retention changes too, which decided before that check: without it, both passed.)
kept_and_unmarked('x', q{DO $$
DECLARE
    c name;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'x_old'::regclass AND contype = 'c' LOOP
        EXECUTE format('ALTER TABLE x_old DROP CONSTRAINT %I', c);
    END LOOP;
END $$;
UPDATE x_old SET at = now() + interval '20 days';
ALTER TABLE x ATTACH PARTITION x_old FOR VALUES FROM (now()::date + 20) TO (now()::date + 21);},
    q{SELECT i.inhparent::regclass FROM pg_inherits i WHERE i.inhrelid = 'x_old'::regclass},
    'x', 'attached again to a range kept, the retention unchanged');

# The session only lengthens the retention: the detached table, no longer owed its drop, is
# kept (read again under the lock; read before it alone, the table was dropped).
kept_and_unmarked('w',
    q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'w'::regclass;},
    q{SELECT relispartition FROM pg_class WHERE oid = 'w_old'::regclass}, 'f',
    'retention no longer chooses, detached');

is($node->safe_psql('postgres', $errors), $errors_before, 'no maintenance error was counted');

$gate->quit;
$node->stop;
done_testing();
