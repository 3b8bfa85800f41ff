# A cluster restored to an earlier point in time (a base backup, WAL replayed to a restore point,
# then promoted) keeps the original's system identifier and database OIDs, which namespace the
# cache, while Redis keeps what the original wrote after that point. The restored server draws a
# cache lineage of its own at its start (src/cache/lineage_rules.hpp), so it reads none of that:
# not a put, not a fill from a store row it lacks, not what the original cached under a version
# number it gives again. Nor does the original read what the copy writes, run side by side
# against the same Redis; and the original, restarted, keeps its own keys.
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

my $orig = PostgreSQL::Test::Cluster->new('pitr_original');
$orig->init(has_archiving => 1, allows_streaming => 1);
$orig->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
});
$orig->start;
$orig->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
SELECT ai_scale.predict('m', '{"a": 1}');
});
$orig->backup('base');
$orig->safe_psql('postgres', q{SELECT pg_create_restore_point('target')});

# After the target: version 2, cached; a put; a store row written by other means, cached by a read.
$orig->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [3]}');
SELECT ai_scale.predict('m', '{"a": 1}');
SELECT ai_scale.cache_put('m', 1, '{"a": 5}', '{"put": "after the target"}');
INSERT INTO public.model_predictions
  (model_name, model_version, input_data, output_data, input_hash, created_at)
  VALUES ('m', 1, '{"a": 7}', '{"score": 99}', ai_scale.input_hash('{"a": 7}'), now());
SELECT ai_scale.cache_get('m', 1, '{"a": 7}');
});
is($orig->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 1}') ->> 'score'}), '3',
    'the original caches version 2 after the target');
my $segment = $orig->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
$orig->poll_query_until('postgres',
    "SELECT last_archived_wal >= '$segment' FROM pg_stat_archiver")
  or die 'the WAL was not archived';
$orig->stop;

my $restored = PostgreSQL::Test::Cluster->new('pitr_restored');
$restored->init_from_backup($orig, 'base', has_restoring => 1, standby => 0);
$restored->append_conf('postgresql.conf', q{
recovery_target_name = 'target'
recovery_target_action = 'promote'
});
$restored->start;
$restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the restored cluster was not promoted';
is($restored->safe_psql('postgres', 'SELECT max(model_version) FROM ai_scale.models'), '1',
    'the restored catalog ends at the target');

is($restored->safe_psql('postgres',
        q{SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [4]}')}),
    '2', 'the restored cluster gives version 2 again');
is($restored->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 1}')}),
    '{"model": "m", "score": 4, "source": "cpu", "version": 2}',
    'predict() scores it with the restored model, not the original version 2 in Redis');

ok(-f $restored->data_dir . '/ai_scale_cache_lineage', 'the restored server wrote its lineage');
ok($restored->log_contains('ai_scale: this server was restored from a backup: its cache keys in '
        . 'Redis are its own from now on'), '... and says so in the log');

my $after = q{SELECT ai_scale.cache_get('m', 1, '{"a": 5}') ->> 'put',
    ai_scale.cache_get('m', 1, '{"a": 7}') ->> 'score'};
is($restored->safe_psql('postgres', $after), '|',
    'neither a put nor a store row of the original from after the target answers there');
is($restored->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 1}', 1) ->> 'source'}),
    'l3', 'what the restored store holds answers');

# Side by side against the same Redis: the original, restarted, keeps its keys; neither reads
# what the other writes.
$orig->start;
is($orig->safe_psql('postgres', $after), 'after the target|99',
    'the original, restarted, still reads its own entries');
$restored->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('m', 1, '{"a": 9}', '{"put": "by the copy"}')});
$orig->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('m', 1, '{"a": 10}', '{"put": "by the original"}')});
is($orig->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"a": 9}')}), '',
    'the original does not read what the copy put');
is($restored->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"a": 10}')}), '',
    'nor the copy what the original put');
is($restored->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"a": 9}') ->> 'put'}),
    'by the copy', 'each reads its own');
$restored->restart;
is($restored->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"a": 9}') ->> 'put'}),
    'by the copy', 'the copy keeps its lineage across a restart');

$orig->stop;
$restored->stop;
done_testing();
