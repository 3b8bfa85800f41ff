# A long-lived backend's private memory stays bounded while it works through many model versions
# and many Redis endpoints.
#
# Compiled models: a backend kept every version it had scored, compiled, until the catalog
# changed (200 versions of a 200-tree model took 170 MB); now ai_scale.model_cache_size bounds
# them, least recently used out. With 8MB, scoring 200 such versions twice leaves the backend
# less than 60 MB above where it began (measured: 22 MB, allocator slack included).
#
# The memory a large model's parse takes goes back once it is compiled (below 100 MB left for a
# model of 511,500 nodes; 290 MB stayed before).
#
# Private breakers: with every shared breaker slot held by an open breaker, a backend keeps the
# breakers of further endpoints itself, and kept one for every endpoint it had ever used
# (40,000 endpoints: 18 MB). They now go when the endpoint is no longer configured: the backend
# stays within 4 MB (measured: under 0.1 MB). And 1024 at most are kept (430 kB), for one
# endpoint used with 40,000 Redis users (16 MB before).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = cache_node('long_session');
$node->safe_psql('postgres', full_tree_function() . memory_functions() . q{
SELECT ai_scale.register_model('big', 'gbdt', ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
    jsonb_build_object('objective', 'binary:logistic', 'base_score', 0.5,
                       'trees', (SELECT jsonb_agg(tree(6)) FROM generate_series(1, 200))));
DO $$
DECLARE p jsonb; f text[];
BEGIN
  SELECT params, features INTO p, f FROM ai_scale.models WHERE model_name = 'big';
  FOR i IN 2..200 LOOP
    PERFORM ai_scale.register_model('big', 'gbdt', f, p, activate => false);
  END LOOP;
END $$;
-- An autovacuum of the models table sends a relcache invalidation of the table: one landing in
-- the counted calls below added a compile on a loaded machine, when an invalidation emptied the
-- cache (now each model's row is checked: TAP 226). Done now, it leaves autovacuum nothing.
VACUUM ANALYZE ai_scale.models;
});

my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.model_cache_size = '8MB';
SELECT ai_scale.score('big', '{"a": 1}', 1);
SELECT rss_anon_kb() AS before \gset
SELECT count(ai_scale.score('big', '{"a": 1}', v)) FROM generate_series(1, 200) v;
SELECT count(ai_scale.score('big', '{"a": 1}', v)) FROM generate_series(1, 200) v;
SELECT 'after 400 scores', rss_anon_kb() - :before < 60000, rss_anon_kb() - :before;
-- Three versions that fit are compiled once each; with no room, every call compiles (and
-- evicts the model the previous call compiled), and scores stay right.
SELECT ai_scale.reset_stats();
SELECT 'fitting', count(*), round(sum(ai_scale.score('big', '{"a": 1}', 1 + v % 3))::numeric, 4)
FROM generate_series(1, 30) v;
SELECT 'compiled', value FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'models_compiled';
SET ai_scale.model_cache_size = 0;
SELECT 'alternating', count(*), round(sum(ai_scale.score('big', '{"a": 1}', 4 + v % 3))::numeric, 4)
FROM generate_series(1, 30) v;
SELECT 'compiled', value FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'models_compiled';
}, timeout => 300);
is($ret, 0, 'scoring 200 versions: no error') or diag($err);
note($out);
like($out, qr/^after 400 scores\|t\|/m, 'compiled models stay within the bound') or diag($out);
like($out, qr/^fitting\|30\|26\.4239\ncompiled\|3$/m,
    'versions that fit in the cache are compiled once (scoring / models_compiled)')
  or diag($out);
like($out, qr/^alternating\|30\|26\.4239\ncompiled\|33$/m,
    'with no room every call compiles, and scores are right') or diag($out);

# One large model: compiling it parses its params into a tree many times the text's size, freed
# once the model is compiled. glibc kept those pages (the compiled model lies above them in the
# heap), and the backend stayed 290 MB larger for its life; with the heap trimmed after a large
# document it keeps little more than the compiled model (500 trees of 1023 nodes, 15 MB):
# measured 27 MB.
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('huge', 'gbdt', ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
    jsonb_build_object('trees', (SELECT jsonb_agg(tree(9)) FROM generate_series(1, 500))));
}, timeout => 300);
($ret, $out, $err) = $node->psql('postgres', q{
SELECT rss_anon_kb() AS before \gset
SELECT 'scored', ai_scale.score('huge', '{"a": 1}');
SELECT 'after compiling', rss_anon_kb() - :before < 100000, rss_anon_kb() - :before;
}, timeout => 300);
is($ret, 0, 'scoring a model of 511,500 nodes: no error') or diag($err);
note($out);
like($out, qr/^scored\|/m, 'the large model scores') or diag($out);
like($out, qr/^after compiling\|t\|/m,
    'the memory its parse took goes back once it is compiled') or diag($out);

