# The async store worker stops when told to while its insert waits for a lock on the store. It
# used to wait for the lock whatever came: pg_terminate_backend was ignored for as long as a
# session held the lock, and a fast shutdown never finished while a prepared transaction held
# one (pg_ctl stop failed; only an immediate stop ended the server). The rows it could not
# write stay queued for the next worker, which it starts as it stops, unless the queue reused
# their room meanwhile.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('store_terminate_locked');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.store_mode = async
max_prepared_transactions = 2
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('t_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
});

sub predict_batch {
    my ($b, $n) = @_;
    $node->safe_psql('postgres',
            "SELECT cardinality(ai_scale.predict_batch('t_lin', ARRAY(SELECT "
          . "jsonb_build_object('a', g, 'b', $b) FROM generate_series(1, $n) g)))");
}

sub stored {
    my ($b) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM model_predictions WHERE (input_data->>'b')::int = $b");
}

sub worker_waits_for_lock {
    $node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity "
          . "WHERE backend_type = 'ai_scale store' AND wait_event_type = 'Lock'")
      or die 'the store worker never waited for the lock';
    return $node->safe_psql('postgres',
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale store'");
}

# Terminated while a session holds the store: it stops, and its rows wait in the queue.
predict_batch(1, 1);
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM model_predictions") or die;
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
predict_batch(2, 300);
my $worker = worker_waits_for_lock();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $worker"),
    'a store worker waiting for a lock ends when terminated');
like(slurp_file($node->logfile), qr/left 300 queued: the prediction store stayed locked/,
    'it says how many rows it left queued');
$holder->query_safe('COMMIT;');
$holder->quit;
# The worker it started as it stopped writes them, and the rows queued after.
predict_batch(3, 1);
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 300 FROM model_predictions WHERE (input_data->>'b')::int = 2"),
    'the rows left queued are written by the next worker');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM model_predictions WHERE (input_data->>'b')::int = 3"),
    'and the next call\'s');

# Rows the worker had taken out of the queue are lost when the queue has reused their room
# meanwhile (4000 taken, then 6000 queued in a ring of about 8000: the default
# store_queue_size), and the worker says so; the rows queued after them wait.
$node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale store'")
  or die;
$holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
predict_batch(6, 4000);
$worker = worker_waits_for_lock();
predict_batch(7, 6000);
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $worker")
  or die;
like(slurp_file($node->logfile), qr/store worker for database "[^"]+" lost 4000 predictions: the prediction store stayed locked/,
    'the rows whose room the queue reused are lost, with a WARNING');
like(slurp_file($node->logfile), qr/left 6000 queued/, 'the rows queued after them are left');
$holder->query_safe('COMMIT;');
$holder->quit;
predict_batch(8, 1);
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 6000 FROM model_predictions WHERE (input_data->>'b')::int = 7"),
    'and written by the next worker');
$node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM model_predictions WHERE (input_data->>'b')::int = 8")
  or die;

# A fast shutdown while a prepared transaction holds the store finishes.
$node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale store'")
  or die;
$node->safe_psql('postgres',
    "BEGIN; LOCK model_predictions IN SHARE MODE; PREPARE TRANSACTION 'hold_store'");
predict_batch(4, 50);
worker_waits_for_lock();
$node->stop('fast');
like(slurp_file($node->logfile), qr/left 50 queued: the prediction store stayed locked/,
    'a fast shutdown stops a worker waiting for a lock a prepared transaction holds');
$node->start;
$node->safe_psql('postgres', "ROLLBACK PREPARED 'hold_store'");

# A worker told to stop while no lock is in its way writes everything, as before.
$holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
predict_batch(5, 200);
worker_waits_for_lock();
$node->stop('fast');    # terminates the holder too
$node->start;
is(stored(5), '200', 'rows waiting for a session\'s lock at a fast shutdown are written');
unlike(slurp_file($node->logfile), qr/store worker for database "[^"]+" lost (?!4000 )/, 'no other batch was lost');

# Rows left queued are written once the lock goes even when no async predict() comes after
# them: the stopping worker starts the next one. They waited for the next predict() to start
# one, and a clean shutdown before it lost them, saying nothing.
$holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
predict_batch(9, 100);
$worker = worker_waits_for_lock();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $worker")
  or die;
like(slurp_file($node->logfile),
    qr/left 100 queued: the prediction store stayed locked\n.*DETAIL:  A new store worker writes them once the store is free/,
    'the worker says a new one writes the rows it left');
$holder->query_safe('COMMIT;');
$holder->quit;
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 100 FROM model_predictions WHERE (input_data->>'b')::int = 9"),
    'they are written with no predict() after them');
$node->stop('fast');
$node->start;
is(stored(9), '100', 'and are there after a clean restart');

$node->stop;
done_testing();
