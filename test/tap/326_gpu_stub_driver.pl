# A server whose library path finds the CUDA toolkit's stub libcuda.so (a container image that
# put the toolkit's stubs/ on LD_LIBRARY_PATH, without the driver): the GPU module's init fails
# with cudaErrorStubLibrary, which gpu_info() gave as "CUDA error", as though the GPU had failed.
# It is the driver that is missing: "no usable CUDA driver", as without any libcuda; batches fall
# back to the CPU under auto and fail under on (55000).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $cuda = $ENV{CUDA_HOME} // '/usr/local/cuda';
my ($stub) = grep { -f } ("$cuda/lib64/stubs/libcuda.so", "$cuda/targets/x86_64-linux/lib/stubs/libcuda.so");
plan skip_all => "no CUDA toolkit stub libcuda.so under $cuda" unless $stub;

my $node = PostgreSQL::Test::Cluster->new('gpu_stub_driver');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
my $libdir = PostgreSQL::Test::Utils::tempdir();
symlink($stub, "$libdir/libcuda.so.1") or die "symlink: $!";
{
    local $ENV{LD_LIBRARY_PATH} = $libdir;
    $node->start;
}
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
my $library = $node->safe_psql('postgres', 'SELECT library FROM ai_scale.gpu_info()');
plan skip_all => "the GPU module is not installed ($library)" unless -f $library;

my $reason = $node->safe_psql('postgres', 'SELECT reason FROM ai_scale.gpu_info()');
like($reason, qr/^no usable CUDA driver: .*cudaErrorStubLibrary/,
    'the stub library is told as a missing driver');
is($node->safe_psql('postgres', 'SELECT live FROM ai_scale.gpu_info()'), 'f', 'the GPU is not live');

# The mlp that auto sends to the GPU: scored on the CPU.
register_heavy_mlp($node);
is($node->safe_psql('postgres', q{SET ai_scale.gpu_min_batch = 1;
SELECT ai_scale.score_batch('heavy', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}'])}),
    '{1,0}', 'under auto the batch is scored on the CPU');
my ($ret, $out, $err) = $node->psql('postgres', q{SET ai_scale.gpu = on; SET ai_scale.gpu_min_batch = 1;
\set VERBOSITY verbose
SELECT ai_scale.score_batch('heavy', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}'])});
like($err, qr/ERROR:  55000: .*\n.*DETAIL:  No usable CUDA driver: .*cudaErrorStubLibrary/,
    'under on it fails with 55000, saying the driver is missing');

$node->stop;
done_testing();
