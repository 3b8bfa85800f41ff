# A backend asks a replica whether it is in sync at most once a second, and reads from it only
# when it is. A check cancelled while it waited for the replica's answer used to stand as a
# check made: for the next second the backend took the verdict from before it, for its first
# check "in sync" (never asked), and read a replica whose link to the primary was down, getting
# the value the primary had replaced. Now a cancelled check is no check, and the next read asks
# again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $p_port = PostgreSQL::Test::Cluster::get_free_port();
my $r_port = PostgreSQL::Test::Cluster::get_free_port();
my $gone_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('primary', $p_port);
redis_start('replica', $r_port, '--replicaof', '127.0.0.1', $p_port);
sub replica_info {
    return scalar `redis-cli -p $r_port info replication`;
}
for (1 .. 200) {
    last if replica_info() =~ /master_link_status:up/;
    usleep(50_000);
}

my $node = cache_node('replica_check_cancelled',
    redis_primary => "127.0.0.1:$p_port", redis_replicas => "127.0.0.1:$r_port",
    redis_read_from => 'replica');
my $get = q{SELECT ai_scale.cache_get('rc', 1, '{"a": 1}')};
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('rc', 1, '{"a": 1}', '{"v": "old"}')});
for (1 .. 200) {
    last if `redis-cli -p $r_port dbsize` > 0 && `redis-cli -p $r_port dbsize` eq `redis-cli -p $p_port dbsize`;
    usleep(50_000);
}
# The replica loses its primary (it follows a port where nothing listens) and keeps "old"; the
# primary gets "new".
system("redis-cli -p $r_port replicaof 127.0.0.1 $gone_port >/dev/null") == 0 or die;
for (1 .. 200) {
    last if replica_info() =~ /master_port:$gone_port\r?\n/;
    usleep(50_000);
}
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('rc', 1, '{"a": 1}', '{"v": "new"}')});
is($node->safe_psql('postgres', $get), '{"v": "new"}',
    'a replica whose link is down is not read: the primary answers');

# A session whose first check waits for the replica (stopped) and is cancelled; the replica
# runs again, its link still down, and the session reads again at once.
my $replica_pid = redis_pid('replica');
my $s = cache_get_cancelled_while_stopped($node, $replica_pid, 'checking', $get);
my $out = $s->query($get);
like($s->{stderr}, qr/canceling statement due to user request/, 'the check was cancelled');
is($out, '{"v": "new"}', 'the next read checks the replica again and takes the primary\'s value');
$s->quit;

redis_stop('replica');
redis_stop('primary');
$node->stop;
done_testing();
