# ALTER DATABASE ... RENAME TO stops the store worker of the database before Postgres checks for
# other sessions; when one stays connected, Postgres refuses the statement ("being accessed by
# other users") after the worker is gone. A worker that stopped with rows left queued (the
# store stayed locked) started no successor, and nothing wrote them until the next async
# predict() in the database: a shutdown before one lost them. The end of the refused
# statement's transaction now gives the queue a worker again, which writes them once the store
# is free; also when the refused statement was in a savepoint rolled back and another
# database's command followed in the transaction (only the last database stopped got a worker
# again), and when the transaction was prepared (PREPARE dropped the list without a worker).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('refused_command');
$node->append_conf('postgresql.conf', "max_prepared_transactions = 2\n");
$node->restart;
store_database($node, 'busy');

# The store locked by a session that stays connected; 50 async predictions queued behind it.
my ($locker, $waits) = store_worker_held($node,
    q{count(ai_scale.predict('m', jsonb_build_object('a', g))) FROM generate_series(1, 50) g},
    undef, 'busy');
ok($waits, 'the store worker waits for the store');

my $log_offset = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE busy RENAME TO renamed');
isnt($ret, 0, 'the rename fails');
like($err, qr/database "busy" is being accessed by other users/,
    'on the session that stayed connected');
like(slurp_file($node->logfile, $log_offset), qr/stopping; wrote 0 queued predictions, left 50 queued/,
    'after stopping the store worker, which left its rows queued');

# No async predict() from here on: the rows are written by the worker the refused statement's
# end started, once the store is free.
$locker->query_safe('COMMIT');
ok( $node->poll_query_until('busy', 'SELECT count(*) = 50 FROM public.model_predictions'),
    'the rows left queued are written without another predict()');
$locker->quit;

# 50 more async predictions (from $first) queued behind the locked store, then a transaction
# in which the rename of busy, in a savepoint rolled back, is refused, and which ends with
# $ending: the rows left queued are written without another predict() ($case). Returns the
# transaction's stderr.
sub rows_left_by_refused_rename {
    my ($first, $ending, $case) = @_;
    my $last = $first + 49;
    my ($locker, $waits) = store_worker_held($node,
        qq{count(ai_scale.predict('m', jsonb_build_object('a', g))) FROM generate_series($first, $last) g},
        undef, 'busy');
    ok($waits, "$case: the store worker waits for the store");
    my $log_offset = -s $node->logfile;
    my (undef, undef, $err) = $node->psql('postgres', qq{
BEGIN;
SAVEPOINT s;
ALTER DATABASE busy RENAME TO renamed;
ROLLBACK TO s;
$ending}, on_error_stop => 0);
    like($err, qr/database "busy" is being accessed by other users/,
        "$case: the rename in the savepoint fails");
    like(slurp_file($node->logfile, $log_offset),
        qr/stopping; wrote 0 queued predictions, left 50 queued/,
        "$case: the store worker left its rows queued");
    $locker->query_safe('COMMIT');
    ok($node->poll_query_until('busy', "SELECT count(*) = $last FROM public.model_predictions"),
        "$case: the rows left queued are written");
    $locker->quit;
    return $err;
}

$node->safe_psql('postgres', 'CREATE DATABASE other');
$err = rows_left_by_refused_rename(51, q{ALTER DATABASE other RENAME TO other2;
ALTER DATABASE other2 RENAME TO other;
COMMIT;}, 'another database renamed after');
unlike($err, qr/database "other/, 'the other database is renamed, and back');

rows_left_by_refused_rename(101, q{PREPARE TRANSACTION 'renamed_nothing';}, 'prepared');
$node->safe_psql('postgres', "COMMIT PREPARED 'renamed_nothing'");

done_testing();
