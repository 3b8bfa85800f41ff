# What a backend keeps after reading large values from Redis.
# hiredis grows a connection's read buffer to the largest reply it takes in and frees it only
# when the next bytes are fed to it: a session that read one 60 MB value from Redis kept 60 MB
# of private memory for as long as it made no other round trip on the connection (for its
# life, if it made none). The buffer is now freed once its reply has been read.
# A cache_get_many of 2000 values of 100 kB (200 MB answered) left 126 MB of freed heap with
# the backend for its life: malloc_trim ran only after batches of 10,000 elements or more; it
# now runs after one that answered 16 MB or more too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('read_buffer_released', $port);
# Reading a 60 MB value from Redis takes about 1.5 s here and took nearly 10 s under ASan
# (scripts/sanitize_check.sh), where the 10 s the other tests allow timed it out: a miss.
my $node = cache_node('read_buffer_released', redis_primary => "127.0.0.1:$port",
    redis_timeout_ms => 60000, redis_max_value_bytes => '64MB');
$node->safe_psql('postgres', memory_functions() . q{
SELECT ai_scale.cache_put('m', 1, '{"x": "big"}', jsonb_build_object('s', repeat('y', 60 * 1024 * 1024)));
SELECT ai_scale.cache_put('m', 1, '{"x": "small"}', '{"score": 1}');
});

# One session (L1 is off on this node, so both reads go to Redis): a small read first makes
# the connection, then the large one; the value itself is not sent to the client.
my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT ai_scale.cache_get('m', 1, '{"x": "small"}');
SELECT rss_anon_kb() AS before \gset
SELECT pg_column_size(ai_scale.cache_get('m', 1, '{"x": "big"}')) > 60 * 1024 * 1024;
SELECT 'growth', rss_anon_kb() - :before;
SELECT ai_scale.cache_get('m', 1, '{"x": "small"}');
}, timeout => 300);
is($ret, 0, 'no error') or diag($err);
like($out, qr/^\{"score": 1\}\nt\ngrowth\|-?\d+\n\{"score": 1\}$/,
    'the large value is read, and the connection serves the next read') or diag($out);
my ($kb) = $out =~ /^growth\|(-?\d+)$/m;
note("RssAnon grew $kb kB after reading a 60 MB value");
# Before: about 62 MB (the buffer, 60 MB and hiredis's 1 MB of slack).
cmp_ok($kb, '<', 20000, 'the backend keeps no copy of the value read');

# 100 kB values lie in the heap (below malloc's mmap threshold), each read from Redis and
# copied a few times; the first small batch makes the connection. 2000 distinct inputs: copies
# of one input are read from Redis once (TAP 237).
$node->safe_psql('postgres', q{
SELECT count(ai_scale.cache_put('m', 1, jsonb_build_object('medium', i),
                                jsonb_build_object('s', repeat('w', 100 * 1024))))
  FROM generate_series(1, 2000) i;
});
($ret, $out, $err) = $node->psql('postgres', q{
SELECT cardinality(ai_scale.cache_get_many('m', 1, ARRAY['{"x": "small"}'::jsonb]));
SELECT rss_anon_kb() AS before \gset
SELECT sum(pg_column_size(o)) > 2000 * 100 * 1024
  FROM unnest(ai_scale.cache_get_many('m', 1,
       (SELECT array_agg(jsonb_build_object('medium', i)) FROM generate_series(1, 2000) i))) o;
SELECT 'growth', rss_anon_kb() - :before;
}, timeout => 300);
is($ret, 0, 'no error in the batch') or diag($err);
like($out, qr/^1\nt\ngrowth\|-?\d+$/, 'the batch answers every value') or diag($out);
($kb) = $out =~ /^growth\|(-?\d+)$/m;
note("RssAnon grew $kb kB after a batch answering 200 MB");
# Before: about 126 MB.
cmp_ok($kb, '<', 20000, 'the backend gives back the heap the batch used');

$node->stop;
redis_stop('read_buffer_released');
done_testing();
