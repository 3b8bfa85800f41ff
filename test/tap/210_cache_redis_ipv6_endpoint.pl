# An IPv6 Redis endpoint is written [address]:port. '[::1]:6379' was accepted at SET and never
# connected (hiredis looked up the host name "[::1]"), and a sentinel naming an IPv6 primary
# made the endpoint "::1:6379", which reads both as an address with a port and as one address.
# Now the bracket form connects over IPv6, and a sentinel's IPv6 address is shown and used in
# it. Skipped where the loopback has no IPv6 address.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
# '-::1': listened on where the loopback has it, no error where not.
redis_start('v6', $port, '--bind', '127.0.0.1 -::1');
if (`redis-cli -h ::1 -p $port ping 2>/dev/null` !~ /^PONG/) {
    redis_stop('v6');
    plan skip_all => 'no IPv6 loopback';
}

my $node = cache_node('cache_ipv6', redis_primary => "[::1]:$port", breaker_failures => 1000);
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('v6', 1, '{"a": 1}', '{"s": 6}');
SELECT 'get', ai_scale.cache_get('v6', 1, '{"a": 1}');
SELECT 'status', endpoint, reported_role, breaker FROM ai_scale.redis_status();});
is($ret, 0, 'a put and a get through [::1]:port succeed') or diag($err);
like($out, qr/^get\|\{"s": 6\}$/m, '... the value round-trips');
like($out, qr/^status\|\[::1\]:$port\|primary\|closed$/m, 'redis_status() names [::1]:port');
like(`redis-cli -h ::1 -p $port client list`, qr/addr=\[::1\]:/,
    'the backend reached Redis over IPv6');

# A sentinel monitoring the primary at ::1 names it "::1" and the port: the endpoint is
# [::1]:port, in redis_status() and for the put.
my $s_port = PostgreSQL::Test::Cluster::get_free_port();
my $dir = PostgreSQL::Test::Utils::tempdir();
PostgreSQL::Test::Utils::append_to_file("$dir/sentinel.conf", qq{port $s_port
bind 127.0.0.1
daemonize yes
dir $dir
pidfile $dir/sentinel.pid
logfile $dir/sentinel.log
sentinel monitor v6master ::1 $port 1
});
system('redis-server', "$dir/sentinel.conf", '--sentinel') == 0 or die 'sentinel failed';
for (1 .. 100) {
    last if `redis-cli -p $s_port sentinel get-master-addr-by-name v6master 2>/dev/null` =~ /::1/;
    select(undef, undef, undef, 0.05);
}
($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.cache_strict = on;
SET ai_scale.redis_sentinels = '127.0.0.1:$s_port';
SET ai_scale.redis_sentinel_master = 'v6master';
SELECT ai_scale.cache_put('v6', 1, '{"a": 2}', '{"s": 7}');
SELECT 'get', ai_scale.cache_get('v6', 1, '{"a": 2}');
SELECT 'status', endpoint, configured_as, reported_role FROM ai_scale.redis_status() ORDER BY 2;});
is($ret, 0, 'through a sentinel naming ::1 the put and get succeed') or diag($err);
like($out, qr/^get\|\{"s": 7\}$/m, '... the value round-trips');
like($out, qr/^status\|\[::1\]:$port\|primary \(named by sentinel\)\|primary$/m,
    'redis_status() names the primary [::1]:port');
like($out, qr/^status\|127\.0\.0\.1:$s_port\|sentinel\|sentinel \(primary at \[::1\]:$port\)$/m,
    '... and the sentinel says so');

kill 'TERM', PostgreSQL::Test::Utils::slurp_file("$dir/sentinel.pid") =~ s/\s+//gr;
$node->stop;
redis_stop('v6');
done_testing();
