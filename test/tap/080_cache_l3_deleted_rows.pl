# A store row that a transaction deleted stays visible to snapshots taken before the delete
# committed (a REPEATABLE READ transaction, or any statement while the delete is in progress).
# The L3 lookup from such a snapshot answers the row, but must not copy it to L1 or Redis: the
# deleter's cache_invalidate has already made a new generation, and that fill, under the new
# generation, served the deleted output to every session for cache_ttl.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('l3_deleted');
$node->safe_psql('postgres', q{
    SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
    -- Rows written into the store by other means, with an output the model does not give.
    INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
    SELECT 'm', 1, jsonb_build_object('a', i), '{"score": -1}', ai_scale.input_hash(jsonb_build_object('a', i))
    FROM generate_series(1, 3) i;
});

sub get_in_new_session {
    my ($a) = @_;
    return $node->safe_psql('postgres',
        qq{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": $a}')::text, 'miss')});
}

# 1. A REPEATABLE READ snapshot taken before the DELETE and the invalidation.
my $rr = $node->background_psql('postgres');
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$rr->query_safe('SELECT count(*) FROM public.model_predictions');
$node->safe_psql('postgres', q{
    DELETE FROM public.model_predictions WHERE input_data = '{"a": 1}';
    SELECT ai_scale.cache_invalidate('m');
});
is($rr->query_safe(q{SELECT ai_scale.cache_get('m', 1, '{"a": 1}')}), '{"score": -1}',
    'the old snapshot still reads the deleted row from the store');
$rr->query_safe('COMMIT');
is(get_in_new_session(1), 'miss', 'the deleted row was not cached for other sessions');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"a": 1}') ->> 'score'}), '2',
    'predict() scores the input instead of answering the deleted output');

# 2. A delete in progress: the reader's statement still sees the row.
my $deleter = $node->background_psql('postgres');
$deleter->query_safe('BEGIN');
$deleter->query_safe(q{DELETE FROM public.model_predictions WHERE input_data = '{"a": 2}'});
$deleter->query_safe(q{SELECT ai_scale.cache_invalidate('m')});
is(get_in_new_session(2), '{"score": -1}', 'a reader still sees the row being deleted');
$deleter->query_safe('COMMIT');
is(get_in_new_session(2), 'miss', 'after the delete commits, the row is not served from a cache');

# 3. The same through cache_get_many's batch lookup.
my $rr2 = $node->background_psql('postgres');
$rr2->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$rr2->query_safe('SELECT count(*) FROM public.model_predictions');
$node->safe_psql('postgres', q{
    DELETE FROM public.model_predictions WHERE input_data = '{"a": 3}';
    SELECT ai_scale.cache_invalidate('m');
});
is($rr2->query_safe(
        q{SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"a": 3}']::jsonb[])::text}),
    '{"{\"score\": -1}"}', 'the batch lookup reads the deleted row from its snapshot');
$rr2->query_safe('COMMIT');
is(get_in_new_session(3), 'miss', 'and does not cache it either');

# A row no transaction touched is cached as before.
$node->safe_psql('postgres', q{
    INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
    VALUES ('m', 1, '{"a": 4}', '{"score": 8}', ai_scale.input_hash('{"a": 4}'));
    SELECT ai_scale.reset_stats();
});
get_in_new_session(4);
is(get_in_new_session(4), '{"score": 8}', 'an untouched row is answered');
is($node->safe_psql('postgres', q{SELECT value FROM ai_scale.stats WHERE section = 'l1' AND metric = 'hits'}),
    '1', 'and cached in L1 by the first lookup');

$rr->quit;
$rr2->quit;
$deleter->quit;
$node->stop;
done_testing();
