# A batch read goes to Redis 1000 keys per MGET; the last round trip of a batch of 1,001 keys
# held one key, which was read with GET. A key of ai_scale's names that another application
# wrote as another type (a list here) is nil to MGET, a miss, but GET refuses it (WRONGTYPE): the
# batch counted an l2 error, and with cache_strict failed (08006), only where the key fell in
# the last round trip; so was the one key of a batch that L1 left for Redis. Every round trip of
# a batch of several keys now reads with MGET (docs/cache.md, Limits).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('last_piece', $port);
my $node = cache_node('last_piece', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', q{
SELECT count(ai_scale.cache_put('m', 1, jsonb_build_object('a', g), to_jsonb(g)))
  FROM generate_series(1, 1001) g});
# Every value key of the batch rewritten as a list (the generation counters left as they are).
my $rewritten = `redis-cli -p $port EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', 'ai_scale:*')) do if not string.find(k, '^ai_scale:gen:') then redis.call('DEL', k) redis.call('RPUSH', k, 'x') n = n + 1 end end return n" 0`;
is($rewritten + 0, 1001, 'the 1,001 values are lists now');

my $batch = q{SELECT count(*) FILTER (WHERE o IS NOT NULL)
  FROM unnest(ai_scale.cache_get_many('m', 1,
       (SELECT array_agg(jsonb_build_object('a', g) ORDER BY g) FROM generate_series(1, 1001) g))) o};
is($node->safe_psql('postgres', qq{SELECT ai_scale.reset_stats(); $batch;
SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'}),
    "\n0\n0", 'each key of another type is a miss, and no round trip an error');
my ($ret, $out, $err) = $node->psql('postgres', "SET ai_scale.cache_strict = on; $batch");
is($ret, 0, 'a strict batch does not fail on them');
is($out, '0', 'and misses them all');

# So with the batch's other keys answered by L1: the one key left for Redis was read with GET.
$node->safe_psql('postgres', q{SET ai_scale.cache_use_l1 = on;
SELECT ai_scale.cache_put('n', 1, '{"a": 1}', '1')});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('n', 1, '{"a": 2}', '2')});
$rewritten = `redis-cli -p $port EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', 'ai_scale:*')) do if not string.find(k, '^ai_scale:gen:') and redis.call('TYPE', k).ok == 'string' then redis.call('DEL', k) redis.call('RPUSH', k, 'x') n = n + 1 end end return n" 0`;
is($rewritten + 0, 2, "the two values of n are lists in Redis, the first still in this server's L1");
my $with_l1 = q{SET ai_scale.cache_use_l1 = on;
SELECT ai_scale.cache_get_many('n', 1, ARRAY['{"a": 1}', '{"a": 2}']::jsonb[])};
is($node->safe_psql('postgres', qq{SELECT ai_scale.reset_stats(); $with_l1;
SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'}),
    "\n{1,NULL}\n0", 'the key L1 does not answer is a miss, and no error');
($ret, $out, $err) = $node->psql('postgres', "SET ai_scale.cache_strict = on; $with_l1");
is($ret, 0, 'nor does a strict batch fail on it');

$node->stop;
redis_stop('last_piece');
done_testing();
