# A backend closes its connections to Redis once L2 is turned off (redis_primary emptied by SET,
# or by a reload retiring Redis). Connections to endpoints no longer configured were closed only
# at the next L2 request (TAP 028), and with L2 off none comes: a pooled backend kept its
# connection, a client slot on that Redis (or, once Redis was stopped, a descriptor on a closed
# socket), until it exited.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('off_conns', $port);
my $node = cache_node('cache_off_connections', redis_primary => "127.0.0.1:$port");

# Connections to Redis but the one counting them.
sub count_clients {
    my ($label) = @_;
    return qq{TRUNCATE n;
COPY n FROM PROGRAM 'redis-cli -p $port client list | grep -vc cmd=client || true';
SELECT '$label', c FROM n;};
}

# One session throughout: its pool is the one looked at.
my ($ret, $out, $err) = $node->psql('postgres', qq{
CREATE TEMP TABLE n (c int);
SELECT ai_scale.cache_put('o', 1, '{"a": 1}', '{"p": 1}');
${\ count_clients('while on')}
SET ai_scale.redis_primary = '';
SELECT 'get', ai_scale.cache_get('o', 1, '{"a": 1}') IS NULL;
${\ count_clients('after off')}
RESET ai_scale.redis_primary;
SELECT 'get again', ai_scale.cache_get('o', 1, '{"a": 1}');
${\ count_clients('on again')}
}, timeout => 120);
is($ret, 0, 'no error') or diag($err);
like($out, qr/^while on\|1$/m, 'one connection while L2 is on') or diag($out);
like($out, qr/^get\|t$/m, 'with L2 off, a miss');
like($out, qr/^after off\|0$/m, 'the connection is closed once L2 is off') or diag($out);
like($out, qr/^get again\|\{"p": 1\}$/m, 'turned on again, Redis is read');
like($out, qr/^on again\|1$/m, '... on a new connection') or diag($out);

$node->stop;
redis_stop('off_conns');
done_testing();
