# `postgres -C` with a runtime-computed setting (shared_memory_size_in_huge_pages, which
# Postgres's documentation has one run to size huge pages before a start) loads
# shared_preload_libraries without starting a server. ai_scale drew its cache lineage there: run
# on a base backup before standby.signal was written, it wrote a lineage of its own to the data
# directory, and the standby then started with it, cut off from its primary's cache (it missed
# what the primary put, and kept answering what the primary invalidated). The lineage is now
# settled when the server starts (its shared memory is made), which `postgres -C` never does.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
  or plan skip_all => 'no Redis from test/run.sh';

my $primary = PostgreSQL::Test::Cluster->new('lineage_c_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->backup('base');

# The backup as pg_basebackup left it (backup_label, no signal file), its huge pages sized.
my $standby = PostgreSQL::Test::Cluster->new('lineage_c_standby');
$standby->init_from_backup($primary, 'base');
my $lineage_file = $standby->data_dir . '/ai_scale_cache_lineage';
my ($stdout, $stderr);
ok( run_log(
        [ 'postgres', '-D', $standby->data_dir, '-C', 'shared_memory_size_in_huge_pages' ],
        '>', \$stdout, '2>', \$stderr),
    'postgres -C shared_memory_size_in_huge_pages succeeds');
like($stdout, qr/^-?\d+$/, 'and prints the number');
ok(!-e $lineage_file, 'postgres -C writes no cache lineage');

# Then made a standby, as its operator meant.
$standby->enable_streaming($primary);
$standby->start;
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"from": "primary"}')});
is($standby->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"a": 1}')}),
    '{"from": "primary"}', 'the standby reads what its primary put');
ok(!-e $lineage_file, 'and keeps its primary\'s lineage');

$standby->stop;
$primary->stop;
done_testing();
