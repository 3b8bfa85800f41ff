# A base backup started as it is (backup_label, neither recovery.signal nor standby.signal) is a
# clone of the original: same system identifier, same database OIDs. It takes a cache lineage of
# its own at its start (docs/cache.md, "cache lineage"), so neither server reads what the other
# puts in Redis. No test started such a clone: TAP 200 restores with recovery.signal, and TAP 193
# and 234 make the backup a standby, so a lineage drawn for recovery.signal alone passed them.
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

my $orig = PostgreSQL::Test::Cluster->new('clone_original');
$orig->init(allows_streaming => 1);
# A Redis descheduled past the default redis_timeout_ms (100 ms) on a loaded machine timed out a
# call this test expects answered (as cache_node and primary_and_standby, 10 s; the clone takes
# the setting with the backup).
$orig->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
});
$orig->start;
$orig->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$orig->backup('base');

my $clone = PostgreSQL::Test::Cluster->new('clone_copy');
$clone->init_from_backup($orig, 'base');
ok(-e $clone->data_dir . '/backup_label', 'the copy starts from backup_label');
ok(!-e $clone->data_dir . "/$_", "without $_") for qw(recovery.signal standby.signal);
$clone->start;
is($clone->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
    $orig->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
    'the clone has the original\'s system identifier');
ok(-s $clone->data_dir . '/ai_scale_cache_lineage', 'the clone wrote a lineage of its own');
ok(!-e $orig->data_dir . '/ai_scale_cache_lineage', 'the original has none');
like(slurp_file($clone->logfile), qr/this server was restored from a backup/,
    'the clone logged it');

my $get = q{SELECT ai_scale.cache_get('m', 1, '{"a": 1}')};
$orig->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"from": "original"}')});
is($clone->safe_psql('postgres', $get), '', 'the clone does not read what the original put');
$clone->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"from": "clone"}')});
# From Redis (each server's L1 holds its own put).
is($orig->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get"), '{"from": "original"}',
    'nor the original what the clone put');
is($clone->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get"), '{"from": "clone"}',
    'the clone reads its own');

# Restarted, the clone (backup_label gone once recovery ended) keeps its lineage and its keys.
$clone->restart;
is($clone->safe_psql('postgres', $get), '{"from": "clone"}', 'the clone keeps its keys after a restart');

$clone->stop;
$orig->stop;
done_testing();
