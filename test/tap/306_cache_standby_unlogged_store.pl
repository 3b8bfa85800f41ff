# A standby may not read an unlogged table: with an unlogged store, or a store one of whose
# partitions is unlogged, every miss of predict() and of the cache functions on the standby
# failed with 0A000 ("cannot access temporary or unlogged relations during recovery"), where a
# store the standby cannot read is a miss. Now it is a miss there: the standby scores and
# answers, as with no store.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($primary, $standby) = primary_and_standby('unlogged');

$primary->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('lin', 'linear', ARRAY['a'], '{"weights": [2], "bias": 0}');
SELECT ai_scale.create_prediction_store();
CREATE UNLOGGED TABLE public.unlogged_store
    (LIKE public.model_predictions INCLUDING DEFAULTS INCLUDING INDEXES);
});
is( $primary->safe_psql('postgres', q{
SET ai_scale.store_table = 'public.unlogged_store';
SELECT ai_scale.predict('lin', '{"a": 1}') ->> 'source';
SELECT count(*) FROM public.unlogged_store;}),
    "cpu\n1", 'the primary stores in the unlogged store');
$primary->wait_for_catchup($standby);

# Each entry point on the standby, each input new to the cache.
sub on_standby {
    my ($store, $sql) = @_;
    my ($ret, $out, $err) = $standby->psql('postgres', qq{
SET ai_scale.store_table = '$store';
$sql});
    return $ret == 0 ? $out : "error: $err";
}

for my $store ('public.unlogged_store', 'public.model_predictions') {
    if ($store eq 'public.model_predictions') {
        # The partition of today's rows made unlogged on the primary.
        $primary->safe_psql('postgres', q{
SELECT ai_scale.predict('lin', '{"a": 100}');
SELECT format('ALTER TABLE %s SET UNLOGGED', tableoid::regclass)
  FROM public.model_predictions WHERE input_data = '{"a": 100}' \gexec});
        is( $primary->safe_psql('postgres', q{
SELECT c.relpersistence FROM public.model_predictions p JOIN pg_class c ON c.oid = p.tableoid
 WHERE p.input_data = '{"a": 100}'}),
            'u', 'today\'s partition of the store is unlogged');
        $primary->wait_for_catchup($standby);
    }
    my $base = $store eq 'public.unlogged_store' ? 10 : 20;
    is(on_standby($store, "SELECT ai_scale.predict('lin', '{\"a\": $base}')"),
        qq({"model": "lin", "score": @{[2 * $base]}, "source": "cpu", "version": 1}),
        "$store on the standby: predict() of a new input is scored");
    is(on_standby($store, "SELECT ai_scale.cache_get('lin', 1, '{\"a\": @{[$base + 1]}}') IS NULL"),
        't', "$store on the standby: cache_get of a new input is a miss");
    is( on_standby($store,
            "SELECT ai_scale.cache_get_many('lin', 1, ARRAY['{\"a\": @{[$base + 2]}}', '{\"a\": @{[$base + 3]}}']::jsonb[])"),
        '{NULL,NULL}', "$store on the standby: cache_get_many of new inputs, misses");
    is( on_standby($store, qq{
SELECT string_agg(p ->> 'score', ',') FROM unnest(ai_scale.predict_batch('lin',
    ARRAY['{"a": @{[$base + 4]}}', '{"a": @{[$base + 5]}}']::jsonb[])) p}),
        join(',', 2 * ($base + 4), 2 * ($base + 5)),
        "$store on the standby: predict_batch of new inputs is scored");
}

done_testing();
