# A step of partition maintenance that gives up on a lock (ai_scale.maintenance_lock_timeout)
# says what held it: the 'skipped' row's detail, and the worker's log line for a detach it
# skips, name the sessions holding a conflicting lock on the relation (or queued ahead for one)
# by pid and the age of their transaction, the first three and how many more; a prepared
# transaction as such; never a query text or a role (the age too is left out where the table's
# owner, as whom maintenance runs, may not see it); so do rescue_default's and
# manage_partitions' errors by hand. It used to say only that the lock was not free in time.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# The worker runs in postgres at start and on each reload only; the runs by hand are in app,
# where no worker runs.
my $node = worker_node('partition_lock_holders', maintenance_naptime => 3600);
$node->append_conf('postgresql.conf', "max_prepared_transactions = 2\n");
$node->restart;
$node->safe_psql('postgres', q{
CREATE DATABASE app;
CREATE ROLE table_owner;
CREATE ROLE other_app;});
$node->safe_psql('app', 'CREATE EXTENSION ai_scale; GRANT CREATE ON SCHEMA public TO table_owner;');
$node->safe_psql('app', old_partition_table('k') . q{
SELECT count(*) FROM ai_scale.run_maintenance('k');
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'k'::regclass;});
my $run_k = q{SELECT action || ': ' || detail FROM ai_scale.run_maintenance('k')
 WHERE partition = 'public.k_old'};
my $age = qr/transaction open \d+\.\d s/;

# Four readers of the partition retention drops, in open transactions: the first three (the
# oldest transactions first) are named, and how many more.
my @readers = map { $node->background_psql('app') } 1 .. 4;
my @pids = map { $_->query_safe('SELECT pg_backend_pid()') } @readers;
$_->query_safe('BEGIN; SELECT count(*) FROM k_old;') for @readers;
like($node->safe_psql('app', $run_k),
    qr/^skipped: drop public\.k_old: canceling statement due to lock timeout; lock on public\.k_old held by pid $pids[0] \($age\), pid $pids[1] \($age\), pid $pids[2] \($age\) and 1 more; retried on the next run$/,
    'a drop skipped names the three oldest sessions holding the partition, and how many more');
$_->query_safe('COMMIT') for @readers[1 .. 3];

# A session in a transaction queued for an ACCESS EXCLUSIVE lock on $table; and its pid.
sub queued_for {
    my ($table) = @_;
    my $session = $node->background_psql('app');
    my $pid = $session->query_safe('SELECT pg_backend_pid()');
    $session->query_until(qr/sent/,
        "\\echo sent\nBEGIN; LOCK TABLE $table IN ACCESS EXCLUSIVE MODE;\n");
    ok($node->poll_query_until('app', qq{
SELECT count(*) = 1 FROM pg_locks WHERE pid = $pid AND NOT granted}),
        "a session queues for $table behind the reader");
    return ($session, $pid);
}

# A session queued for the partition ahead of the run: named too, as waiting.
my ($queued, $queued_pid) = queued_for('k_old');
like($node->safe_psql('app', $run_k),
    qr/; lock on public\.k_old held by pid $pids[0] \($age\), pid $queued_pid \(waiting ahead, $age\); retried on the next run$/,
    'a session queued ahead for a conflicting lock is named as waiting');
$readers[0]->query_safe('COMMIT');
$queued->query_safe('ROLLBACK');

# A prepared transaction has no session: said so, with its age.
$node->safe_psql('app', q{BEGIN; SELECT count(*) FROM k_old; PREPARE TRANSACTION 'k_reader';});
like($node->safe_psql('app', $run_k),
    qr/; lock on public\.k_old held by a prepared transaction \(prepared \d+\.\d s ago\); retried on the next run$/,
    'a prepared transaction holding the partition is named as one');
$node->safe_psql('app', q{COMMIT PREPARED 'k_reader'});

# No holder left (it went between the lock timeout and the look): said so.
is($node->safe_psql('app', q{
SELECT ai_scale._lock_holders(ARRAY['k_old'::regclass], '{AccessExclusiveLock}', '50ms')}),
    'the session that held the lock has released it since',
    'a holder gone by the time of the look is said to be gone');

# The look failing (here on a wait that is no interval) leaves the message as it was.
is($node->safe_psql('app', q{
SELECT ai_scale._lock_timeout_text('canceling statement due to lock timeout',
                                   ARRAY['k_old'::regclass], '{AccessExclusiveLock}', 'soon')}),
    'canceling statement due to lock timeout', 'a look that fails gives the message alone');

