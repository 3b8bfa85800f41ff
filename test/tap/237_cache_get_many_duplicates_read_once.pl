# cache_get_many looks each distinct input up once: 2000 copies of one 100 kB input were 2000
# keys of one MGET, and Redis sent the value 2000 times (200 MB), which the backend then held
# several times over (hiredis's reply, the values read, the jsonb made of each). Now the MGET
# asks for the key once, every copy gets that answer, and the stats count the one lookup.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('duplicates_read_once', $port);
my $node = cache_node('duplicates_read_once', redis_primary => "127.0.0.1:$port",
    redis_timeout_ms => 10000);
$node->safe_psql('postgres', q{
SELECT ai_scale.cache_put('m', 1, '{"x": "medium"}', jsonb_build_object('s', repeat('w', 100 * 1024)));
});

sub redis_stat {
    my ($name) = @_;
    return `redis-cli -p $port info stats` =~ /^$name:(\d+)/m ? $1 : undef;
}

system("redis-cli -p $port config resetstat >/dev/null");
# L1 is off on this node: every copy would be read from Redis. Two copies of a missing input
# ride along.
my $out = $node->safe_psql('postgres', q{
SELECT count(*), count(o), sum(pg_column_size(o)) > 2000 * 100 * 1024
  FROM unnest(ai_scale.cache_get_many('m', 1,
       array_fill('{"x": "medium"}'::jsonb, ARRAY[2000]) || ARRAY['{"x": "none"}', '{"x": "none"}']::jsonb[])) o;
SELECT metric, value FROM ai_scale.stats
 WHERE section = 'l2' AND metric IN ('hits', 'misses', 'samples') ORDER BY metric;
}, timeout => 300);
is($out, "2002|2000|t\nhits|1\nmisses|1\nsamples|1",
    'every copy answered; one lookup of each distinct input, in one round trip');
my $hits = redis_stat('keyspace_hits');
my $sent = redis_stat('total_net_output_bytes');
# Reads of the model's generation counters count too (once a second at most): a few, not 2000.
cmp_ok($hits, '<', 10, 'Redis was asked for the value once');
note("Redis sent $sent bytes");
# Before: 2000 x 100 kB, about 205,000,000 bytes.
cmp_ok($sent, '<', 1024 * 1024, 'Redis sent the value once, not 2000 times');

$node->stop;
redis_stop('duplicates_read_once');
done_testing();
