# A call with ai_scale.cache_strict = on promises 08006 when it cannot use Redis, rather than an
# answer without it (docs/cache.md). A generation slot this server has not learned keys nothing
# in Redis (unlearned_keys.hpp); while another backend read such a slot's counter again (after a
# first read that got no answer), a strict call neither read it nor waited: it made its key with
# the slot not learned and answered without Redis, quietly, with Redis stopped. Now a strict call
# reads the counter itself, and fails as any strict call does while Redis does not answer.
#
# A Redis ACL user that cannot read the counters (ai_scale:gen:...) makes the first read get no
# answer, as in 246_cache_unlearned_generation.pl.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('strict_elsewhere', $port);
my $cli = "redis-cli -p $port";
like(`$cli ACL SETUSER nogen on nopass '~ai_scale:[0-9a-f]*' +\@all`, qr/OK/,
    'a Redis user that cannot read the generation counters');
# L1 off: every read reaches Redis.
my $node = cache_node('strict_elsewhere', redis_primary => "127.0.0.1:$port");

# A value in Redis under m's generations, then a start that has not learned them.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"k": 1}', '{"v": 1}')});
$node->restart;
# The first read of m's counters after the start gets no answer.
is( $node->safe_psql('postgres',
        q{SET ai_scale.redis_user = 'nogen'; SELECT ai_scale.cache_get('m', 1, '{"k": 1}') IS NULL}),
    't', 'a session that cannot read the counters does not use Redis for m');

# Session a reads m's counters again, and waits while Redis is stopped.
my $redis = redis_pid('strict_elsewhere');
my $a = $node->background_psql('postgres');
$a->query_safe(q{SET application_name = 'a'; SET ai_scale.redis_timeout_ms = 60000});
kill 'STOP', $redis;
$a->query_until(qr/sent/, qq{\\echo sent\nSELECT ai_scale.cache_get('m', 1, '{"k": 1}');\n});

# Session b, strict, calls while a's read waits: in the same statement as it sees a wait, well
# within the second a's claim of the read lasts. Its own read of the counter is to time out, at
# once (cache_node's 10 s would only make the test longer).
my ($ret, $out, $err) = $node->psql(
    'postgres', q{
SET ai_scale.cache_strict = on;
SET ai_scale.redis_timeout_ms = 100;
DO $$
BEGIN
    WHILE NOT EXISTS (SELECT FROM pg_stat_activity
                      WHERE application_name = 'a' AND wait_event_type = 'Extension') LOOP
        PERFORM pg_sleep(0.01);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
    RAISE NOTICE 'answered %', ai_scale.cache_get('m', 1, '{"k": 1}');
END $$;},
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'a strict call while another backend reads the counter fails with Redis stopped');
unlike($err, qr/answered/, '... rather than answering without Redis');
like($err, qr/ERROR:  08006: redis is unavailable for the L2 cache/, '... with 08006');

kill 'CONT', $redis;
like($a->query_safe(q{SELECT 'a done'}), qr/\{"v": 1\}/,
    'the other read ends once Redis answers, with the value from Redis');
$a->quit;
like(
    $node->safe_psql(
        'postgres', q{SET ai_scale.cache_strict = on; SELECT ai_scale.cache_get('m', 1, '{"k": 1}')}),
    qr/\{"v": 1\}/,
    'a strict call reads it from Redis then');

$node->stop;
redis_stop('strict_elsewhere');
done_testing();
