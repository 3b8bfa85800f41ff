# A Redis 6+ ACL user: ai_scale.redis_user is sent with the password (AUTH user password), so a
# Redis whose default user is off, with a user limited to ai_scale's commands and keys, serves
# the cache. A user lacking a command ai_scale uses (NOPERM) fails like an unreachable Redis for
# that call: a miss and a counted error, 08006 with cache_strict, never a wrong value; the
# hint's ACL SETUSER lines, as redis-cli reads them, cure it.
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
    q{ACL SETUSER "app's" on '>e' '~*' +@all -get -select},
    q{ACL SETUSER admin on '>adminpw' '~*' +@all},
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

# The hint's ACL SETUSER lines, fed to redis-cli as a line (its own parsing of quotes), cure the
# refusal. A user named with a quote, with every key (~*), whose password ("e") is in the reply,
# which is then withheld: the command is unnamed, and the hint gives the commands and the keys
# in two lines (Redis refuses the whole of one that adds ~ai_scale:* to a user with ~*).
my $hint_fixes = sub {
    my ($err, $what) = @_;
    my ($hint) = $err =~ /^HINT:  (.*)$/m;
    my @lines = ($hint // '') =~ /(ACL SETUSER .+?)(?=[;.]( |$))/g;
    @lines = grep { /^ACL/ } @lines;
    ok(@lines >= 1, "$what: the hint gives an ACL SETUSER line") or diag($err);
    my $file = PostgreSQL::Test::Utils::tempdir() . '/acl.txt';
    PostgreSQL::Test::Utils::append_to_file($file, "$lines[0]\n");
    like(`$cli --user admin --pass adminpw --no-auth-warning < $file`, qr/^OK$/m,
        "$what: redis-cli takes its first line: $lines[0]");
    return @lines;
};
$node->append_conf('postgresql.conf',
    "ai_scale.redis_user = 'app''s'\nai_scale.redis_password = 'e'\nai_scale.redis_db = 1\n");
$node->reload;
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('acl', 1, '{"a": 1}');});
isnt($ret, 0, 'SELECT refused, its reply withheld: cache_get fails with cache_strict');
like($err, qr/DETAIL:  .*SELECT: NOPERM \(the rest of the reply is withheld/, '... the reply withheld');
like($err, qr/HINT:  Grant the Redis user the command SELECT: ACL SETUSER "app's" \+select\./,
    '... the hint names SELECT and quotes the user');
$hint_fixes->($err, 'SELECT');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('acl', 1, '{"a": 1}');});
isnt($ret, 0, 'GET refused, its reply withheld: cache_get fails with cache_strict');
my @lines = $hint_fixes->($err, 'GET');
is(scalar @lines, 2, '... the commands and the keys in two lines') or diag($err);
like($lines[0], qr/^ACL SETUSER "app's" \+get \+mget \+set \+incrby \+info$/, '... the commands first');
like($lines[1] // '', qr/^ACL SETUSER "app's" ~ai_scale:\*$/, '... then the keys');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT 'cured', ai_scale.cache_get('acl', 1, '{"a": 1}') IS NULL;});
is($ret, 0, 'granted as the hints said: cache_get answers with cache_strict') or diag($err);
like($out, qr/^cured\|t$/m, '... a miss in database 1');

$node->stop;
redis_stop('acl');
done_testing();
