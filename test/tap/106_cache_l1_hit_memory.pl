# An L1 hit costs the size of its value: l1_get used to allocate l1_max_value_bytes for every
# hit and keep it until the call returned, so a cache_get_many answered from L1 held 2 kB (the
# default) per element whatever the values' size: 500,000 elements of a 12-byte output raised
# the backend's peak memory (VmHWM) by about 1 GB; now by about 50 MB. The test allows 400 MB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('l1_hit_memory', $port);
my $node = cache_node('l1_hit_memory', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', memory_functions());

my $inputs = q{array_fill('{"x": 1}'::jsonb, ARRAY[500000])};
my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.cache_use_l1 = on;
SELECT ai_scale.cache_put('m', 1, '{"x": 1}', '{"score": 1}');
SELECT count(*) FROM unnest($inputs);
SELECT peak_kb() AS before \\gset
SELECT count(*) FROM unnest(ai_scale.cache_get_many('m', 1, $inputs)) o WHERE o = '{"score": 1}';
SELECT value FROM ai_scale.stats WHERE section = 'l1' AND metric = 'hits';
SELECT 'growth', peak_kb() - :before;
}, timeout => 300);
is($ret, 0, 'no error') or diag($err);
like($out, qr/^500000\n500000$/m, 'every element answered from L1') or diag($out);
my ($kb) = $out =~ /^growth\|(-?\d+)$/m;
note("peak raised by $kb kB");
cmp_ok($kb, '<', 400000, '500,000 L1 hits raise the peak by less than 400 MB');

$node->stop;
redis_stop('l1_hit_memory');
done_testing();