# Every endpoint refuses the connection; with breaker_failures = 1 each one's first failure
# opens its breaker, and the first 32 fill the shared registry for the hour of breaker_reset_ms.
my $port = PostgreSQL::Test::Cluster::get_free_port();
($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.breaker_failures = 1;
SET ai_scale.breaker_reset_ms = 3600000;
CREATE FUNCTION pg_temp.use_endpoints(lo int, hi int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  FOR i IN lo..hi LOOP
    PERFORM set_config('ai_scale.redis_primary',
                       format('127.1.%s.%s:$port', i / 250, i % 250 + 1), true);
    PERFORM ai_scale.cache_get('m', 1, '{"a": 1}');
  END LOOP;
END \$\$;
SELECT pg_temp.use_endpoints(0, 99);
SELECT rss_anon_kb() AS before \\gset
SELECT pg_temp.use_endpoints(100, 40099);
SELECT 'after 40000 endpoints', rss_anon_kb() - :before < 4000, rss_anon_kb() - :before;
SELECT 'trips', value >= 40000 FROM ai_scale.stats WHERE section = 'l2' AND metric = 'breaker_trips';
}, timeout => 300);
is($ret, 0, 'using 40,000 endpoints: no error') or diag($err);
note($out);
like($out, qr/^trips\|t$/m, 'every endpoint failed and opened its breaker') or diag($out);
like($out, qr/^after 40000 endpoints\|t\|/m, 'private breakers of unused endpoints are dropped')
  or diag($out);

# A session's first statements for the cases below: every failure opens a breaker for the hour,
# the endpoint refuses connections, and pg_temp.use_users(lo, hi) makes a cache call as each
# Redis user $prefix<lo> .. $prefix<hi>.
sub users_session {
    my ($prefix) = @_;
    return qq{SET ai_scale.breaker_failures = 1;
SET ai_scale.breaker_reset_ms = 3600000;
SET ai_scale.redis_primary = '127.0.0.1:$port';
CREATE FUNCTION pg_temp.use_users(lo int, hi int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  FOR i IN lo..hi LOOP
    PERFORM set_config('ai_scale.redis_user', '$prefix' || i, true);
    PERFORM ai_scale.cache_get('m', 1, '{"a": 1}');
  END LOOP;
END \$\$;
};
}

# The same with one endpoint and 40,000 Redis users (a pooled backend serving many roles, each
# with its own redis_user): the credentials are part of a breaker's key, and the endpoint did
# not change, so every user's private breaker stayed (16 MB). A backend now keeps 1024 at most.
($ret, $out, $err) = $node->psql('postgres', users_session('user') . qq{
SELECT pg_temp.use_users(0, 99);
SELECT rss_anon_kb() AS before \\gset
SELECT pg_temp.use_users(100, 40099);
SELECT 'after 40000 users', rss_anon_kb() - :before < 4000, rss_anon_kb() - :before;
}, timeout => 300);
is($ret, 0, 'using 40,000 Redis users: no error') or diag($err);
note($out);
like($out, qr/^after 40000 users\|t\|/m, 'a backend keeps a bounded number of private breakers')
  or diag($out);

# Within that bound every identity keeps its open breaker: 70 users, each failing once, then
# again, fail fast the second time (no error counted: the breaker skips Redis). With 32 kept,
# 38 of them had a closed breaker again at every pass, and each call waited for Redis.
($ret, $out, $err) = $node->psql('postgres', users_session('again') . qq{
CREATE FUNCTION pg_temp.l2_errors() RETURNS bigint LANGUAGE sql
  AS \$\$ SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors' \$\$;
SELECT pg_temp.use_users(0, 69);
SELECT pg_temp.l2_errors() AS before \\gset
SELECT pg_temp.use_users(0, 69);
SELECT 'errors again', pg_temp.l2_errors() - :before;
});
is($ret, 0, '70 Redis users twice: no error') or diag($err);
like($out, qr/^errors again\|0$/m, 'each identity keeps its open breaker') or diag($out);

$node->stop;
done_testing();
