# Two sessions predicting the same new input at once in store_mode = sync: neither waits for the
# other, both score it, and both rows are stored (docs/predict.md, "Concurrent misses"). What
# must hold: every row of an input holds the same output, every answer is that output, a
# rolled-back copy leaves the committed one, and the cache then answers with it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('predict_concurrent');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');});

my $rows = sub {
    my ($input) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) || ' ' || string_agg(DISTINCT output_data::text, ',') "
          . "FROM public.model_predictions WHERE input_data = '$input'");
};

# Session 1 stores {"a": 1} in an open transaction; session 2, which cannot see that row, scores
# and stores it too, without waiting.
my $s1 = $node->background_psql('postgres');
my $s2 = $node->background_psql('postgres');
is($s1->query_safe(q{BEGIN; SELECT ai_scale.predict('m', '{"a": 1}') ->> 'source';}),
    'cpu', 'session 1 scores the input in its transaction');
is($s2->query_safe(q{SELECT ai_scale.predict('m', '{"a": 1}') ->> 'source';}),
    'cpu', 'session 2 scores it too, not waiting for session 1');
is($s1->query_safe(q{SELECT ai_scale.predict('m', '{"a": 1}') ->> 'source';}),
    'l3', 'session 1 answers it again from its own row');
$s1->query_safe('COMMIT');
is($rows->('{"a": 1}'), '2 {"score": 3}', 'both rows are stored, with one output');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 1}') ->> 'source'}),
    'l1', 'the next call is a cache hit');

# The first transaction rolls back: the second's row stays, and the cache holds it.
$s1->query_safe(q{BEGIN; SELECT ai_scale.predict('m', '{"a": 2}');});
$s2->query_safe(q{SELECT ai_scale.predict('m', '{"a": 2}');});
$s1->query_safe('ROLLBACK');
is($rows->('{"a": 2}'), '1 {"score": 5}', 'the committed row stays');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 2}')}),
    '{"model": "m", "score": 5, "source": "l1", "version": 1}', 'and is what the cache answers');

# The second commits first and the first rolls back: the same.
$s1->query_safe(q{BEGIN; SELECT ai_scale.predict('m', '{"a": 3}');});
$s2->query_safe(q{BEGIN; SELECT ai_scale.predict('m', '{"a": 3}'); COMMIT;});
$s1->query_safe('ROLLBACK');
is($rows->('{"a": 3}'), '1 {"score": 7}', 'the row committed first stays');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m')});
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 3}') ->> 'source'}),
    'l3', 'the store answers once the cache is invalidated');
$s1->quit;
$s2->quit;

# Volume: eight sessions predicting 20 inputs, each call in a transaction of its own, some
# rolled back, while others invalidate the cache. No error; every answer is the model's
# score; every stored row of an input holds that score; every input is stored.
$node->safe_psql('postgres', q{
CREATE TABLE answers (a int, score float8);
CREATE FUNCTION ask(k int, keep boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO answers SELECT k, (ai_scale.predict('m', jsonb_build_object('a', k)) ->> 'score')::float8;
    IF NOT keep THEN
        RAISE EXCEPTION 'rolled back' USING ERRCODE = 'P0099';
    END IF;
EXCEPTION WHEN SQLSTATE 'P0099' THEN
    NULL;
END $$;});
$node->pgbench(
    '--no-vacuum --client=8 --transactions=300',
    0, [qr/processed: 2400\/2400/], [qr/^$/],
    'concurrent predict() of the same inputs: no error',
    {
        'ask@80' => q{\set k random(100, 119)
SELECT ask(:k, true);},
        'ask_rolled_back@15' => q{\set k random(100, 119)
SELECT ask(:k, false);},
        'invalidate@5' => q{SELECT ai_scale.cache_invalidate('m');},
    });
is( $node->safe_psql(
        'postgres', q{
SELECT count(*) FROM answers WHERE score <> 2 * a + 1}), '0', 'every answer is the score');
is( $node->safe_psql(
        'postgres', q{
SELECT count(*) FROM public.model_predictions
WHERE (input_data ->> 'a')::int >= 100
  AND output_data <> jsonb_build_object('score', 2 * (input_data ->> 'a')::int + 1)}),
    '0', 'every stored row holds the score');
is( $node->safe_psql(
        'postgres', q{
SELECT count(DISTINCT input_data) FROM public.model_predictions
WHERE (input_data ->> 'a')::int BETWEEN 100 AND 119}), '20', 'every input is stored');
note('rows stored for 20 inputs: '
      . $node->safe_psql('postgres',
        q{SELECT count(*) FROM public.model_predictions WHERE (input_data ->> 'a')::int >= 100}));

$node->stop;
done_testing();
