# Each server brings its generation slots up to Redis's counters at most once a second per
# slot, so that an invalidation made on another server reaches its L1 within a second. A sync
# cancelled while it waited for Redis used to count as made: no backend of the server synced
# that slot for the next second, and L1 went on answering what the other server had
# invalidated (for as long as every second's sync was cancelled, with a Redis slower than the
# statement_timeout). Now a cancelled sync is none, and the next request syncs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('redis', $port);
my $node = cache_node('generation_sync_cancelled',
    redis_primary => "127.0.0.1:$port", cache_use_l1 => 'on');
my $get = q{SELECT ai_scale.cache_get('gs', 1, '{"k": 1}')};
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('gs', 1, '{"k": 1}', '{"v": 1}')});
is($node->safe_psql('postgres', $get), '{"v": 1}', 'cached');

# Another server invalidates the model: its counters in Redis go up (by hand here).
my @counters = split /\n/, `redis-cli -p $port --scan --pattern 'ai_scale:gen:*'`;
ok(@counters > 0, 'the generation counters are in Redis');
system("redis-cli -p $port incr $_ >/dev/null") == 0 or die for @counters;

# The first request after that waits to sync (Redis stopped) and is cancelled; Redis runs
# again, and the next request, at once, must not answer from L1 what was invalidated.
my $redis_pid = redis_pid('redis');
# Past the second since the last sync, so that the next request syncs.
usleep(1_100_000);
my $s = cache_get_cancelled_while_stopped($node, $redis_pid, 'syncing', $get);
my $out = $s->query("$get IS NULL");
like($s->{stderr}, qr/canceling statement due to user request/, 'the sync was cancelled');
is($out, 't', 'the next request syncs: the invalidated output is a miss');
$s->quit;

redis_stop('redis');
$node->stop;
done_testing();
