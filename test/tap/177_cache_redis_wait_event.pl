# A backend waiting for Redis (here a Redis that hangs: stopped with SIGSTOP) shows in
# pg_stat_activity as waiting, wait_event_type and wait_event Extension, as a backend of
# postgres_fdw waiting for its remote server does. It showed no wait event, as if it ran on the
# CPU, for up to ai_scale.redis_timeout_ms per request.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('hangs', $port);
my $node = cache_node('redis_wait_event', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('we', 1, '{"a": 1}', '{"v": 1}')});

my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(q{SET application_name = 'waiter'; SET ai_scale.redis_timeout_ms = 60000});
my $pid = redis_pid('hangs');
kill 'STOP', $pid;
$s->query_until(qr/sent/, qq{\\echo sent\nSELECT ai_scale.cache_get('we', 1, '{"a": 1}');\n});
ok( $node->poll_query_until('postgres', q{SELECT wait_event_type || '/' || wait_event
FROM pg_stat_activity WHERE application_name = 'waiter' AND state = 'active'}, 'Extension/Extension'),
    'the backend waiting for Redis shows wait event Extension');
kill 'CONT', $pid;
like($s->query(q{SELECT 'done'}), qr/done/, 'the call ends once Redis answers');
$s->quit;

redis_stop('hangs');
$node->stop;
done_testing();
