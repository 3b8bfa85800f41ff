# A backend gives back the heap a large batch freed: after a 100,000-element cache_get_many,
# predict_batch and score_batch its private memory (RssAnon) is less than 10 MB above where it was (measured:
# under 1 MB; 22 and 111 MB before the fix, kept for the rest of the backend's life: glibc
# keeps freed heap once a large free has raised its trim threshold, and ai_scale now trims at
# the end of such a batch's transaction; score_batch did not, and kept 60 MB after 500,000
# rows of 16 features).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('batch_memory', $port);
my $node = cache_node('batch_memory', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', memory_functions() . q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
});

my $inputs = q{(SELECT array_agg(jsonb_build_object('a', g, 'b', random()))
                FROM generate_series(1, 100000) g)};
# One session: the backend measured is the one that ran the batches. A first small call of
# each loads what a backend keeps anyway (catalog caches, the model, the Redis connection).
my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.store_mode = off;
SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"a": 1, "b": 1}'::jsonb]) IS NOT NULL;
SELECT ai_scale.predict_batch('m', ARRAY['{"a": 1, "b": 1}'::jsonb]) IS NOT NULL;
SELECT ai_scale.score_batch('m', ARRAY['{"a": 1, "b": 1}'::jsonb]) IS NOT NULL;
SELECT rss_anon_kb() AS before \\gset
SELECT array_length(ai_scale.cache_get_many('m', 1, $inputs), 1);
SELECT 'after cache_get_many', rss_anon_kb() - :before < 10000, rss_anon_kb() - :before;
SELECT array_length(ai_scale.predict_batch('m', $inputs), 1);
SELECT 'after predict_batch', rss_anon_kb() - :before < 10000, rss_anon_kb() - :before;
SELECT array_length(ai_scale.score_batch('m', $inputs), 1);
SELECT 'after score_batch', rss_anon_kb() - :before < 10000, rss_anon_kb() - :before;
}, timeout => 300);
is($ret, 0, "no error") or diag($err);
note($out);
like($out, qr/^after cache_get_many\|t\|/m, 'cache_get_many leaves the backend within 10 MB')
  or diag($out);
like($out, qr/^after predict_batch\|t\|/m, 'predict_batch leaves the backend within 10 MB')
  or diag($out);
like($out, qr/^after score_batch\|t\|/m, 'score_batch leaves the backend within 10 MB')
  or diag($out);

$node->stop;
redis_stop('batch_memory');
done_testing();
