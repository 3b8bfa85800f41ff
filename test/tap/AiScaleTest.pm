# What several TAP tests set up alike: a primary preloading ai_scale that uses the Redis primary
# and replica test/run.sh started, and a streaming hot standby of it.
package AiScaleTest;
use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(primary_and_standby);

# Started nodes "${prefix}_primary" and "${prefix}_standby"; skips the whole test file when
# test/run.sh started no Redis.
sub primary_and_standby {
    my ($prefix) = @_;
    my $redis_primary = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
      or plan skip_all => 'no Redis from test/run.sh';
    my $redis_replica = $ENV{AI_SCALE_TEST_REDIS_REPLICA} // '';

    my $primary = PostgreSQL::Test::Cluster->new("${prefix}_primary");
    $primary->init(allows_streaming => 1);
    $primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '$redis_primary'
ai_scale.redis_replicas = '$redis_replica'
});
    $primary->start;
    $primary->backup('base');

    my $standby = PostgreSQL::Test::Cluster->new("${prefix}_standby");
    $standby->init_from_backup($primary, 'base', has_streaming => 1);
    $standby->start;
    return ($primary, $standby);
}

1;
