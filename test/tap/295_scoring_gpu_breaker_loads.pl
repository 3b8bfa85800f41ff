# Under ai_scale.gpu = auto, a GPU module that cannot be used is tried once per backoff of the
# backend's GPU breaker (1 s, doubling), not at each batch: every batch between falls back to
# the CPU at once. Tried at each batch, a broken module (no driver, a failing init, another ABI)
# was opened and refused again by every batch, its cost paid by each. The module here
# (test/unit/fake_gpu_module.cpp, another ABI version) notes each load in a file.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $module = $ENV{AI_SCALE_TEST_FAKE_GPU_MODULE}
  or plan skip_all => 'AI_SCALE_TEST_FAKE_GPU_MODULE not set (test/run.sh sets it)';
my $loads = PostgreSQL::Test::Utils::tempdir() . '/loads';

my $node = PostgreSQL::Test::Cluster->new('gpu_breaker_loads');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.gpu = auto
ai_scale.gpu_min_batch = 1
ai_scale.gpu_library = '$module'
});
{
    local $ENV{AI_SCALE_FAKE_GPU_LOADS} = $loads;
    $node->start;
}
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
register_heavy_mlp($node);

sub loads_so_far {
    return 0 unless -e $loads;
    my @lines = split /\n/, slurp_file($loads);
    return scalar @lines;
}

# Twenty batches in one statement: each scored on the CPU, each a fallback.
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE s = ARRAY[1, 0]::float8[])
  FROM (SELECT ai_scale.score_batch('heavy', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}']) s
          FROM generate_series(1, 20)) b;
SELECT value FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'gpu_fallbacks';}),
    "20\n20", 'twenty batches scored on the CPU, each a fallback');
my $n = loads_so_far();
ok($n >= 1, "the module was tried ($n loads)");
# One load, and one more each time the backoff ran out (after 1 s, 3 s, 7 s ...): far fewer
# than the batches however slow the machine.
ok($n < 10, "... once per backoff, not at each of the twenty batches ($n loads)");

$node->stop;
done_testing();
