# The async store worker lives as long as predictions keep coming, and Postgres keeps the
# relation cache entry of every partition it writes, with its indexes', until that partition
# changes. With a store kept for good (create_prediction_store's default, no retention) and
# hourly partitions, the worker's CacheMemoryContext grew by about 10 kB a partition, 27 kB in
# all, for good: 0.96 MB after 50 hours, 2.5 MB after 200 (6 MB of memory in all). Partitions
# dropped by a retention cost nothing. The worker now resets its catalog caches after a pass
# once they hold 64 kB more than after its first pass since the last reset, as the maintenance
# worker does (TAP 253). Driven with the wall clock stepped an hour at a time
# (test/tools/clock_shift.cpp); measured in CacheMemoryContext's used bytes, which
# pg_log_backend_memory_contexts writes to the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('store_worker_memory_many_partitions');
$node->init;
$node->append_conf('postgresql.conf', qq{shared_preload_libraries = 'ai_scale'
ai_scale.store_mode = async
log_min_messages = debug1
});
start_clock_shifted($node);
# Hourly, two made ahead, none dropped.
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store('public.model_predictions', '1 hour', 2);
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

# Steps the clock an hour, makes that hour's partitions, and queues five predictions for the
# worker to write into the new one; waits until it has.
my $hour = 0;
sub step {
    $hour++;
    shift_clock($node, 3600 * $hour);
    my $inputs = join(', ', map { sprintf(q('{"x": %d}'), 10 * $hour + $_) } 0 .. 4);
    $node->safe_psql('postgres', qq{
SELECT count(*) FROM ai_scale.run_maintenance();
SELECT count(*) FROM unnest(ai_scale.predict_batch('a', ARRAY[$inputs]::jsonb[]));});
    $node->poll_query_until('postgres', qq{
SELECT count(*) = 5 FROM public.model_predictions
 WHERE (input_data->>'x')::int >= 10 * $hour AND created_at >= now() - interval '1 hour'})
      or die 'the worker did not write the predictions';
}

# CacheMemoryContext's used bytes in the store worker, as it logs them; and its pid.
sub cache_used { return context_used($node, 'ai_scale store', 'CacheMemoryContext') }

step() for 1 .. 5;
my $offset = -s $node->logfile;
my ($early, $pid) = cache_used();
step() for 1 .. 40;
my ($late, $late_pid) = cache_used();
is($late_pid, $pid, 'the same worker wrote every hour');
note("CacheMemoryContext used: $early bytes, then 40 partitions later $late bytes");
# Before: about 400 kB more, 10 kB for each partition written.
cmp_ok($late - $early, '<', 128 * 1024, "the worker's catalog caches stay bounded");
ok($node->log_contains(qr/ai_scale store worker for database "postgres" reset its catalog caches/, $offset),
    'and it logged the reset');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.model_predictions}), '225',
    'every prediction stored');

$node->stop;
done_testing();
