# The peak of a backend's private memory (VmHWM, in a session of its own) at a large
# cache_get_many and at a cache_put of a large output.
# cache_get_many made the Redis key of every input, and read every value back, before looking
# at any: a million inputs missing in Redis took 270 MB at the peak (the keys alone, as 41-byte
# strings, 80 MB). The keys of each 1000-key round trip are now made just before it: 113 MB.
# cache_put of a 60 MB output held it about 7 times at once besides the argument itself: the
# Redis value made of it, copied four times by the writes taking it by reference, and twice
# in hiredis (the command it formatted, then its output buffer). Then the value was moved into
# the command and copied once, straight into the output buffer: 2 copies. Now the command's
# value is the value's 20-byte header and the output's bytes where they lie, copied once, into
# hiredis's output buffer: 1 copy besides the argument.
# cache_get of that output held it 3 times at once: hiredis's reply, the string made of it and a
# copy of that string, made by the vector of one value it was put in. Now the string is moved
# there: 2 copies at once (the reply and the string, then the string and the jsonb decoded
# from it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('peak_memory', $port);
# Reading a 60 MB value from Redis takes about 1.5 s here and took nearly 10 s under ASan
# (scripts/sanitize_check.sh), where the 10 s the other tests allow timed it out: a miss.
my $node = cache_node('peak_memory', redis_primary => "127.0.0.1:$port",
    redis_timeout_ms => 60000, redis_max_value_bytes => '64MB');
$node->safe_psql('postgres', memory_functions() . q{
CREATE TABLE batch AS
    SELECT array_agg(jsonb_build_object('a', g) ORDER BY g) AS inputs
      FROM generate_series(1, 1000000) g;
CREATE TABLE big AS SELECT jsonb_build_object('s', repeat('y', 60 * 1024 * 1024)) AS v;
});

# Each in a session of its own, whose peak so far is taken first; a small call before makes the
# Redis connection.
sub peak_growth_kb {
    my ($sql) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', qq{
SELECT ai_scale.cache_get('m', 1, '{"x": 0}') IS NULL;
SELECT peak_kb() AS before \\gset
$sql;
SELECT 'growth', peak_kb() - :before;
}, timeout => 300);
    is($ret, 0, 'no error') or diag($err);
    my ($kb) = $out =~ /^growth\|(-?\d+)$/m;
    return ($kb, $out);
}

# The million inputs miss in Redis (and there is no store).
my ($kb, $out) = peak_growth_kb(q{
SELECT count(o) FROM unnest(ai_scale.cache_get_many('m', 1, (SELECT inputs FROM batch))) o});
like($out, qr/^t\n0\ngrowth\|/, 'a million misses') or diag($out);
note("VmHWM grew $kb kB at a cache_get_many of a million inputs");
# Before: about 270 MB; the array alone, read from the table, is 32 MB.
cmp_ok($kb, '<', 200 * 1024, 'a million keys are not all made at once');

# The output read from the table (one copy of 60 MB, besides the compressed datum).
($kb, $out) = peak_growth_kb(q{
SELECT ai_scale.cache_put('m', 1, '{"x": "big"}', (SELECT v FROM big))});
note("VmHWM grew $kb kB at a cache_put of a 60 MB output");
# About 8 copies once (480 MB), then 3 (185 MB); now 2, the argument and hiredis's buffer
# (124 MB).
cmp_ok($kb, '<', 2.5 * 61 * 1024, 'a large output is copied once, into hiredis\'s buffer');
is($node->safe_psql('postgres', q{
SELECT ai_scale.cache_get('m', 1, '{"x": "big"}') = (SELECT v FROM big)}), 't',
    'the large output is read back whole');

($kb, $out) = peak_growth_kb(q{
SELECT pg_column_size(ai_scale.cache_get('m', 1, '{"x": "big"}')) > 60 * 1024 * 1024});
like($out, qr/^t\nt\ngrowth\|/, 'the large output is read back') or diag($out);
note("VmHWM grew $kb kB at a cache_get of a 60 MB output");
# Before: 3 copies (184 MB); now 2 (123 MB).
cmp_ok($kb, '<', 2.5 * 61 * 1024, 'it is held twice at most to be read');

$node->stop;
redis_stop('peak_memory');
done_testing();
