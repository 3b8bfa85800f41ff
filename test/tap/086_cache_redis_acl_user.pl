# A Redis 6+ ACL user: ai_scale.redis_user is sent with the password (AUTH user password), so a
# Redis whose default user is off, with a user limited to ai_scale's commands and keys, serves
# the cache. A user lacking a command ai_scale uses (NOPERM) fails like an unreachable Redis for
# that call: a miss and a counted error, 08006 with cache_strict, never a wrong value.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('acl', $port);
my $cli = "redis-cli -p $port";
# Users first (the default user still open), then the default user off.
for my $acl (
    q{ACL SETUSER cache on '>cachepw' '~ai_scale:*' -@all +get +mget +set +incrby +info},
    q{ACL SETUSER noincr on '>noincrpw' '~ai_scale:*' -@all +get +mget +set +info},
    q{ACL SETUSER default off})
{
    like(`$cli $acl`, qr/OK/, $acl);
}

my $node = cache_node('cache_acl', redis_primary => "127.0.0.1:$port", breaker_failures => 1000);

# redis_status() says the endpoint refuses this login, not that it is unreachable: without a
# password (NOAUTH), and below with the password for the default user, which is off (WRONGPASS).
my $status = q{SELECT reported_role || ': ' || last_error FROM ai_scale.redis_status()};
like($node->safe_psql('postgres', $status), qr/^refusing authentication: NOAUTH /,
    'no password: redis_status says the login is refused');

# Without a user name the password is sent alone, for the default user, which is off.
$node->append_conf('postgresql.conf', "ai_scale.redis_password = 'cachepw'\n");
$node->reload;
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('acl', 1, '{"a": 1}', '{"p": 1}');});
isnt($ret, 0, 'no user name: the put fails with cache_strict');
like($err, qr/ERROR:  redis is unavailable for the L2 cache/, '... as Redis unavailable');
like($err, qr/DETAIL:  Endpoint 127.0.0.1:$port: AUTH: (WRONGPASS|ERR AUTH)/, '... saying why');
like($err, qr/HINT:  Set ai_scale.redis_password, and ai_scale.redis_user for an ACL user, to a login this Redis accepts\./,
    '... and what to set, not cache_strict = off');
unlike($err, qr/cachepw/, '... without the password');
like($node->safe_psql('postgres', $status), qr/^refusing authentication: AUTH: (?:WRONGPASS|ERR AUTH) /,
    '... and redis_status says the login is refused');

# With the user name: puts, gets, batches, invalidations and the status probe work.
$node->append_conf('postgresql.conf', "ai_scale.redis_user = 'cache'\n");
$node->reload;
$node->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('acl', 1, '{"a": 1}', '{"p": 1}');
SELECT ai_scale.cache_put('acl', 1, '{"a": 2}', '{"p": 2}');
SELECT 'get', ai_scale.cache_get('acl', 1, '{"a": 1}');
SELECT 'many', ai_scale.cache_get_many('acl', 1, ARRAY['{"a": 1}', '{"a": 2}', '{"a": 3}']::jsonb[]);
SELECT ai_scale.cache_invalidate('acl', 1);
SELECT 'invalidated', ai_scale.cache_get('acl', 1, '{"a": 1}') IS NULL;
SELECT 'status', reported_role, breaker FROM ai_scale.redis_status();
SELECT 'errors', value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors';});
is($ret, 0, 'as ACL user "cache" with cache_strict: no error') or diag($err);
like($out, qr/^get\|\{"p": 1\}$/m, 'a hit');
like($out, qr/^many\|\{"\{\\"p\\": 1\}","\{\\"p\\": 2\}",NULL\}$/m, 'cache_get_many');
like($out, qr/^invalidated\|t$/m, 'an invalidation');
like($out, qr/^status\|primary\|closed$/m, 'redis_status asks INFO');
like($out, qr/^errors\|0$/m, 'no L2 error');

# A user without INCRBY: the invalidation reaches this server only; a miss is never a wrong value.
$node->append_conf('postgresql.conf',
    "ai_scale.redis_user = 'noincr'\nai_scale.redis_password = 'noincrpw'\n");
$node->reload;
$node->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_invalidate('acl', 2);});
isnt($ret, 0, 'a user without INCRBY: cache_invalidate fails with cache_strict');
like($err, qr/DETAIL:  Endpoint 127.0.0.1:$port \(user "noincr"\): NOPERM/, '... with the NOPERM reply');
like($err, qr/HINT:  Grant the Redis user the command INCRBY: ACL SETUSER noincr \+incrby\./,
    '... and the ACL SETUSER line that grants it');
($ret, $out, $err) = $node->psql('postgres', q{
SELECT ai_scale.cache_put('acl', 3, '{"a": 1}', '{"p": 3}');
SELECT ai_scale.cache_invalidate('acl', 3);
SELECT 'after', ai_scale.cache_get('acl', 3, '{"a": 1}') IS NULL;
SELECT 'errors', value::int > 0 FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors';});
is($ret, 0, 'without cache_strict: no error') or diag($err);
like($out, qr/^after\|t$/m, 'the invalidation holds on this server');
like($out, qr/^errors\|t$/m, 'the refused INCRBY is counted as an L2 error');

$node->stop;
redis_stop('acl');
done_testing();
