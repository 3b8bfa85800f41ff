# Sessions opened on a hot standby and kept across its promotion (the primary gone): a
# statement prepared (generic plan) as a standby stores once it runs on a primary; a
# transaction begun as a standby stays read-only to its end (predict() scores and caches in it,
# stores nothing, raises nothing) and the session's next transaction stores; nothing the
# standby scored is stored afterwards, and what it cached is served.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($old, $new) = primary_and_standby('open_sessions');
$old->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store(premake => 2);
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
});
$old->wait_for_catchup($new);

sub stored {
    my ($b) = @_;
    return $new->safe_psql('postgres',
        "SELECT count(*) FROM public.model_predictions WHERE (input_data ->> 'b')::int = $b");
}

my $prepared = $new->background_psql('postgres');
$prepared->query_safe(q{
SET ai_scale.store_mode = sync;
SET plan_cache_mode = force_generic_plan;
PREPARE p(jsonb) AS SELECT ai_scale.predict('m', $1) ->> 'source';
});
is($prepared->query_safe(q{EXECUTE p('{"a": 1, "b": 1}')}), 'cpu', 'the prepared predict scores on the standby');

my $open = $new->background_psql('postgres');
$open->query_safe('SET ai_scale.store_mode = async');
$open->query_safe('BEGIN');
is($open->query_safe(q{SELECT ai_scale.predict('m', '{"a": 1, "b": 2}') ->> 'source'}), 'cpu',
    'a transaction begun on the standby scores');

$old->stop('immediate');
$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not finish promotion';

is($prepared->query_safe(q{EXECUTE p('{"a": 2, "b": 1}')}), 'cpu', 'the prepared predict scores after promotion');
is(stored(1), '1', 'and stores, the input scored as a standby not among them');
is($prepared->query_safe(q{EXECUTE p('{"a": 1, "b": 1}')}), 'l1',
    'what the standby scored is served from L1');
is(stored(1), '1', 'and not stored');

is($open->query_safe(q{SELECT ai_scale.predict('m', '{"a": 2, "b": 2}') ->> 'source'}), 'cpu',
    'the transaction begun as a standby still scores');
is($open->query_safe(q{SELECT cardinality(ai_scale.predict_batch('m',
        ARRAY['{"a": 3, "b": 2}', '{"a": 4, "b": 2}']::jsonb[]))}), '2',
    'and predict_batch answers');
$open->query_safe(q{SET LOCAL ai_scale.store_mode = sync});
is($open->query_safe(q{SELECT ai_scale.predict('m', '{"a": 5, "b": 2}') ->> 'source'}), 'cpu',
    'in sync mode too');
$open->query_safe('COMMIT');
is($open->query_safe(q{SELECT ai_scale.predict('m', '{"a": 2, "b": 2}') ->> 'source'}), 'l1',
    'what it scored was cached');
$open->query_safe(q{SELECT ai_scale.predict('m', '{"a": 6, "b": 2}')});
ok($new->poll_query_until('postgres',
        q{SELECT count(*) = 1 FROM public.model_predictions WHERE (input_data ->> 'b')::int = 2}),
    'its next transaction stores, async');
$open->query_safe(q{SET ai_scale.store_mode = sync; SELECT ai_scale.predict('m', '{"a": 7, "b": 2}')});
is(stored(2), '2', 'and sync');
is($new->safe_psql('postgres', q{SELECT string_agg(input_data ->> 'a', ',' ORDER BY input_data ->> 'a')
        FROM public.model_predictions WHERE (input_data ->> 'b')::int = 2}), '6,7',
    'only the inputs scored after the read-only transaction');
$prepared->quit;
$open->quit;

my $log = slurp_file($new->logfile);
unlike($log, qr/ERROR|WARNING/, 'no error or warning in the promoted server\'s log');
$new->stop;
done_testing();
