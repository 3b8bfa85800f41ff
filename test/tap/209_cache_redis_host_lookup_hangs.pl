# A Redis endpoint given by host name is looked up (getaddrinfo) when a backend connects. That
# lookup takes as long as the resolver does (glibc: 5 s per try and name server, and hiredis
# asked for IPv4 then IPv6), and hiredis's connect timeout does not bound it: with DNS
# unreachable a query waited far past ai_scale.redis_timeout_ms, and neither statement_timeout
# nor pg_cancel_backend() ended it before the lookup did. The lookup now has
# redis_timeout_ms, and a cancel is taken while it waits. The server preloads
# test/tools/slow_resolver.cpp, whose lookups of *.slow.invalid never end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = slow_resolver_node('cache_host_lookup', redis_primary => 'redis.slow.invalid:6379');

# Without the bound these never returned: the harness's timeout is the hang guard, not a limit.
my $timed_out = 0;
my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'get', ai_scale.cache_get('m', 1, '{"a": 1}') IS NULL;
SELECT 'status', breaker, failures, last_error FROM ai_scale.redis_status();},
    timeout => $PostgreSQL::Test::Utils::timeout_default, timed_out => \$timed_out);
ok(!$timed_out, 'a get whose Redis host name does not resolve returns');
is($ret, 0, '... without an error') or diag($err);
like($out, qr/^get\|t$/m, '... as a miss');
like($out,
    qr/^status\|closed\|\d+\|timed out looking up "redis\.slow\.invalid" \(the lookup goes on/m,
    'redis_status() says the lookup timed out, counted as a failure');

($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('m', 1, '{"a": 1}');},
    timeout => $PostgreSQL::Test::Utils::timeout_default, timed_out => \$timed_out);
ok(!$timed_out && $ret != 0, 'with cache_strict the get fails');
like($err,
    qr/ERROR:  redis is unavailable for the L2 cache\nDETAIL:  Endpoint redis\.slow\.invalid:6379: timed out looking up "redis\.slow\.invalid"/,
    '... saying the lookup timed out');

# The longest redis_timeout_ms: statement_timeout ends the wait, as for any wait on Redis.
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.redis_timeout_ms = 60000;
SET statement_timeout = '200ms';
SELECT ai_scale.cache_get('m', 1, '{"a": 1}');},
    timeout => $PostgreSQL::Test::Utils::timeout_default, timed_out => \$timed_out);
ok(!$timed_out, 'statement_timeout ends a get waiting for the lookup');
like($err, qr/ERROR:  canceling statement due to statement timeout/,
    '... as a statement timeout');

# So does pg_cancel_backend(), once the backend waits (wait event Extension).
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(q{SET application_name = 'waiter'; SET ai_scale.redis_timeout_ms = 60000});
$s->query_until(qr/sent/, qq{\\echo sent\nSELECT ai_scale.cache_get('m', 1, '{"a": 1}');\n});
ok( $node->poll_query_until('postgres', q{SELECT wait_event_type || '/' || wait_event
FROM pg_stat_activity WHERE application_name = 'waiter' AND state = 'active'}, 'Extension/Extension'),
    'the get waits for the lookup, shown as wait event Extension');
$node->safe_psql('postgres',
    q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'waiter'});
like($s->query(q{SELECT 'still here'}), qr/still here/, 'pg_cancel_backend() ends the get');
like($s->{stderr}, qr/ERROR:  canceling statement due to user request/, '... as a cancel');
$s->quit;

# The same backend still uses Redis at a numeric address at once. (Its own timeout of 10 s: a
# Redis descheduled past the node's 100 ms on a loaded machine failed this strict put; held up
# by the lookup, which never ends, the put still fails.)
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('lookup', $redis_port);
($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.cache_strict = on;
SET ai_scale.redis_timeout_ms = 10000;
SET ai_scale.redis_primary = '127.0.0.1:$redis_port';
SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"s": 1}');
SELECT 'get', ai_scale.cache_get('m', 1, '{"a": 1}');});
is($ret, 0, 'a numeric address is not held up by the lookup going on') or diag($err);
like($out, qr/^get\|\{"s": 1\}$/m, '... the value round-trips');

$node->stop;
redis_stop('lookup');
done_testing();
