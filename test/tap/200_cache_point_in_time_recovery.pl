# A cluster restored to an earlier point in time (a base backup, WAL replayed to a restore point,
# then promoted) keeps the original's system identifier and database OIDs, which namespace the
# cache, while Redis keeps what the original wrote after that point. The restored cluster gives
# again the version numbers the original gave after the target: its registration makes what the
# original cached under such a number unreachable, as any registration does, so predict()
# answers with the restored model. Other entries written after the target (a cache_put, a fill
# from a store row the restored store lacks) still answer there, as docs/cache.md says, until
# every model name is invalidated, which is the remedy it gives.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
  or plan skip_all => 'no Redis from test/run.sh';

my $orig = PostgreSQL::Test::Cluster->new('pitr_original');
$orig->init(has_archiving => 1, allows_streaming => 1);
$orig->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '$redis'
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
$restored->init_from_backup($orig, 'base', has_restoring => 1);
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

my $after = q{SELECT ai_scale.cache_get('m', 1, '{"a": 5}') ->> 'put',
    ai_scale.cache_get('m', 1, '{"a": 7}') ->> 'score'};
is($restored->safe_psql('postgres', $after), 'after the target|99',
    'a put and a store row from after the target still answer there');
is($restored->safe_psql('postgres',
        q{SELECT count(*) FROM public.model_predictions WHERE input_data = '{"a": 7}'}),
    '0', 'though the restored store lacks the row');
$restored->safe_psql('postgres',
    'SELECT ai_scale.cache_invalidate(model_name) FROM ai_scale.model_last_versions');
is($restored->safe_psql('postgres', $after), '|',
    'until every model name is invalidated');
is($restored->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 1}', 1) ->> 'source'}),
    'l3', 'which leaves what the restored store holds answering');

$restored->stop;
done_testing();
