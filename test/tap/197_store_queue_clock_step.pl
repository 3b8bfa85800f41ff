# The store queue's wait for a worker that never started is counted on the monotonic clock: when
# the postmaster could not fork the worker a backend registered, and the server's wall clock is
# then stepped back an hour (NTP, a VM resumed, a clock set right), the next async predict() 10 s
# after the start still starts another worker, which writes the rows queued meanwhile. Counted on
# the wall clock (GetCurrentTimestamp), the start was taken as pending for that hour more: no
# worker started, and the queued rows were neither written nor visible for an hour.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('store_queue_clock_step');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.store_mode = async
});
start_clock_shifted($node);
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('w_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
});

# The postmaster cannot fork (its RLIMIT_NPROC lowered, as in TAP 041) the worker registered
# for the first queued row.
my $log_offset = -s $node->logfile;
ok(queued_while_fork_fails($node, 'postgres'), 'the postmaster could not fork the store worker');

shift_clock($node, -3600);
cmp_ok($node->safe_psql('postgres', 'SELECT extract(epoch FROM now())') + 3000, '<', time(),
    'the server\'s wall clock is an hour behind');
# Each poll scores a new input, so that each one queues and may start a worker.
ok($node->poll_query_until('postgres', q{
SELECT ai_scale.predict('w_lin', jsonb_build_object('a', 8, 'b', random()))
         IS NOT NULL
   AND (SELECT count(*) FROM public.model_predictions WHERE input_data = '{"a": 7, "b": 1}') = 1}),
    'a later predict() starts another worker, which writes the row queued before');
like(slurp_file($node->logfile, $log_offset),
    qr/store worker for database "postgres" did not start within 10 s; starting another/,
    'and says why');

$node->stop;
done_testing();
