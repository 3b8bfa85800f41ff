# A backend killed with SIGKILL makes the postmaster reinitialise shared memory and restart every
# process (restart_after_crash). What the docs promise must hold after that: a concurrent detach
# the crash interrupted is finalized by the worker, which comes back; a rescue_default_proc
# killed between batches loses and duplicates nothing and the next call finishes it; async
# predict() queues again; an invalidation made before the crash is still in force.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY} // '';
my $node = PostgreSQL::Test::Cluster->new('crash_restart');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
restart_after_crash = on
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');

# Kills the backend of a background session with SIGKILL and waits until the server is back.
sub crash {
    my ($pid) = @_;
    my $offset = -s $node->logfile;
    kill 'KILL', $pid;
    $node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
    ok($node->poll_query_until('postgres', 'SELECT true'), 'the server is back after the crash');
}

# 1. The worker waits in DETACH ... CONCURRENTLY (an older reader holds the table) when the
# server crashes: the partition is left pending detach; the worker, started again, finalizes
# the detach and drops the table, as retention chose it in drop mode.
$node->safe_psql('postgres', old_partition_table('r'));
my $reader = hold_worker_detach($node, 'r');
my $worker = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'});
crash($worker);
ok($node->poll_query_until('postgres', q{SELECT to_regclass('r_old') IS NULL}),
    'the worker finalizes the pending detach and drops the table after the crash');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_inherits WHERE inhdetachpending}), '0', 'nothing is pending');
eval { $reader->quit };

# 2. rescue_default_proc killed between two committed batches (in its pause; the worker rescues
# batches of its own meanwhile): the batches before stay moved, the rest stays in the default, no row is lost or doubled; the next call
# moves the rest and drops the key index the killed one built.
$node->safe_psql('postgres', q{
CREATE TABLE d (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('d', '1 day', 1, time_zone => 'UTC');
INSERT INTO d SELECT g, now() - interval '60 days' + g * interval '1 minute'
  FROM generate_series(1, 30000) g;});
my $rescuer = $node->background_psql('postgres', on_error_stop => 0);
my $rescuer_pid = $rescuer->query_safe('SELECT pg_backend_pid()');
$rescuer->query_until(qr/sent/,
    "\\echo sent\nCALL ai_scale.rescue_default_proc('d', 2000, interval '1 hour');\n");
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 1 FROM pg_stat_activity
          WHERE query LIKE 'CALL ai_scale.rescue_default_proc%' AND wait_event = 'PgSleep'}),
    'rescue_default_proc pauses after its first batch');
crash($rescuer_pid);
eval { $rescuer->quit };
is($node->safe_psql('postgres',
        q{SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || (SELECT count(*) < 30000 FROM ONLY d_default) FROM d}),
    '30000 30000 true', 'the first batch stays moved, nothing is lost or doubled');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_class WHERE relname LIKE '%rescue%'}),
    '1', 'only the key index is left behind');
$node->safe_psql('postgres', q{CALL ai_scale.rescue_default_proc('d', 2000)});
is($node->safe_psql('postgres',
        q{SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || (SELECT count(*) FROM ONLY d_default) FROM d}),
    '30000 30000 0', 'the next call moves the rest');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_class WHERE relname LIKE '%rescue%'}),
    '0', 'and drops the key index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ai_scale.run_maintenance('d') WHERE action = 'error'}),
    '0', 'maintenance runs without errors');

# 3. Async predict() after a crash: the queue was reinitialised; predictions queue again, a new
# store worker writes them.
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store('public.crash_store');
SELECT ai_scale.register_model('c_lin', 'linear', ARRAY['a'], '{"weights": [1]}');
ALTER DATABASE postgres SET ai_scale.store_table = 'public.crash_store';
ALTER DATABASE postgres SET ai_scale.store_mode = 'async';});
$node->safe_psql('postgres',
    q{SELECT count(ai_scale.predict('c_lin', jsonb_build_object('a', i))) FROM generate_series(1, 50) i});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 50 FROM crash_store}),
    'async predictions are stored');
my $other = $node->background_psql('postgres', on_error_stop => 0);
crash($other->query_safe('SELECT pg_backend_pid()'));
eval { $other->quit };
$node->safe_psql('postgres',
    q{SELECT count(ai_scale.predict('c_lin', jsonb_build_object('a', i))) FROM generate_series(51, 100) i});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 100 FROM crash_store}),
    'after the crash, async predictions are stored again');
is($node->safe_psql('postgres',
        q{SELECT count(DISTINCT input_data) FROM crash_store}), '100', 'each once');

# 4. An invalidation committed just before the crash stays in force after it (L1 is new; the
# generation comes back from Redis when there is one).
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('cm', 1, '{"x": 1}', '{"y": 1}')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('cm', 1, '{"x": 1}')}), '{"y": 1}',
    'a cached value is a hit');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('cm')});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('cm', 1, '{"x": 2}', '{"y": 2}')});
$other = $node->background_psql('postgres', on_error_stop => 0);
crash($other->query_safe('SELECT pg_backend_pid()'));
eval { $other->quit };
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('cm', 1, '{"x": 1}') IS NULL}), 't',
    'the value invalidated before the crash is a miss after it');
SKIP: {
    skip 'no Redis', 1 unless $redis;
    is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('cm', 1, '{"x": 2}')}), '{"y": 2}',
        'a value put after the invalidation is a hit from Redis after the crash');
}

# 5. The maintenance worker is back and maintains: retention given to a table after the crashes
# is applied by the worker.
$node->safe_psql('postgres', q{
CREATE TABLE w (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE w_old PARTITION OF w FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT count(*) FROM ai_scale.manage_partitions('w', '1 day', 2);
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'w'::regclass;});
ok($node->poll_query_until('postgres', q{SELECT to_regclass('w_old') IS NULL}),
    'the maintenance worker applies retention after the crashes');

$node->stop;
done_testing();
