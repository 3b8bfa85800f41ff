# L1 under several backends at once: 4 pgbench clients put and get overlapping keys in a tiny
# L1 (64 entries, so eviction never stops) with values of varying length. Every read must be a
# miss or exactly the value the key was put with: never another key's value, never a torn copy.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cache_l1_concurrency');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.l1_entries = 64
ai_scale.l1_max_value_bytes = 256
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$node->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');

# The value of key k is a function of k alone, 20..220 bytes long.
my $value = q{jsonb_build_object('k', :k, 'pad', repeat(chr(65 + :k % 26), :k % 200))};
$node->pgbench(
    '--no-vacuum --client=4 --jobs=4 --transactions=1500',
    0,
    [qr/processed: 6000\/6000/],
    [qr/^$/],
    'concurrent puts and gets only ever see the right value or a miss',
    {
        'l1_stress' => qq{
\\set k random(1, 300)
SELECT ai_scale.cache_put('stress', 1, jsonb_build_object('k', :k), $value);
\\set k random(1, 300)
SELECT 1 / (v IS NULL OR v = $value)::int
FROM (SELECT ai_scale.cache_get('stress', 1, jsonb_build_object('k', :k)) AS v) AS got;
}
    });

my ($hits, $misses) = split /\|/, $node->safe_psql('postgres', q{
SELECT max(value) FILTER (WHERE metric = 'hits') || '|' || max(value) FILTER (WHERE metric = 'misses')
FROM ai_scale.stats WHERE section = 'l1'});
cmp_ok($hits, '>', 0, 'some reads hit L1');
cmp_ok($misses, '>', 0, 'and eviction made some miss');

$node->stop;
done_testing();
