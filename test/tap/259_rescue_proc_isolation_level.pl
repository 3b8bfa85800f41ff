# CALL rescue_default_proc runs each batch in READ COMMITTED, whatever
# default_transaction_isolation the database or role sets (as the maintenance worker does, TAP
# 183): a batch looks again, under its lock on the default partition, at the rows it saw before
# taking it. The procedure's transactions took default_transaction_isolation: under REPEATABLE
# READ or SERIALIZABLE the batch read with the snapshot taken before its lock wait, missed a row
# a writer committed into the default meanwhile, and the CALL failed with 23514 (check
# constraint "ai_scale_rescue_moved" of relation "t_default" is violated by some row).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rescue_proc_isolation_level');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE ROLE rescuer LOGIN;
GRANT CREATE ON SCHEMA public TO rescuer;
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
ALTER TABLE t OWNER TO rescuer;
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);});

# The rows' days are counted from the day the test began: a midnight may come during it.
my $today = $node->safe_psql('postgres', 'SELECT current_date');
my $day = 5;
foreach my $level ('repeatable read', 'serializable') {
    $node->safe_psql('postgres',
        "ALTER ROLE rescuer SET default_transaction_isolation = '$level'");
    # A writer's row in the default, not committed yet; then a committed one of the same day.
    my $writer = $node->background_psql('postgres', on_error_stop => 0);
    $writer->query_safe(
        "BEGIN; INSERT INTO t VALUES ('$today'::date + $day + interval '2 hours', 2);");
    $node->safe_psql('postgres',
        "INSERT INTO t VALUES ('$today'::date + $day + interval '1 hour', 1)");
    # The procedure, in a session of the role, waits for the writer's lock (long enough not to
    # give up).
    my $caller = $node->background_psql('postgres',
        on_error_stop => 0,
        extra_params => [ '-U', 'rescuer' ]);
    is($caller->query_safe('SHOW transaction_isolation'), $level, "$level: the role's setting");
    $caller->query_safe(q{SET ai_scale.maintenance_lock_timeout = '5min'});
    $caller->query_until(qr/called/, "\\echo called\nCALL ai_scale.rescue_default_proc('t');\n");
    ok( $node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'CALL ai_scale.rescue_default_proc%' AND wait_event_type = 'Lock'}),
        "$level: rescue_default_proc waits for the writer");
    $writer->query_safe('COMMIT');
    $writer->quit;
    $caller->query('SELECT 1');
    unlike($caller->{stderr}, qr/ERROR/,
        "$level: the CALL did not fail on the row committed meanwhile");
    like($caller->{stderr}, qr/2 rows moved in 1 batch/, "$level: it moved both rows");
    $caller->quit;
    is( $node->safe_psql('postgres', q{SELECT rows FROM ai_scale.check_default('t')}),
        '0', "$level: both rows left the default partition");
    is( $node->safe_psql('postgres',
            "SELECT count(*) FROM t WHERE at >= '$today'::date + $day AND at < '$today'::date + $day + 1"),
        '2', "$level: none was lost");
    $day++;
}

# A session of the role calling rescue_default in a REPEATABLE READ transaction, after
# $before (statements taking the snapshot earlier, or none), with a long maintenance lock wait
# and verbose errors; returned once the call waits for a lock (the test $name).
sub rescue_waiting_in_repeatable_read {
    my ($before, $name) = @_;
    my $session = $node->background_psql('postgres',
        on_error_stop => 0,
        extra_params => [ '-U', 'rescuer' ]);
    $session->query_until(qr/called/, qq{\\set VERBOSITY verbose
SET ai_scale.maintenance_lock_timeout = '5min';
BEGIN ISOLATION LEVEL REPEATABLE READ;
$before
\\echo called
SELECT count(*) FROM ai_scale.rescue_default('t');
});
    ok( $node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'SELECT count(*) FROM ai_scale.rescue_default%' AND wait_event_type = 'Lock'}),
        $name);
    return $session;
}

# rescue_default, a function, runs in its caller's transaction: in REPEATABLE READ the same row
# fails it, now with 40001 (a serialization failure, which a client tries again) and a hint,
# where it gave 23514 as if a constraint of the table were broken.
my $writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe(
    "BEGIN; INSERT INTO t VALUES ('$today'::date + $day + interval '2 hours', 2);");
$node->safe_psql('postgres', "INSERT INTO t VALUES ('$today'::date + $day + interval '1 hour', 1)");
my $caller = rescue_waiting_in_repeatable_read('', 'rescue_default waits for the writer');
$writer->query_safe('COMMIT');
$writer->quit;
$caller->query('ROLLBACK');
like($caller->{stderr},
    qr/ERROR:  40001: could not serialize access to default partition public\.t_default\nDETAIL:  A row was committed into it after this REPEATABLE READ transaction's snapshot was taken\.\nHINT:  Call rescue_default and run_maintenance in READ COMMITTED, or try the transaction again\./,
    'in REPEATABLE READ, rescue_default fails with 40001 and says why');
