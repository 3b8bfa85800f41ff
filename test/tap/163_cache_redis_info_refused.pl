# Redis as managed services run it: INFO disabled or renamed with rename-command, or refused
# to an ACL user. Such a Redis answers "ERR unknown command" (or NOPERM) to the INFO that
# redis_status() and the replicas' sync check send, and serves GET and SET. The refusal fails
# that INFO only: counted as a failure of the endpoint, one redis_status() call (with
# breaker_failures = 1; a few, or a few backends' sync checks, with the default 5) opened the
# breaker of a primary that served every put and read, and the cache missed. redis_status()
# says the INFO was refused instead of calling the endpoint unreachable; a replica that does
# not answer INFO cannot be checked and is not read (the primary answers). A disabled SET fails
# the puts alone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $pport = PostgreSQL::Test::Cluster::get_free_port();
my $rport = PostgreSQL::Test::Cluster::get_free_port();
# The primary's INFO is disabled, the replica's renamed.
redis_start('noinfo_primary', $pport, '--rename-command', 'INFO', '');
redis_start('noinfo_replica', $rport, '--rename-command', 'INFO', 'hidden_info', '--replicaof',
    '127.0.0.1', $pport);
for (1 .. 100) {
    last if `redis-cli -p $rport hidden_info replication` =~ /master_link_status:up/;
    select(undef, undef, undef, 0.1);
}
like(`redis-cli -p $rport hidden_info replication`, qr/master_link_status:up/,
    'the replica is linked');

my $node = cache_node('cache_noinfo', redis_primary => "127.0.0.1:$pport",
    redis_replicas => "127.0.0.1:$rport", breaker_failures => 1, breaker_reset_ms => 60000);

my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('ni', 1, '{"a": 1}', '{"p": 1}');
SELECT 'status', configured_as, reported_role, breaker, last_error FROM ai_scale.redis_status();
SELECT 'status', configured_as, reported_role, breaker FROM ai_scale.redis_status();
SELECT ai_scale.cache_put('ni', 1, '{"a": 2}', '{"p": 2}');
SELECT 'get', ai_scale.cache_get('ni', 1, '{"a": 1}');
SELECT 'many', ai_scale.cache_get_many('ni', 1, ARRAY['{"a": 1}', '{"a": 2}']::jsonb[]);
SELECT ai_scale.cache_invalidate('ni', 1);
SELECT 'invalidated', ai_scale.cache_get('ni', 1, '{"a": 1}') IS NULL;});
is($ret, 0, 'with cache_strict, puts, reads and an invalidation succeed') or diag($err);
like($out,
    qr/^status\|primary\|unknown \(INFO refused\)\|closed\|ERR unknown command 'INFO'/m,
    'redis_status: the primary refused INFO, its breaker stays closed');
like($out,
    qr/^status\|replica\|unknown \(INFO refused\)\|closed\|ERR unknown command 'INFO'/m,
    '... and so did the replica');
unlike($out, qr/^status\|.*\|(unreachable|open)/m, 'neither is called unreachable, none opens');
like($out, qr/^get\|\{"p": 1\}$/m, 'a hit');
like($out, qr/^many\|\{"\{\\"p\\": 1\}","\{\\"p\\": 2\}"\}$/m, 'a batch hit');
like($out, qr/^invalidated\|t$/m, 'the invalidation holds');
# A replica whose sync cannot be checked is not read: the primary answered.
unlike(`redis-cli -p $rport hidden_info commandstats`, qr/cmdstat_(get|mget):/,
    'the replica was never read');

# A backend asks a server that refused INFO again a minute later, not every second: before,
# each backend sent the replica a refused INFO a second, each an l2 error. Three reads a
# second apart from one new session (L1 off, so each goes to L2) ask it once.
like(`redis-cli -p $rport CONFIG RESETSTAT`, qr/OK/, 'the replica\'s error counts reset');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_use_l1 = off;
SELECT 'read', ai_scale.cache_get('ni', 1, '{"a": 2}') IS NULL;
SELECT pg_sleep(1.1);
SELECT 'read', ai_scale.cache_get('ni', 1, '{"a": 2}') IS NULL;
SELECT pg_sleep(1.1);
SELECT 'read', ai_scale.cache_get('ni', 1, '{"a": 2}') IS NULL;});
is($ret, 0, 'three reads a second apart') or diag($err);
like(`redis-cli -p $rport hidden_info errorstats`, qr/^errorstat_ERR:count=1\r?$/m,
    'the replica was sent one refused INFO, not one a second');

# An ACL user without INFO gets NOPERM for it: the same, and redis_status() says so.
my $aport = PostgreSQL::Test::Cluster::get_free_port();
redis_start('noinfo_acl', $aport);
like(`redis-cli -p $aport ACL SETUSER noinfo on '>noinfopw' '~ai_scale:*' -\@all +get +mget +set +incrby`,
    qr/OK/, 'an ACL user without INFO');
$node->append_conf('postgresql.conf', qq{ai_scale.redis_primary = '127.0.0.1:$aport'
ai_scale.redis_replicas = ''
ai_scale.redis_user = 'noinfo'
ai_scale.redis_password = 'noinfopw'
});
$node->reload;
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT 'status', reported_role, breaker, last_error FROM ai_scale.redis_status();
SELECT 'get', ai_scale.cache_get('ni', 2, '{"a": 1}') IS NULL;});
is($ret, 0, 'the ACL user without INFO reads with cache_strict') or diag($err);
like($out, qr/^status\|unknown \(INFO refused\)\|closed\|NOPERM/m,
    'redis_status: INFO refused with NOPERM, the breaker closed');

# SET disabled: puts fail, and the breaker stays closed.
my $sport = PostgreSQL::Test::Cluster::get_free_port();
redis_start('noset', $sport, '--rename-command', 'SET', '');
$node->append_conf('postgresql.conf', qq{ai_scale.redis_primary = '127.0.0.1:$sport'
ai_scale.redis_user = ''
ai_scale.redis_password = ''
});
$node->reload;
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('ni', 3, '{"a": 1}', '{"p": 3}');});
isnt($ret, 0, 'SET disabled: a strict put fails');
like($err, qr/DETAIL:  Endpoint 127\.0\.0\.1:$sport: ERR unknown command 'SET'/,
    '... with the reply');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT 'get', ai_scale.cache_get('ni', 3, '{"a": 1}') IS NULL;
SELECT 'status', breaker, last_error FROM ai_scale.redis_status();});
is($ret, 0, '... and a strict get after it misses without an error') or diag($err);
like($out, qr/^status\|closed\|ERR unknown command 'SET'/m, 'the breaker stays closed');

$node->stop;
redis_stop('noset');
redis_stop('noinfo_acl');
redis_stop('noinfo_replica');
redis_stop('noinfo_primary');
done_testing();
