# A standby behind in replay across DROP EXTENSION and CREATE EXTENSION on its primary: a model
# registered again under its name there gets version 1 again (no store holds a later one), and
# the registration's bump of that version's generation reaches the standby through Redis at
# once. The standby, still on the dropped catalog, scored the dropped model and cached its
# output under the new generation, where the primary then read it as a hit, for cache_ttl. Keys
# now fold in the catalog's OID (src/cache/extension_incarnation.cpp): the standby's entries
# are its catalog's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($primary, $standby) = primary_and_standby('recreated');

$primary->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('fresh', 'linear', ARRAY['a', 'b'], '{"weights": [1, 1], "bias": 0}');
});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT ai_scale.predict('fresh', '{"a": 1, "b": 1}')}),
    '{"model": "fresh", "score": 2, "source": "cpu", "version": 1}',
    'the standby scores the first model');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$standby->poll_query_until('postgres', 'SELECT pg_get_wal_replay_pause_state()', 'paused')
  or die 'replay did not pause';

$primary->safe_psql('postgres', q{
DROP EXTENSION ai_scale;
CREATE EXTENSION ai_scale;
});
is($primary->safe_psql('postgres', q{
SELECT ai_scale.register_model('fresh', 'linear', ARRAY['a', 'b'], '{"weights": [100, 100], "bias": 0}')}),
    '1', 'the model registered again in the new catalog is version 1 again');

# The standby learns the new generation of version 1 from Redis: what it cached under the old
# one is a miss then (L3 is out of its reach: there is no store).
ok( $standby->poll_query_until('postgres', q{
SELECT ai_scale.cache_get('fresh', 1, '{"a": 1, "b": 1}') IS NULL}),
    'the standby learned the registration\'s bump');
is($standby->safe_psql('postgres', q{SELECT pg_get_wal_replay_pause_state()}),
    'paused', 'with its replay still paused');

# It scores with the catalog it has; the primary reads Redis's primary (no replica lag) and must
# not take that for its own model's output.
my @inputs = map { qq({"a": $_, "b": 0}) } 2 .. 6;
for my $input (@inputs) {
    my ($a) = $input =~ /"a": (\d+)/;
    is($standby->safe_psql('postgres', qq{SELECT ai_scale.predict('fresh', '$input') ->> 'score'}),
        $a, "standby, $input: the dropped model's score");
    is( $primary->safe_psql('postgres', qq{
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.predict('fresh', '$input') - 'model'}),
        qq({"score": @{[100 * $a]}, "source": "cpu", "version": 1}),
        "primary, $input: its own model's score, not the standby's entry");
}

# Once replayed, the standby's keys are the primary's again: it reads what the primary cached.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$primary->wait_for_catchup($standby);
my $cached = q{SELECT ai_scale.cache_get('fresh', 1, '{"a": 6, "b": 0}')};
ok($standby->poll_query_until('postgres', "$cached IS NOT NULL"),
    'after replay the standby finds the primary\'s entry');
is($standby->safe_psql('postgres', $cached), $primary->safe_psql('postgres', $cached),
    'the one the primary cached for its model');

done_testing();
