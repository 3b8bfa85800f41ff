# A server learns each generation slot from Redis at its first use (docs/cache.md, Invalidation);
# until then the slot is 0. A backend that used the slot while another backend's first read of it
# was still waiting for Redis made its key with generation 0: its cache_put was lost as soon as the
# slot took Redis's generation (the next cache_get missed), and it wrote Redis under generation
# 0, which every start of the server uses again. Seen through a connection pooler: after a
# start, many server connections use a model at once (test/tap/243_pooler_transaction_mode.pl
# lost the first values put). Now such a backend waits for that read.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('first_sync', $port);
# L1 off: the value is read back from Redis.
my $node = cache_node('first_sync', redis_primary => "127.0.0.1:$port", redis_timeout_ms => 60000);

# Session a's cache_get is the first use of model z: it claims the read of z's slots, which
# waits while Redis is stopped. Session b puts a value for z meanwhile.
my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');
$a->query_safe(q{SET application_name = 'a'});
$b->query_safe(q{SET application_name = 'b'});
my $redis = redis_pid('first_sync');
kill 'STOP', $redis;
$a->query_until(qr/sent/, qq{\\echo sent\nSELECT ai_scale.cache_get('z', 1, '{"k": 0}');\n});
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'a' AND wait_event_type = 'Extension'}),
    'the first use of the model waits for Redis');
$b->query_until(qr/sent/,
    qq{\\echo sent\nSELECT ai_scale.cache_put('z', 1, '{"k": 1}', '{"v": 1}');\n});
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'b' AND wait_event_type = 'Extension'}),
    'a put of the same model waits too');
kill 'CONT', $redis;
like($a->query_safe(q{SELECT 'a done'}), qr/a done/, 'the first call ends once Redis answers');
like($b->query_safe(q{SELECT 'b done'}), qr/b done/, 'and so does the put');
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('z', 1, '{"k": 1}')}),
    '{"v": 1}', 'the value put is read back');
$a->quit;
$b->quit;

redis_stop('first_sync');
$node->stop;
done_testing();