# Another run of the table holding it, in an open transaction: its pid.
$node->safe_psql('app', q{
CREATE TABLE m (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('m', '1 day', 2);});
my $other_run = $node->background_psql('app');
my $other_run_pid = $other_run->query_safe('SELECT pg_backend_pid()');
$other_run->query_safe(q{BEGIN; SELECT count(*) FROM ai_scale.run_maintenance('m');});
like($node->safe_psql('app', q{
SET lock_timeout = '100ms';
SELECT action || ': ' || detail FROM ai_scale.run_maintenance('m')}),
    qr/^skipped: another maintenance run holds this table; maintenance lock on public\.m held by pid $other_run_pid \($age\); retried on the next run$/,
    'a table skipped while another run holds it names that run');
$other_run->query_safe('COMMIT');

# A table owned by a role that is not a member of the holder's: maintenance runs as the owner,
# who is shown the holder's pid only; neither its role nor its query, ever.
$node->safe_psql('app', q{
SET ROLE table_owner;
CREATE TABLE h (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE h_old PARTITION OF h FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
RESET ROLE;
SELECT count(*) FROM ai_scale.manage_partitions('h', '1 day', 2);
GRANT SELECT ON h, h_old TO other_app;});
my $stranger = $node->background_psql('app');
my $stranger_pid = $stranger->query_safe('SELECT pg_backend_pid()');
$stranger->query_safe('SET ROLE other_app; BEGIN; SELECT count(*) FROM h_old /* secret query */;');
$node->safe_psql('app',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'h'::regclass});
my $detail = $node->safe_psql('app', q{
SELECT detail FROM ai_scale.run_maintenance('h') WHERE partition = 'public.h_old'});
like($detail,
    qr/; lock on public\.h_old held by pid $stranger_pid \(transaction age not visible\); retried on the next run$/,
    "a holder of another role is named by pid, its transaction's age not shown");
unlike($detail, qr/other_app|secret/, 'nor its role or its query');
$stranger->query_safe('COMMIT');

# The worker's concurrent detach of a partition a session holds in SHARE mode: its log names
# that session alone, not an older reader's, whose ACCESS SHARE lets the detach's SHARE UPDATE
# EXCLUSIVE in (named as holders of the ACCESS EXCLUSIVE a FINALIZE takes, the reader came first).
$node->safe_psql('postgres', old_partition_table('a') . q{
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent = 'a'::regclass;});
my $a_reader = $node->background_psql('postgres');
$a_reader->query_safe('BEGIN; SELECT count(*) FROM a_old;');
my $holder = $node->background_psql('postgres');
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder->query_safe('BEGIN; LOCK TABLE a_old IN SHARE MODE;');
$node->reload;
ok( $node->wait_for_log(
        qr/${worker_line}skipped detach of public\.a public\.a_old: a lock was not free within ai_scale\.maintenance_lock_timeout; lock on public\.a_old held by pid $holder_pid \($age\)$/m
    ),
    "the worker's log of a detach it skipped names the session holding the partition, alone");
$holder->query_safe('COMMIT');
$a_reader->query_safe('COMMIT');

# By hand, the errors of a lock not free in time say what held it too: rescue_default (and
# rescue_default_proc's notices as it tries again), and manage_partitions adding a default.
$node->safe_psql('app', q{
CREATE TABLE r (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE r_default PARTITION OF r DEFAULT;
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 2);
INSERT INTO r VALUES (now() + interval '1 year', 1);
CREATE TABLE n (at timestamptz NOT NULL) PARTITION BY RANGE (at);});
my $reader = $node->background_psql('app');
my $reader_pid = $reader->query_safe('SELECT pg_backend_pid()');
$reader->query_safe('BEGIN; SELECT count(*) FROM r_default; SELECT count(*) FROM n;');
my ($rc, $out, $err) = $node->psql('app', q{SELECT * FROM ai_scale.rescue_default('r')});
like($err,
    qr/ERROR:  canceling statement due to lock timeout\nDETAIL:  Lock on public\.r_default held by pid $reader_pid \($age\)\.\nHINT:  A transaction holds the table; call rescue_default again once it ends\./,
    'rescue_default by hand names the session holding the default partition');
($rc, $out, $err) = $node->psql('app', q{
SET client_min_messages = notice;
SET lock_timeout = '150ms';
CALL ai_scale.rescue_default_proc('r')});
like($err,
    qr/NOTICE:  batch 1: the table is busy \(canceling statement due to lock timeout\); trying again\nDETAIL:  Lock on public\.r_default held by pid $reader_pid \($age\)\./,
    "rescue_default_proc's notice names it as it tries again");
($rc, $out, $err) = $node->psql('app', q{SELECT count(*) FROM ai_scale.manage_partitions('n', '1 day', 2)});
like($err,
    qr/ERROR:  could not lock table public\.n to add its default partition\nDETAIL:  The lock was not free within ai_scale\.maintenance_lock_timeout \(50ms\): lock on public\.n held by pid $reader_pid \($age\)\./,
    'manage_partitions adding a default partition names the session holding the table');
# A session queued ahead of rescue_default for the default: named too. (The wait was read as
# 50 seconds, and a session queued for less than that was left out.)
my ($queued_r, $queued_r_pid) = queued_for('r_default');
# (Its first read of the default queues behind that session, with the caller's lock_timeout.)
($rc, $out, $err) = $node->psql('app', q{
SET lock_timeout = '1s';
SELECT * FROM ai_scale.rescue_default('r')});
like($err,
    qr/DETAIL:  Lock on public\.r_default held by pid $reader_pid \($age\), pid $queued_r_pid \(waiting ahead, $age\)\.\n/,
    'rescue_default by hand names a session queued ahead of it as waiting');
$reader->query_safe('COMMIT');
$queued_r->query_safe('ROLLBACK');

$_->quit for @readers, $queued, $other_run, $stranger, $holder, $reader, $queued_r, $a_reader;
$node->stop;
done_testing();
