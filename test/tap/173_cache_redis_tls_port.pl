# ai_scale talks to Redis without TLS. Pointed at a port that wants TLS (tls-port), it sends
# plain RESP, which Redis takes for a failed handshake ("wrong version number" in its log): it
# closes the connection without a reply. The cache misses (08006 with cache_strict) and says
# the connection was closed before its first reply and that ai_scale does not use TLS; before,
# only "connection closed by redis", as for a Redis that closed an idle connection.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

plan skip_all => 'openssl not found'
  unless system('sh', '-c', 'command -v openssl >/dev/null') == 0;
my $dir = PostgreSQL::Test::Utils::tempdir();
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/key.pem -out $dir/cert.pem "
      . "-days 1 -subj /CN=localhost 2>/dev/null") == 0
  or die 'openssl req failed';

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $tls_port = PostgreSQL::Test::Cluster::get_free_port();
# The plain port is for redis_start's own PONG check; the cache is pointed at the TLS one.
redis_start('tls', $port, '--tls-port', $tls_port, '--tls-cert-file', "$dir/cert.pem",
    '--tls-key-file', "$dir/key.pem", '--tls-ca-cert-file', "$dir/cert.pem",
    '--tls-auth-clients', 'no');
my $node = cache_node('cache_tls', redis_primary => "127.0.0.1:$tls_port",
    breaker_failures => 1000);

my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('tls', 1, '{"a": 1}');});
isnt($ret, 0, 'a strict get from a TLS port fails');
like($err,
    qr/DETAIL:  Endpoint 127\.0\.0\.1:$tls_port: connection closed by redis before its first reply \(ai_scale does not use TLS: is this a port that wants TLS\?\)/,
    '... saying the connection was closed before any reply, and that TLS is not used');

# With a password the first command is AUTH: the same, under its name.
$node->append_conf('postgresql.conf', "ai_scale.redis_password = 'tlspw'\n");
$node->reload;
($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'get', ai_scale.cache_get('tls', 1, '{"a": 1}') IS NULL;
SELECT 'status', reported_role, last_error FROM ai_scale.redis_status();});
is($ret, 0, 'without cache_strict: a miss') or diag($err);
like($out, qr/^get\|t$/m, '... the get misses');
like($out,
    qr/^status\|unreachable\|AUTH: connection closed by redis before its first reply \(ai_scale does not use TLS/m,
    'redis_status() shows the same');
unlike($out . $err, qr/tlspw/, 'the password is not shown');

$node->stop;
redis_stop('tls');
done_testing();
