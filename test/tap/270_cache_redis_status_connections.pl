# redis_status() connects to each endpoint it reports on. It did not close this backend's
# connections to the endpoints no longer configured, as an L2 request does (TAP 028): a session
# that only called redis_status() (a monitoring one, behind a pooler for days) kept a socket, and
# a client slot on that Redis, for every endpoint it had ever probed: a changed redis_primary,
# or each new address the sentinels named after a failover (50 endpoints: 50 sockets).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('status_conns', $port);
my $node = cache_node('cache_status_connections', redis_primary => "127.0.0.1:$port");

# Ten ways of writing 127.0.0.1: ten endpoints to ai_scale, one Redis.
my @hosts = ('127.0.0.1', 'localhost', '127.1', '2130706433', '0x7f000001', '0x7f.1', '127.0.1',
    '017700000001', '0177.0.0.1', '127.0.0.01');
my $endpoints = join(',', map { "'$_:$port'" } @hosts);

# One session: each endpoint in turn as the primary, probed by redis_status() alone; then the
# connections Redis has (but the one counting them).
my ($ret, $out, $err) = $node->psql('postgres', qq{
CREATE TEMP TABLE n (c int);
DO \$\$
DECLARE e text;
BEGIN
  FOREACH e IN ARRAY ARRAY[$endpoints] LOOP
    PERFORM set_config('ai_scale.redis_primary', e, false);
    IF (SELECT reported_role FROM ai_scale.redis_status()) <> 'primary' THEN
      RAISE 'endpoint % not probed', e;
    END IF;
  END LOOP;
END \$\$;
COPY n FROM PROGRAM 'redis-cli -p $port client list | grep -vc cmd=client || true';
SELECT 'connections', c FROM n;
}, timeout => 120);
is($ret, 0, 'ten endpoints probed in turn: no error') or diag($err);
like($out, qr/^connections\|1$/m,
    'the session keeps one connection, to the endpoint configured now') or diag($out);

$node->stop;
redis_stop('status_conns');
done_testing();
