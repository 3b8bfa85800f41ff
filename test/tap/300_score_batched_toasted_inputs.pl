# score_batched extracts a whole batch of rows in one call. Each input it reads is a detoasted
# copy when the input is toasted (an object with a large payload beside its features, stored
# compressed or out of line), or an expression's result: both were made in the window
# function's per-row memory, which is emptied only after the call, so every input of the batch
# stayed in memory until its last row was extracted. At the default ai_scale.score_batch_rows,
# 2000 inputs of 32 kB raised the backend's peak memory (VmHWM) by 63 MB (125 MB computed),
# where their features take 16 kB; a batch of a million rows (as a GPU wants, docs/gpu.md) of
# such inputs would take 32 GB. Each row's input now goes as soon as its features are read:
# the peak rises by less than 1 MB. The test allows 16 MB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('toasted_inputs');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale;' . memory_functions() . q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
-- 32 kB of payload each, compressed when stored (toasted): each is read through a copy.
CREATE TABLE inputs AS
SELECT i, jsonb_build_object('a', i, 'b', 1, 'payload', repeat(md5(i::text), 1000)) AS input
FROM generate_series(1, 2000) i;
});
is($node->safe_psql('postgres',
        q{SELECT bool_and(pg_column_size(input) < 8000 AND octet_length(input::text) > 32000)
          FROM inputs}),
    't', 'the inputs are stored compressed');

# The same rows scored one by one first: the table's pages, read into shared memory, count in
# the peak too, and are then in it before the batch is measured.
sub batch_growth {
    my ($what, $input) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', qq{
SELECT sum(ai_scale.score('m', $input)) FROM inputs;
SELECT peak_kb() AS before \\gset
SELECT sum(s) FROM (SELECT ai_scale.score_batched('m', $input) OVER (ORDER BY i) AS s FROM inputs) x;
SELECT peak_kb() - :before;
});
    is($ret, 0, "$what: scored in one batch") or diag($err);
    my ($by_row, $batched, $kb) = $out =~ /\A(\S+)\n(\S+)\n(-?\d+)\z/;
    is($batched, $by_row, "$what: the batch scores as score() does");
    note("$what: score_batched raised the peak by $kb kB");
    return $kb;
}
cmp_ok(batch_growth('toasted', 'input'), '<', 16384,
    'a batch of 2000 toasted inputs of 32 kB raises the peak by less than 16 MB');
cmp_ok(batch_growth('computed', q{input || '{"c": 1}'}), '<', 16384,
    'a batch of 2000 inputs of 32 kB computed by an expression too');

$node->stop;
done_testing();
