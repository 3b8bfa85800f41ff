# predict_batch builds each answer (and each new output) in a context emptied after every
# element: jsonb_in and JsonbToCString leave their parser state and buffers behind, several kB
# a call, which stayed in the function's context until it returned. A 100,000-element batch
# raised the backend's peak memory (VmHWM) by about 850 MB (1.8 GB for 200,000 inputs stored
# in sync mode; a million would take about 9 GB); now by about 100 MB. The test allows 400 MB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('answer_memory', $port);
my $node = cache_node('answer_memory', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', memory_functions() . q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
});

my $inputs = q{(SELECT array_agg(jsonb_build_object('a', g, 'b', 1))
                FROM generate_series(1, 100000) g)};
# How much one predict_batch of the 100,000 inputs raises the peak memory of a new backend.
sub peak_growth {
    my ($what) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.store_mode = off;
SELECT ai_scale.predict_batch('m', ARRAY['{"a": 1, "b": 1}'::jsonb]) IS NOT NULL;
SELECT count(*) FROM unnest($inputs);
SELECT peak_kb() AS before \\gset
SELECT array_length(ai_scale.predict_batch('m', $inputs), 1);
SELECT peak_kb() - :before;
}, timeout => 300);
    is($ret, 0, "$what: no error") or diag($err);
    my ($kb) = $out =~ /(-?\d+)\s*\z/;
    note("$what: peak raised by $kb kB");
    return $kb;
}

# The first batch scores every input (output_of and answer per element) and caches the
# outputs in Redis; the second, in a new backend, answers them all from there.
cmp_ok(peak_growth('scored'), '<', 400000,
    'scoring 100,000 inputs raises the peak by less than 400 MB');
cmp_ok(peak_growth('cached'), '<', 400000, 'answering them from the cache too');

# Null elements: predict_batch kept 44 bytes of state for each (its input, key, output, source
# and first copy), and score_batch copied the elements' nulls and scores twice, 17 bytes each:
# an array of 4 million nulls (a 500 kB input) raised the peak by 244 MB and 103 MB, against
# the 37 MB that building and taking apart the array itself takes. Now they keep state for the
# non-null elements only, and build the result in the inputs' own arrays. So does
# cache_get_many, which kept 4 bytes an element and copied the elements and their nulls
# (13 more): 51 MB more than the array here.
my $nulls = q{(array_fill(NULL::jsonb, ARRAY[4000000]) || '{"a": 2, "b": 1}'::jsonb)};
sub null_growth {
    my ($what, $call) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.store_mode = off;
SELECT ai_scale.predict_batch('m', ARRAY['{"a": 1, "b": 1}'::jsonb, NULL]) IS NOT NULL;
SELECT ai_scale.score_batch('m', ARRAY['{"a": 1, "b": 1}'::jsonb, NULL]) IS NOT NULL;
SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"a": 1, "b": 1}'::jsonb, NULL]) IS NOT NULL;
SELECT peak_kb() AS before \\gset
SELECT array_length($call, 1);
SELECT peak_kb() - :before;
}, timeout => 300);
    is($ret, 0, "$what: no error") or diag($err);
    my ($length, $kb) = $out =~ /(\d+)\s+(-?\d+)\s*\z/;
    is($length, 4000001, "$what: one answer an element");
    note("$what: peak raised by $kb kB");
    return $kb;
}
my $bare = null_growth('the array alone', $nulls);
cmp_ok(null_growth('predict_batch', "ai_scale.predict_batch('m', $nulls)"), '<', $bare + 40000,
    'predict_batch of 4 million nulls takes less than 10 bytes an element more than the array');
cmp_ok(null_growth('score_batch', "ai_scale.score_batch('m', $nulls)"), '<', $bare + 40000,
    'score_batch too');
cmp_ok(null_growth('cache_get_many', "ai_scale.cache_get_many('m', 1, $nulls)"), '<',
    $bare + 40000, 'cache_get_many too');

$node->stop;
redis_stop('answer_memory');
done_testing();
