# A writing transaction's commit makes its invalidations again (docs/cache.md, Invalidation),
# one Redis round trip a model. With Redis holding its writes (CLIENT PAUSE ... WRITE, as in a
# failover) the commit asked it for each model and waited a timeout each: 15 s for 12 models at
# redis_timeout_ms = 1000, which no statement_timeout bounds (Postgres disarms it before the
# commit), while other sessions' reads, which Redis still answered, kept the breaker closed.
# Now one bump Redis did not take leaves the others to the next sync without asking: the
# commit asks Redis once (one error counted, not one a model), and every invalidation holds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('commit_bumps', $port);
my $node = cache_node('commit_bumps', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', 'CREATE TABLE changes (n int)');

my $models = 4; # below ai_scale.breaker_failures (5): the breaker stays closed throughout
my $cached = qq{SELECT string_agg(coalesce(ai_scale.cache_get('m' || g, 1, '{"a": 1}')::text,
'miss'), ' ' ORDER BY g) FROM generate_series(1, $models) g};

my $s = $node->background_psql('postgres', on_error_stop => 0);
# (A timeout of a second: past the recheck of marked bumps, at most once a second, which sent
# them again before each bump left to the next sync, a timeout each, until it was skipped there.)
$s->query_safe(qq{SET ai_scale.redis_timeout_ms = 1000;
BEGIN;
INSERT INTO changes VALUES (1);
SELECT ai_scale.cache_invalidate('m' || g, 1) FROM generate_series(1, $models) g;});
# What another session caches meanwhile, from the data as it was before the change, is what
# the commit's bumps make unreachable.
$node->safe_psql('postgres', qq{SELECT ai_scale.cache_put('m' || g, 1, '{"a": 1}', '"during"')
FROM generate_series(1, $models) g});
is($node->safe_psql('postgres', $cached), join(' ', ('"during"') x $models),
    'another session caches values during the transaction');
$s->query_safe('SELECT ai_scale.reset_stats()');
system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '20000', 'WRITE') == 0
  or die 'CLIENT PAUSE failed';
$s->query_safe('COMMIT');
my $errors = $s->query_safe(
    q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'});
is($errors + 0, 1, 'the commit asked Redis once, not once a model');
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
$s->quit;

is($node->safe_psql('postgres', 'SELECT count(*) FROM changes'), '1', 'the commit stands');
is($node->safe_psql('postgres', $cached), join(' ', ('miss') x $models),
    'every value cached during the transaction is unreachable after the commit');
# The bumps Redis did not take reach it at this server's next sync (at most a second after the
# last): a server that had no part in them, reading the generations from Redis, misses too.
$node->safe_psql('postgres', "SELECT pg_sleep(1.1); $cached");
my $other = cache_node('commit_bumps_other', redis_primary => "127.0.0.1:$port");
is($other->safe_psql('postgres', $cached), join(' ', ('miss') x $models),
    'and so on another server reading the same Redis');

done_testing();
