# A Redis at its maxclients refuses new connections ("ERR max number of clients reached") and
# serves the ones it holds. A refused connection fails that call (a miss, an l2 / errors count,
# 08006 with cache_strict) but is no failure of the endpoint: counted as one, new backends
# refused a connection (with breaker_failures = 1, one cache_get) opened the breaker every
# backend shares, and a session holding a connection got misses for what Redis held. So did a
# refused pipeline (the fills of store rows a cache_get_many found), which Redis closes after
# refusing its first command: the rest had no reply ("connection closed by redis").
use strict;
use warnings;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('maxclients', $port);
my $node = cache_node('cache_maxclients', redis_primary => "127.0.0.1:$port",
    breaker_failures => 1, breaker_reset_ms => 60000);
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store();
INSERT INTO model_predictions (model_name, model_version, input_data, output_data, input_hash)
SELECT 'stored', 1, i, '{"p": 7}', ai_scale.input_hash(i)
FROM (VALUES ('{"s": 1}'::jsonb), ('{"s": 2}')) v(i);});

my $held = $node->background_psql('postgres', on_error_stop => 0);
$held->query_safe(q{SELECT ai_scale.cache_put('mc', 1, '{"a": 1}', '{"p": 1}')});
is($held->query_safe(q{SELECT ai_scale.cache_get('mc', 1, '{"a": 1}')}), '{"p": 1}',
    'a session holding a connection reads a hit');

# A connection of the test's own, opened now, lifts the limit at the end.
my $admin = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die "$!";
sub admin {
    my ($cmd) = @_;
    print $admin $cmd;
    my $line = <$admin>;
    return $line;
}
my ($clients) = admin("INFO clients\r\n") =~ /^\$(\d+)/;
my $info;
read($admin, $info, $clients + 2);
my ($connected) = $info =~ /connected_clients:(\d+)/;
# The held backend and this connection: no other is accepted from now on.
like(admin("CONFIG SET maxclients $connected\r\n"), qr/^\+OK/, "maxclients is $connected");
$node->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');

my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'new', ai_scale.cache_get('mc', 1, '{"a": 1}') IS NULL;});
is($ret, 0, 'a refused connection raises no error without cache_strict') or diag($err);
like($out, qr/^new\|t$/m, 'a new backend refused a connection misses');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('mc', 1, '{"a": 1}');});
isnt($ret, 0, 'with cache_strict a refused connection raises');
like($err, qr/ERROR:  redis is unavailable for the L2 cache\nDETAIL:  Endpoint 127.0.0.1:$port: ERR max number of clients reached/,
    '... 08006 saying maxclients was reached');

($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'stored', ai_scale.cache_get_many('stored', 1, ARRAY['{"s": 1}', '{"s": 2}']::jsonb[]);});
is($ret, 0, 'a refused pipeline of fills raises no error without cache_strict') or diag($err);
like($out, qr/^stored\|\{"\{\\"p\\": 7\}","\{\\"p\\": 7\}"\}$/m,
    'a new backend refused a connection answers from the store');

is($held->query_safe(q{SELECT ai_scale.cache_get('mc', 1, '{"a": 1}')}), '{"p": 1}',
    'the session holding a connection still reads its hit');
like($held->query_safe(q{SELECT breaker || '|' || failures || '|' || last_error
    FROM ai_scale.redis_status()}), qr/^closed\|0\|ERR max number of clients reached/,
    'the breaker stays closed, maxclients is the last error');
ok($held->query_safe(q{SELECT value FROM ai_scale.stats
    WHERE section = 'l2' AND metric = 'errors'}) > 0, 'refused connections count L2 errors');
is($node->safe_psql('postgres', q{SELECT reported_role || '|' || breaker
    FROM ai_scale.redis_status()}), 'refusing new connections|closed',
    'redis_status of a new backend says the endpoint refuses new connections, not that it is unreachable');
is($held->query_safe(q{SELECT reported_role FROM ai_scale.redis_status()}), 'primary',
    '... and that of the session holding a connection reads its role');

like(admin("CONFIG SET maxclients 10000\r\n"), qr/^\+OK/, 'maxclients lifted');
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('mc', 1, '{"a": 1}')}), '{"p": 1}',
    'a new backend reads the hit again');

$held->quit;
close($admin);
$node->stop;
redis_stop('maxclients');
done_testing();
