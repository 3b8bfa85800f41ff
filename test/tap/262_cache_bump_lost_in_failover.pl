# Two servers sharing generation counters (a primary and its hot standby) each invalidate a
# model, and a Redis failover lost the first one's bump in between: Redis acknowledges an INCRBY
# before its replicas have it, so the new primary holds the counter as it was before. A bump by
# 1 then took the second server to the number the first had reached, and the second one's
# invalidation missed what the first had put under that number since its own bump: both served
# it. A bump is now a random step (generation_slots.hpp, bump_step). The failover is played here
# by setting the counters back to what they held before the first bump.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('bump_lost', $port);

my ($primary, $standby) = primary_and_standby('bump_lost', qq{
ai_scale.redis_primary = '127.0.0.1:$port'
ai_scale.cache_use_l1 = off
});
$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->wait_for_catchup($standby);

my $get = q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}')::text, 'miss')};
sub counters {
    return map { chomp; $_ } `redis-cli -p $port --scan --pattern 'ai_scale:gen:*'`;
}

# Both servers learn the model's counters.
is($standby->safe_psql('postgres', $get), 'miss', 'the standby misses at first');
is($primary->safe_psql('postgres', $get), 'miss', 'so does the primary');
my %before = map { my $v = `redis-cli -p $port GET $_`; chomp $v; ($_ => $v) } counters();
ok(keys %before >= 2, 'the model\'s counters are in Redis');

# The primary invalidates the version and puts a value under its new generation; then the
# failover loses that bump.
$primary->safe_psql('postgres', q{
SELECT ai_scale.cache_invalidate('m', 1);
SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "before the standby invalidated"}');});
is($primary->safe_psql('postgres', $get), '{"v": "before the standby invalidated"}',
    'the primary reads its value back');
for my $counter (keys %before) {
    system('redis-cli', '-p', $port, 'SET', $counter, $before{$counter}) == 0
      or die 'SET failed';
}

# The standby invalidates the version on the new primary: what was put before is gone for it.
$standby->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m', 1)});
is($standby->safe_psql('postgres', $get), 'miss',
    'after its invalidation, the standby does not serve the value put before it');

# And for the primary once it has rechecked its bump against Redis (a second later).
usleep(1_100_000);
is($primary->safe_psql('postgres', $get), 'miss',
    'nor does the primary once it has synced the slot');
is($primary->safe_psql('postgres',
    q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'}), '0',
    'no L2 error');

$standby->stop;
$primary->stop;
redis_stop('bump_lost');
done_testing();
