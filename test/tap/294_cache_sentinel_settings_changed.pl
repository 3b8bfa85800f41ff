# What a session's sentinels told it is kept for a second, but not past a change of what it
# asks them: with another ai_scale.redis_sentinel_master the session asks at its next call, and
# reads and writes the new master's primary (it read the old one's for up to a second). And the
# sentinel that answered is asked first at the next refresh: the first listed, a Redis that is
# no sentinel, was asked again at each refresh, a round trip each time (a timeout, had it been
# down, until its breaker opened). The test's own sentinel (fake_sentinel.py) names a primary
# for each master.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

plan skip_all => 'python3 not found'
  unless system('sh', '-c', 'command -v python3 >/dev/null') == 0;

# Two independent primaries (no replication between them), and a plain Redis listed as the
# first sentinel, which refuses SENTINEL.
my ($a_port, $b_port, $plain_port) = map { PostgreSQL::Test::Cluster::get_free_port() } 1 .. 3;
redis_start('master_a', $a_port);
redis_start('master_b', $b_port);
redis_start('not_a_sentinel', $plain_port);

my $names = PostgreSQL::Test::Utils::tempdir() . '/names';
for ([ '', $a_port ], [ '.ma', $a_port ], [ '.mb', $b_port ]) {
    my ($suffix, $port) = @$_;
    open(my $fh, '>', "$names$suffix") or die "$names$suffix: $!";
    print $fh "127.0.0.1:$port\n";
    close $fh;
}
my $s_port = fake_sentinel_start($names);

my $node = cache_node('sentinel_settings',
    redis_sentinels => "127.0.0.1:$plain_port, 127.0.0.1:$s_port",
    redis_sentinel_master => 'ma');

# The SENTINEL commands the plain Redis has refused so far.
sub refused {
    return `redis-cli -p $plain_port info errorstats` =~ /errorstat_ERR:count=(\d+)/ ? $1 : 0;
}

# One session, each step right after the other: what master a's primary holds, then master b's.
my $get = q{SELECT coalesce(ai_scale.cache_get('s', 1, '{"x": 1}')::text, 'miss');};
is($node->safe_psql('postgres', qq{
SELECT ai_scale.cache_put('s', 1, '{"x": 1}', '"put under ma"');
$get
SET ai_scale.redis_sentinel_master = 'mb';
$get
SELECT endpoint FROM ai_scale.redis_status() WHERE configured_as = 'primary (named by sentinel)';
SELECT ai_scale.cache_put('s', 1, '{"x": 1}', '"put under mb"');
$get
SET ai_scale.redis_sentinel_master = 'ma';
$get}),
    qq{\n"put under ma"\nmiss\n127.0.0.1:$b_port\n\n"put under mb"\n"put under ma"},
    'a session that changes its master reads and writes that master\'s primary at once');

# A new session asks the plain Redis once, then the sentinel that answered first, at each of
# its refreshes (a second apart).
my $before = refused();
$node->safe_psql('postgres', join("\n", ($get, 'SELECT pg_sleep(1.1);') x 4, $get));
# Its two commands, pipelined: get-master-addr-by-name and replicas.
is(refused() - $before, 2,
    'five refreshes in one session ask the Redis that is no sentinel once');

$node->stop;
redis_stop($_) for qw(master_a master_b not_a_sentinel);
done_testing();
