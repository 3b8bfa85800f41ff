# The cache and the compiled models beside a prepared transaction (PREPARE TRANSACTION), as
# docs/cache.md (Transactions) and docs/scoring.md say:
# - cache_put and cache_invalidate act at once: ROLLBACK PREPARED undoes neither, in L1 or Redis;
# - a version registered in a prepared transaction is not scored by the session that prepared it
#   (its compiled copy goes at the prepare), nor by any other, until COMMIT PREPARED, after which
#   every session scores it at its next statement;
# - ROLLBACK PREPARED gives the number again, and what the prepared transaction cached under it
#   (cache_put acts at once; predict() caches nothing of a version its own transaction
#   registered, when it does not store it) does not answer for the next registration.
# predict()'s own sync fills in a prepared transaction: test/tap/181_predict_prepared_transaction.pl.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
  or plan skip_all => 'AI_SCALE_TEST_REDIS_PRIMARY not set (test/run.sh sets it)';

my $node = PostgreSQL::Test::Cluster->new('prepared_cache');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
max_prepared_transactions = 2
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
ai_scale.redis_read_from = 'primary'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('tap216', 'linear', ARRAY['a'], '{"weights": [2]}');
SELECT ai_scale.cache_invalidate('tap216');
});

# What L1 answers (the server's shared memory, then Redis behind it) and what Redis answers alone.
sub cached {
    my ($version, $input) = @_;
    my $get = "SELECT coalesce(ai_scale.cache_get('tap216', $version, '$input')::text, 'miss')";
    return $node->safe_psql('postgres', $get) . ' '
      . $node->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get");
}

$node->safe_psql('postgres', q{
BEGIN;
SELECT ai_scale.cache_put('tap216', 1, '{"a": 1}', '{"p": 10}');
PREPARE TRANSACTION 'put';
ROLLBACK PREPARED 'put';
});
is(cached(1, '{"a": 1}'), '{"p": 10} {"p": 10}', 'a put is not undone by ROLLBACK PREPARED, in L1 or Redis');

$node->safe_psql('postgres', q{
BEGIN;
SELECT ai_scale.cache_invalidate('tap216', 1);
PREPARE TRANSACTION 'invalidate';
ROLLBACK PREPARED 'invalidate';
});
is(cached(1, '{"a": 1}'), 'miss miss', 'nor is an invalidation');

my $preparer = $node->background_psql('postgres');
my $other = $node->background_psql('postgres');
$other->query_safe('SET ai_scale.store_mode = off'); # no store here
is($other->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '2',
    'another session has compiled version 1');
$preparer->query_safe(q{
BEGIN;
SELECT ai_scale.register_model('tap216', 'linear', ARRAY['a'], '{"weights": [3]}');
SET LOCAL ai_scale.store_mode = off;
});
is($preparer->query_safe(q{SELECT ai_scale.predict('tap216', '{"a": 1}') ->> 'score'}), '3',
    'the registering transaction scores its version 2');
is(cached(2, '{"a": 1}'), 'miss miss', 'and predict() with store_mode = off caches nothing of it');
$preparer->query_safe(q{SELECT ai_scale.cache_put('tap216', 2, '{"a": 1}', '{"score": 3}')});
is(cached(2, '{"a": 1}'), '{"score": 3} {"score": 3}', 'a cache_put in the transaction caches at once');
$preparer->query_safe(q{PREPARE TRANSACTION 'register'});
is($preparer->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '2',
    'after the prepare, its session scores the committed version, not its compiled version 2');
is($other->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '2',
    'so does another session');

$node->safe_psql('postgres', "ROLLBACK PREPARED 'register'");
is($preparer->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '2',
    'after ROLLBACK PREPARED: version 1');
is( $node->safe_psql('postgres',
        q{SELECT ai_scale.register_model('tap216', 'linear', ARRAY['a'], '{"weights": [5]}')}),
    '2',
    'the number is given again');
is(cached(2, '{"a": 1}'), 'miss miss', 'what the rolled back version 2 cached does not answer');
is($other->query_safe(q{SELECT ai_scale.predict('tap216', '{"a": 1}') ->> 'score'}), '5',
    'the new version 2 is scored');

# COMMIT PREPARED, in a third session: both open sessions take the version at their next statement.
$preparer->query_safe(q{
BEGIN;
SELECT ai_scale.register_model('tap216', 'linear', ARRAY['a'], '{"weights": [7]}');
PREPARE TRANSACTION 'commit';
});
is($preparer->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '5',
    'prepared, not committed: version 2 still');
$node->safe_psql('postgres', "COMMIT PREPARED 'commit'");
is($preparer->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '7',
    'COMMIT PREPARED elsewhere: the preparing session scores version 3');
is($other->query_safe(q{SELECT ai_scale.score('tap216', '{"a": 1}')}), '7',
    'and so does the other one');

$preparer->quit;
$other->quit;
$node->stop;
done_testing();