$caller->quit;
is($node->safe_psql('postgres', q{SELECT rows FROM ai_scale.check_default('t')}),
    '2', 'nothing moved');

# The rows a REPEATABLE READ snapshot shows in the default were moved by another rescue that
# the call waited for: 40001 too, saying so, where the batch failed on 'upper bound of FOR loop
# cannot be null' (the partitions made since cover them, and nothing was left to make).
my $first = $node->background_psql('postgres', on_error_stop => 0);
$first->query_safe(q{BEGIN; SELECT count(*) FROM ai_scale.rescue_default('t');});
$caller = rescue_waiting_in_repeatable_read('SELECT 1;', 'the second rescue waits for the first');
$first->query_safe('COMMIT');
$first->quit;
$caller->query('ROLLBACK');
like($caller->{stderr},
    qr/ERROR:  40001: could not serialize access to default partition public\.t_default\nDETAIL:  Its rows from .+ were moved into partitions by another session after this REPEATABLE READ transaction's snapshot was taken\.\nHINT:  Call rescue_default and run_maintenance in READ COMMITTED/,
    'a rescue whose snapshot shows rows another one moved fails with 40001 and says why');
$caller->quit;
is( $node->safe_psql('postgres', q{
SELECT (SELECT rows FROM ai_scale.check_default('t')) || ' in the default, '
       || (SELECT count(*) FROM t WHERE at >= '} . $today . q{'::date + } . $day
       . q{ AND at < '} . $today . q{'::date + } . ($day + 1) . q{) || ' in the table'}),
    '0 in the default, 2 in the table', 'the first rescue moved the rows, once');

# Part of a cell moved by another session since the snapshot (a DBA moving a few hours of a day
# into a partition of their own): the rows the snapshot still shows there lie between the
# pieces the batch makes, where its copy found no partition for them (23514, "no partition of
# relation ..._rescue_stage found for row"). 40001 now, as above; nothing moved.
$day++;
my ($hour1, $hour4, $hour5, $hour6) =
  map { "'$today'::date + $day + interval '$_ hours'" } (1, 4, 5, 6);
$node->safe_psql('postgres', "INSERT INTO t VALUES ($hour1, 1), ($hour5, 5)");
my $mover = $node->background_psql('postgres', on_error_stop => 0);
# (The parent locked first, as the rescue locks it: else the mover's CREATE and the rescue
# waiting for the default deadlock.)
$mover->query_safe(
    "BEGIN; LOCK TABLE t; DELETE FROM ONLY t_default WHERE at >= $hour4 AND at < $hour6;");
$caller = rescue_waiting_in_repeatable_read('SELECT 1;',
    'a rescue waits for a session moving part of a day out of the default');
# (The caller's snapshot, taken before the DELETE commits, still shows the row in the default.)
$mover->query_safe("CREATE TABLE t_hours PARTITION OF t FOR VALUES FROM ($hour4) TO ($hour6);
INSERT INTO t VALUES ($hour5, 5); COMMIT;");
$mover->quit;
$caller->query('ROLLBACK');
like($caller->{stderr},
    qr/ERROR:  40001: could not serialize access to default partition public\.t_default\nDETAIL:  Its rows from \S+ 04:00:00\+00 to \S+ 06:00:00\+00 were moved into partitions by another session after this REPEATABLE READ transaction's snapshot was taken\./,
    'a rescue whose snapshot shows rows moved out of part of a day fails with 40001');
$caller->quit;
is( $node->safe_psql('postgres', q{
SELECT (SELECT rows FROM ai_scale.check_default('t')) || ' in the default, '
       || (SELECT count(*) FROM t_hours) || ' in t_hours'}),
    '1 in the default, 1 in t_hours', 'nothing moved');
is( $node->safe_psql('postgres', q{
SELECT string_agg(rows_moved::text, ',' ORDER BY lower) FROM ai_scale.rescue_default('t')}),
    '1,0', 'a rescue in READ COMMITTED then moves the row left, making the rest of the day in two pieces');

# The transaction the CALL is in when it starts is committed first when it is not READ
# COMMITTED: in a transaction block, where the procedure cannot commit, that is 2D000, as for
# its first batch's commit.
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
SET ROLE rescuer;
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL ai_scale.rescue_default_proc('t');
COMMIT;}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($stderr, qr/ERROR:  2D000: invalid transaction termination/,
    'in a REPEATABLE READ transaction block it cannot commit (2D000)');

$node->stop;
done_testing();
