# DROP DATABASE and ALTER DATABASE ... RENAME right after an async predict(), while the store
# worker it started has connected to the database but not yet attached to its queue. The
# commands stop the worker first (TAP 041), but looked only for an attached one: this one was
# missed, attached a moment later, stayed its 10 s idle, and the command failed with "being
# accessed by other users" after Postgres's 5 s wait (4 DROPs in 30 of a database just
# predicted in, through dblink). Now the command tells a starting worker to stop as it attaches,
# and waits for it: it writes what is queued and leaves.
#
# The worker is held in that window by a gate: the database has a default_text_search_config
# of its own, whose check reads pg_ts_config as a new session of the database starts, after it
# is counted as one of the database's sessions; a session holding pg_ts_config locked stops the
# worker there, and is terminated once the command runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('starting_worker_command');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.store_mode = async
});
$node->start;

for my $db ('doomed', 'moved') {
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('g_lin', 'linear', ARRAY['a'], '{"weights": [1]}');
});
}

# Predicts {"a": 1} in $db (async) with the store worker it starts held at the gate, then runs
# $command from the postgres database and lets the worker go once the command runs. Returns
# psql's ERROR variable after the command ('false': it succeeded) and the command's stderr.
sub command_beside_starting_worker {
    my ($db, $command) = @_;
    my $db_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = '$db'");
    # Connected before the setting, so that it does not stop at the gate itself.
    my $predictor = $node->background_psql($db);
    $node->safe_psql('postgres',
        "ALTER DATABASE $db SET default_text_search_config = 'pg_catalog.english'");
    my $gate = $node->background_psql($db);
    $gate->query_safe('BEGIN; LOCK TABLE pg_catalog.pg_ts_config IN ACCESS EXCLUSIVE MODE');
    my $gate_pid = $gate->query_safe('SELECT pg_backend_pid()');
    $predictor->query_safe(q{SELECT ai_scale.predict('g_lin', '{"a": 1}')});
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE database = $db_oid AND relation = 'pg_catalog.pg_ts_config'::regclass
   AND mode = 'AccessShareLock' AND NOT granted}), "$db: the store worker waits at the gate");
    $predictor->quit;
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = '$db' AND backend_type = 'client backend'}),
        "$db: the predicting session has left");

    my $commander = $node->background_psql('postgres', on_error_stop => 0);
    $commander->query_until(qr/sent/, "\\echo sent\n$command;\n\\echo error :ERROR\n");
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '$command%' AND state = 'active'}),
        "$db: the command runs");
    $node->safe_psql('postgres', "SELECT pg_terminate_backend($gate_pid)");
    eval { $gate->quit };
    my $out = $commander->query_until(qr/error (true|false)/, '');
    my ($error) = $out =~ /error (true|false)/;
    my $stderr = $commander->{stderr};
    $commander->quit;
    return ($error, $stderr);
}

my ($error, $stderr) = command_beside_starting_worker('doomed', 'DROP DATABASE doomed');
is($error, 'false', 'DROP DATABASE beside a starting store worker succeeds');
unlike($stderr, qr/being accessed by other users/, 'not failing on the worker');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'doomed'}),
    '0', 'the database is gone');

($error, $stderr) = command_beside_starting_worker('moved', 'ALTER DATABASE moved RENAME TO moved_to');
is($error, 'false', 'ALTER DATABASE ... RENAME beside a starting store worker succeeds');
unlike($stderr, qr/being accessed by other users/, 'not failing on the worker');
is($node->safe_psql('moved_to',
        q{SELECT count(*) FROM public.model_predictions WHERE input_data = '{"a": 1}'}),
    '1', 'the worker wrote the queued row as it stopped');

$node->stop;
done_testing();
