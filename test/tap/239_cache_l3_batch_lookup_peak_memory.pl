# The peak of a backend's private memory (VmHWM, in a session of its own) at a cache_get_many of
# a million inputs looked up in the store (L3), most of them missing there.
# The lookup passed all the inputs at once, as a jsonb[] and a bigint[] of their hashes, to one
# query, and planning its custom plan copied each array twice: the peak grew by 240 MB. The
# inputs now go 10,000 per execution of the query: 110 MB (the array itself is 32 MB).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# No Redis: what L1 misses goes straight to the store.
my $node = cache_node('l3_peak_memory');
$node->safe_psql('postgres', memory_functions() . q{
SELECT ai_scale.create_prediction_store();
CREATE TABLE batch AS
    SELECT array_agg(jsonb_build_object('a', g) ORDER BY g) AS inputs
      FROM generate_series(1, 1000000) g;
-- Found in the store: the first and last input, and those on either side of a piece's end.
INSERT INTO model_predictions (model_name, model_version, input_data, output_data, input_hash)
    SELECT 'm', 1, i, jsonb_build_object('found', g), ai_scale.input_hash(i)
      FROM unnest(ARRAY[1, 10000, 10001, 20000, 999999, 1000000]) g,
           LATERAL (SELECT jsonb_build_object('a', g) AS i) x;
});

my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT ai_scale.cache_get('m', 1, '{"x": 0}') IS NULL;
SELECT peak_kb() AS before \gset
CREATE TABLE answers AS
    SELECT n, o FROM unnest(ai_scale.cache_get_many('m', 1, (SELECT inputs FROM batch)))
                     WITH ORDINALITY AS t(o, n)
     WHERE o IS NOT NULL;
SELECT 'growth', peak_kb() - :before;
}, timeout => 300);
is($ret, 0, 'no error') or diag($err);
my ($kb) = $out =~ /^growth\|(-?\d+)$/m;
note("VmHWM grew $kb kB at a cache_get_many of a million inputs looked up in the store");
cmp_ok($kb, '<', 150 * 1024, 'the million inputs are not all passed to the store at once');
is($node->safe_psql('postgres', q{SELECT string_agg(n || ':' || o, ' ' ORDER BY n) FROM answers}),
    '1:{"found": 1} 10000:{"found": 10000} 10001:{"found": 10001} 20000:{"found": 20000} '
        . '999999:{"found": 999999} 1000000:{"found": 1000000}',
    'the inputs in the store, and only they, are answered, each by its own row');

$node->stop;
done_testing();
