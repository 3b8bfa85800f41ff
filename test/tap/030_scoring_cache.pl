# Each backend caches compiled models; a change to ai_scale.models made by another session
# must reach it once committed, and not before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('scoring');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$node->safe_psql('postgres',
    q{SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}')});

my $scorer = $node->background_psql('postgres', on_error_stop => 0);
my $score = q{SELECT ai_scale.score('m', '{"a": 1}')};
is($scorer->query_safe($score), '2', 'version 1 scored and cached');

# Uncommitted changes in another session are invisible; committed ones are seen.
my $writer = $node->background_psql('postgres');
$writer->query_safe('BEGIN');
$writer->query_safe(
    q{SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [3]}')});
is($scorer->query_safe($score), '2', 'uncommitted new version not used');
$writer->query_safe('COMMIT');
is($scorer->query_safe($score), '3', 'committed new version used by the other backend');

# A direct UPDATE of the catalog, and switching back, reach the caching backend too.
$node->safe_psql('postgres',
    q{UPDATE ai_scale.models SET params = '{"weights": [5]}' WHERE model_name = 'm' AND model_version = 1});
$node->safe_psql('postgres', q{SELECT ai_scale.set_active_version('m', 1)});
is($scorer->query_safe($score), '5', 'updated and re-activated version 1 seen');

# Dropping the model makes the cached copy go away.
$node->safe_psql('postgres', q{SELECT ai_scale.drop_model('m')});
my ($out, $failed) = $scorer->query($score);
is($failed, 1, 'dropped model no longer scores');
like($scorer->{stderr}, qr/model "m" does not exist/, 'with the reason');

# A statement whose snapshot predates a change, but which reads the catalog after this backend
# processed the change's invalidation, scores with what its snapshot shows; later statements
# must not go on serving that version from the cache.
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m2', 'linear', ARRAY['a'], '{"weights": [10]}');
SELECT ai_scale.register_model('m2', 'linear', ARRAY['a'], '{"weights": [20]}', false);});
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(7)');
my $late = $node->background_psql('postgres');
$late->query_until(qr/sent/, "\\echo sent\n"
      . q{SELECT pg_advisory_lock(7)::text || 'first:' || ai_scale.score('m2', '{"a": 1}');} . "\n");
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"),
    'the scoring statement took its snapshot and waits');
$node->safe_psql('postgres', q{SELECT ai_scale.set_active_version('m2', 2)});
$holder->query_safe('SELECT pg_advisory_unlock(7)');
like($late->query_until(qr/first:\d+/, ''), qr/first:10/,
    'the waiting statement scores with the version its snapshot shows');
is($late->query_safe(q{SELECT ai_scale.score('m2', '{"a": 1}')}), '20',
    'the next statement scores with the version activated meanwhile');
is($late->query_safe(q{SELECT ai_scale.score('m2', '{"a": 1}')}), '20', 'and so does the one after');

# A REPEATABLE READ transaction older than a change goes on scoring with the version its
# snapshot shows, every row of every statement (the model is read and compiled once and kept
# aside for that snapshot, not cached), and the next transaction with the new one.
$node->safe_psql('postgres', 'CREATE TABLE rr_touch (a int)');
my $rr = $node->background_psql('postgres');
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($rr->query_safe(q{SELECT ai_scale.score('m2', '{"a": 1}')}), '20',
    'REPEATABLE READ: the active version before the change');
$node->safe_psql('postgres', q{SELECT ai_scale.set_active_version('m2', 1)});
# Locking a table it has not locked yet makes the transaction see the change's invalidation.
$rr->query_safe('SELECT count(*) FROM rr_touch');
is($rr->query_safe(q{SELECT min(s) || ':' || max(s) || ':' || count(*)
    FROM (SELECT ai_scale.score('m2', jsonb_build_object('a', g % 2 + 1)) / (g % 2 + 1) AS s
          FROM generate_series(1, 2000) g) x}), '20:20:2000',
    'every row of a statement after the change scores with the version the snapshot shows');
is($rr->query_safe(q{SELECT ai_scale.score('m2', '{"a": 1}')}), '20', 'and so does the next statement');
$rr->query_safe('COMMIT');
is($rr->query_safe(q{SELECT ai_scale.score('m2', '{"a": 1}')}), '10',
    'the next transaction scores with the version activated meanwhile');
$rr->quit;

$late->quit;
$holder->quit;
$scorer->quit;
$writer->quit;
$node->stop;
done_testing();
