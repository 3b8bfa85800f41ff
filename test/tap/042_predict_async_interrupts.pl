# Interrupting the async store worker loses no accepted prediction: a pg_cancel_backend while
# it is idle does not end it (it used to exit with FATAL, leaving the rows queued since its
# last drain to wait for the next async predict(), and to be lost at a clean shutdown); a
# cancel of its insert, or a lock_timeout set for the database, makes it try the batch again
# instead of dropping it with a WARNING. The maintenance worker and its launcher also survive
# a cancel while idle.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('async_interrupts', store_mode => 'async',
    maintenance_databases => 'postgres');
$node->safe_psql('postgres',
    q{SELECT ai_scale.register_model('i_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}')});

sub stored {
    my ($b) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM model_predictions WHERE (input_data->>'b')::int = $b");
}

sub predict_batch {
    my ($b, $n) = @_;
    return "SELECT cardinality(ai_scale.predict_batch('i_lin', ARRAY(SELECT "
      . "jsonb_build_object('a', g, 'b', $b) FROM generate_series(1, $n) g)))";
}

sub pid_of {
    my ($type) = @_;
    return $node->safe_psql('postgres',
        "SELECT pid FROM pg_stat_activity WHERE backend_type = '$type'");
}

sub cancel {
    my ($pid) = @_;
    $node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
}

# A first prediction starts the store worker.
$node->safe_psql('postgres', predict_batch(1, 1));
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM model_predictions") or die;
my $worker = pid_of('ai_scale store');
ok($worker, 'the store worker runs');

# Cancelled while idle: it goes on, and writes what was queued just before.
$node->safe_psql('postgres', predict_batch(2, 100) . "; SELECT pg_cancel_backend($worker)");
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 100 FROM model_predictions WHERE (input_data->>'b')::int = 2"),
    'the rows queued when the idle worker was cancelled are stored');
is(pid_of('ai_scale store'), $worker, 'a cancel does not end the idle store worker');

# Cancelled while its insert waits for a lock: the batch is inserted once the lock is free.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
$node->safe_psql('postgres', predict_batch(3, 500));
$node->poll_query_until('postgres',
    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $worker")
  or die 'the store worker never waited for the lock';
cancel($worker);
$node->poll_query_until('postgres',
    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $worker")
  or die 'the store worker did not wait again after the cancel';
$holder->query_safe('COMMIT;');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 500 FROM model_predictions WHERE (input_data->>'b')::int = 3"),
    'a cancelled insert is tried again: its 500 rows are stored');

# A lock_timeout set for the database does not apply to the worker's inserts.
$node->safe_psql('postgres', "ALTER DATABASE postgres SET lock_timeout = '100ms'");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
$node->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale store'")
  or die;
# The queue was closed by the termination: this one is inserted synchronously, and a new
# worker (with the database's settings) starts.
$node->safe_psql('postgres', predict_batch(4, 1));
$node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale store'")
  or die;
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
$node->safe_psql('postgres', "SET lock_timeout = 0; " . predict_batch(5, 300));
# Until the worker's insert has waited for the lock longer than the 100 ms (a fixed second was
# over before a slow worker's insert began, and then the lock_timeout was never put to test).
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE a.backend_type = 'ai_scale store' AND NOT l.granted
   AND l.waitstart < clock_timestamp() - interval '300 ms'}),
    'the worker\'s insert waits for the lock past the lock_timeout');
$holder->query_safe('COMMIT;');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 300 FROM model_predictions WHERE (input_data->>'b')::int = 5"),
    'with lock_timeout set for the database, a batch waits for the lock rather than being lost');
$node->safe_psql('postgres', "ALTER DATABASE postgres RESET lock_timeout");
$holder->quit;
unlike(slurp_file($node->logfile), qr/store worker for database "[^"]+" lost/, 'no batch was lost');

# The maintenance worker and its launcher, cancelled while idle, go on too.
$node->poll_query_until('postgres',
    "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type LIKE 'ai_scale maintenance%'")
  or die;
my $maintenance = pid_of('ai_scale maintenance');
my $launcher = pid_of('ai_scale maintenance launcher');
# Napping between runs (it reports 'idle' between the transactions of a run too).
$node->poll_query_until('postgres', qq{
SELECT wait_event_type = 'Extension' AND wait_event = 'Extension' FROM pg_stat_activity
WHERE pid = $maintenance})
  or die;
cancel($_) for ($maintenance, $launcher);
# Each served the cancel once it serves a request sent after it (a cancel that ended it would
# have done so first: ProcessInterrupts takes the cancel before a memory-context request), not
# once a second has passed, which under load may be before either was scheduled.
for my $pid ($maintenance, $launcher) {
    my $offset = -s $node->logfile;
    $node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
    ok($node->wait_for_log(qr/logging memory contexts of PID $pid\b/, $offset),
        "process $pid serves a request after the cancel");
}
is(pid_of('ai_scale maintenance'), $maintenance, 'a cancel does not end the idle maintenance worker');
is(pid_of('ai_scale maintenance launcher'), $launcher, 'nor its launcher');

# Every accepted row is there after a clean restart.
$node->safe_psql('postgres', predict_batch(6, 200) . "; SELECT pg_cancel_backend(pid) "
      . "FROM pg_stat_activity WHERE backend_type = 'ai_scale store'");
$node->restart;
is(stored(6), '200', 'rows queued around a cancel are stored by a clean restart');

$node->stop;
done_testing();
