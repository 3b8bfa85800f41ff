# A model's life seen from a hot standby (docs/scoring.md, Caching and invalidation): a standby
# session that has compiled a version scores with the version the primary registers, activates
# or drops from its first statement after the change is replayed, also inside a transaction
# block; a cursor on the standby keeps the version its snapshot shows to its last row, also
# after a later statement of its transaction has compiled the new one; a registration rolled
# back on the primary, whose prediction was cached in Redis meanwhile, does not answer on the
# standby for the version registered next under its number, even where the standby synced that
# number's cache generation just before the number was given again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($primary, $standby) = primary_and_standby('versions');

$primary->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('sv', 'linear', ARRAY['x'], '{"weights": [2]}');
});
$primary->wait_for_catchup($standby);

my $reader = $standby->background_psql('postgres', on_error_stop => 0);
my $score = q{SELECT ai_scale.score('sv', '{"x": 1}')};
is($reader->query_safe($score), '2', 'the standby session compiles version 1');

# A registration on the primary: the standby session's next statement scores with it.
$primary->safe_psql('postgres',
    q{SELECT ai_scale.register_model('sv', 'linear', ARRAY['x'], '{"weights": [3]}')});
$primary->wait_for_catchup($standby);
is($reader->query_safe($score), '3', 'the next statement on the standby scores with version 2');

# An activation, inside a transaction block on the standby.
$reader->query_safe('BEGIN');
is($reader->query_safe($score), '3', 'in a transaction block: version 2');
$primary->safe_psql('postgres', q{SELECT ai_scale.set_active_version('sv', 1)});
$primary->wait_for_catchup($standby);
is($reader->query_safe($score), '2', 'the next statement of the block: version 1, activated meanwhile');
$reader->query_safe('COMMIT');

# A cursor declared before an activation keeps the version its snapshot shows, while a later
# statement of its transaction scores with the new one.
$reader->query_safe('BEGIN');
$reader->query_safe(q{DECLARE c CURSOR FOR
SELECT ai_scale.score('sv', jsonb_build_object('x', i)) FROM generate_series(1, 3) i});
is($reader->query_safe('FETCH 1 FROM c'), '2', 'the cursor\'s first row: version 1');
$primary->safe_psql('postgres', q{SELECT ai_scale.set_active_version('sv', 2)});
$primary->wait_for_catchup($standby);
is($reader->query_safe($score), '3', 'a statement after the activation: version 2');
is($reader->query_safe('FETCH 2 FROM c'), "4\n6", 'the cursor\'s later rows: still version 1');
$reader->query_safe('COMMIT');

# Dropped on the primary: the standby session's compiled copy is not used again.
$primary->safe_psql('postgres', q{SELECT ai_scale.drop_model('sv', 2)});
$primary->wait_for_catchup($standby);
$reader->query($score);
like($reader->{stderr}, qr/model "sv" has no active version/,
    'the session that had compiled it: no active version');
$reader->{stderr} = '';
$reader->query(q{SELECT ai_scale.score('sv', '{"x": 1}', 2)});
like($reader->{stderr}, qr/model "sv" has no version 2/, 'nor version 2 by number');
$reader->{stderr} = '';
is($reader->query_safe(q{SELECT ai_scale.score('sv', '{"x": 1}', 1)}), '2', 'version 1 still scores');

# A registration rolled back on the primary after its session cached an output of it in Redis
# (a cache_put in its transaction; a predict() there caches nothing, its model row being
# uncommitted, sql/predict_rollback.sql). On the standby a cache_get of that number syncs its
# slot's generation (as a read of any model sharing the slot does, at most once a second) and
# fills its L1. The version registered next under the number answers with its own score on the
# standby at once after replay, and on the primary. Before, the standby keyed it with the
# generation it had synced, older than the registration's bump, and answered 35 from its L1
# for the rest of that second (this test sees it when the steps below take less than that).
$primary->safe_psql('postgres', q{
BEGIN;
SELECT ai_scale.register_model('sv', 'linear', ARRAY['x'], '{"weights": [7]}');
SELECT ai_scale.cache_put('sv', 3, '{"x": 5}', '{"score": 35}');
ROLLBACK;
});
is($standby->safe_psql('postgres', q{
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_get('sv', 3, '{"x": 5}')}),
    '{"score": 35}', 'the standby reads what the rolled-back registration cached under version 3');
is($primary->safe_psql('postgres',
    q{SELECT ai_scale.register_model('sv', 'linear', ARRAY['x'], '{"weights": [11]}')}),
    '3', 'the next registration takes the rolled-back number');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT ai_scale.predict('sv', '{"x": 5}')}),
    '{"model": "sv", "score": 55, "source": "cpu", "version": 3}',
    'the standby scores version 3 with its own weights');
is($primary->safe_psql('postgres', q{SELECT ai_scale.predict('sv', '{"x": 5}') ->> 'score'}),
    '55', 'and so does the primary');

$reader->quit;
$standby->stop;
$primary->stop;
done_testing();
