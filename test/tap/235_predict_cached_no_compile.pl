# predict() and predict_batch() answered from the cache compile no model.
#
# Their answers are cached under the model's version, and both compiled the model to learn that
# version, even when the answer then came from L1: past ai_scale.model_cache_size (a backend
# scoring two models larger than it in turn), every cached answer compiled a model again
# (400 cached predict() calls of two 200-tree gbdt models: 399 compilations, 11.6 s; 2.4 ms
# without them). They now read only the version's catalog row when no compiled model is at
# hand, and compile the model only for an input that no cache level has.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('predict_cached_no_compile');
$node->safe_psql('postgres', full_tree_function() . q{
SELECT ai_scale.register_model(n, 'gbdt', ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
    jsonb_build_object('objective', 'binary:logistic', 'base_score', 0.5,
                       'trees', (SELECT jsonb_agg(tree(6)) FROM generate_series(1, 20))))
FROM unnest(ARRAY['big1', 'big2']) n;});

my $session = $node->background_psql('postgres');
my $compiled = q{SELECT value FROM ai_scale.stats
                 WHERE section = 'scoring' AND metric = 'models_compiled'};
# With no room for a second compiled model, each switch between the two drops the other.
$session->query_safe(q{SET ai_scale.model_cache_size = 0});
is($session->query_safe(q{
SELECT ai_scale.predict('big1', '{"a": 1}')->>'source', ai_scale.predict('big2', '{"a": 1}')->>'source'}),
    'cpu|cpu', 'both models scored');
my $before = $session->query_safe($compiled);
is($before, 2, 'and compiled once each');

is($session->query_safe(q{
SELECT string_agg(DISTINCT ai_scale.predict('big' || (i % 2 + 1), '{"a": 1}')->>'source', ',')
FROM generate_series(1, 20) i}), 'l1', 'predict() in turn with the two models: every answer from L1');
is($session->query_safe(q{
SELECT string_agg(DISTINCT (ai_scale.predict_batch('big' || (i % 2 + 1), ARRAY['{"a": 1}'::jsonb]))[1]->>'source', ',')
FROM generate_series(1, 20) i}), 'l1', 'predict_batch() in turn: every answer from L1');
is($session->query_safe(q{
SELECT string_agg(DISTINCT ai_scale.predict('big' || (i % 2 + 1), '{"a": 1}', 1)->>'source', ',')
FROM generate_series(1, 20) i}), 'l1', 'the version named: every answer from L1');
is($session->query_safe($compiled), $before, 'and no model compiled for them');

# An input no level has is scored: the model is compiled then, once per switch.
is($session->query_safe(q{
SELECT ai_scale.predict('big1', '{"a": 2}')->>'source', ai_scale.predict('big2', '{"a": 2}')->>'source'}),
    'cpu|cpu', 'new inputs are scored');
is($session->query_safe($compiled), $before + 2, 'with the models compiled again');

# The version read alone is the catalog's: a new active version is answered as itself.
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('big1', 'linear', ARRAY['a'], '{"weights": [5]}')});
is($session->query_safe(q{SELECT ai_scale.predict('big1', '{"a": 1}')->>'version'}), 2,
    'a new version of a model whose version was read alone is predicted with');
$session->quit;
$node->stop;
done_testing();
