# A hot standby started without ai_scale in shared_preload_libraries, from a base backup that
# carries the file of unsent invalidations (docs/cache.md, Base backups). Its sessions mark the
# file's slots at their first cache call (TAP 324); but predict() on a standby first syncs the
# model's slots from Redis (the registration's bump, docs/predict.md), and did so before reading
# the file: the slot took Redis's counter, the one the invalidated outputs were cached under, and
# the first predict() of every session answered one of them from L2, without sending the bump.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('unsent_standby', $port);
my $primary = PostgreSQL::Test::Cluster->new('unsent_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.cache_use_l1 = off
ai_scale.redis_primary = '127.0.0.1:$port'
ai_scale.redis_timeout_ms = 300
});
$primary->start;
$primary->safe_psql('postgres', q{CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('sm', 'linear', ARRAY['x'], '{"weights": [2], "bias": 1}')});
my $predict = q{SET ai_scale.store_mode = off;
SELECT ai_scale.predict('sm', '{"x": 1}') ->> 'source'};

is($primary->safe_psql('postgres', $predict), 'cpu', 'the primary scores the input');
is($primary->safe_psql('postgres', $predict), 'l2', 'and answers it from Redis next');
system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '60000', 'WRITE') == 0
  or die 'CLIENT PAUSE failed';
$primary->psql('postgres', q{SELECT ai_scale.cache_invalidate('sm')});
ok(-s $primary->data_dir . '/ai_scale_cache_unsent_bumps',
    'the invalidation Redis did not take is in the file');
$primary->backup('base');
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';

my $standby = PostgreSQL::Test::Cluster->new('unsent_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$standby->start;
is($standby->safe_psql('postgres',
        q{SELECT pg_is_in_recovery() AND NOT (ai_scale.build_info() ->> 'preloaded')::boolean}),
    't', 'the standby runs without the preload');
is($standby->safe_psql('postgres', $predict), 'cpu',
    'a session whose first cache call is predict() misses the invalidated output');

$standby->stop;
$primary->stop;
done_testing();
