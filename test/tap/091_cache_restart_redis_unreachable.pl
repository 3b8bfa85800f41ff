# A server restarted (here after an immediate shutdown, as after a crash) starts its generation
# slots at 0 and takes Redis's counters at its first sync. An invalidation made before that sync,
# while Redis was unreachable, raised the slot from 0 only: when Redis answered again, the sync
# raised the slot to Redis's counter, the one the value cached before the invalidation was put
# under, and served that value again as a hit. Bumps made without Redis since the restart are
# now added to Redis's counter at the sync.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dead = PostgreSQL::Test::Cluster::get_free_port();
redis_start('restart_unreachable', $port);
my $node = cache_node('cache_restart_unreachable', redis_primary => "127.0.0.1:$port");

for my $version ('', ', 1') {
    my $input = $version ? '{"a": 2}' : '{"a": 1}';
    $node->safe_psql('postgres', qq{SELECT ai_scale.cache_put('m', 1, '$input', '{"v": "old"}')});
    is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('m', 1, '$input')}),
        '{"v": "old"}', "a hit from Redis$version");
    $node->stop('immediate');
    $node->start;
    # Redis unreachable for this session only (another endpoint): the slot is bumped locally.
    $node->safe_psql('postgres', qq{SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('m'$version);});
    is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('m', 1, '$input') IS NULL}), 't',
        "the value invalidated while Redis was unreachable stays a miss once it answers$version");
    $node->restart;
    is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('m', 1, '$input') IS NULL}), 't',
        "and after another restart$version");
}

$node->stop;
redis_stop('restart_unreachable');
done_testing();
