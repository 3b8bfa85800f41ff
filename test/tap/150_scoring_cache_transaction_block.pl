# Inside a transaction block (READ COMMITTED), a statement that only scores locks no relation,
# so nothing made the backend process invalidations: it went on scoring with the version it
# had compiled, after another session's change had committed and the statement's own snapshot
# showed it. Each statement must score with the version its snapshot shows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('churn');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}', false);});

my %calls = (
    score => q{SELECT ai_scale.score('m', '{"a": 1}')},
    score_batch => q{SELECT (ai_scale.score_batch('m', ARRAY['{"a": 1}'::jsonb]))[1]},
    score_batched => q{SELECT ai_scale.score_batched('m', i) OVER () FROM (VALUES ('{"a": 1}'::jsonb)) v(i)},
);
my $scorer = $node->background_psql('postgres');
for my $fn (sort keys %calls) {
    $scorer->query_safe('BEGIN');
    my $active = $node->safe_psql('postgres',
        q{SELECT model_version FROM ai_scale.models WHERE model_name = 'm' AND active});
    is($scorer->query_safe($calls{$fn}), $active, "$fn: version $active scored and cached");
    my $other = 3 - $active;
    $node->safe_psql('postgres', "SELECT ai_scale.set_active_version('m', $other)");
    is($scorer->query_safe($calls{$fn}), $other,
        "$fn: the next statement in the block scores with version $other, activated meanwhile");
    $scorer->query_safe('COMMIT');
}

# A REPEATABLE READ transaction keeps the version its snapshot shows.
$scorer->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $active = $node->safe_psql('postgres',
    q{SELECT model_version FROM ai_scale.models WHERE model_name = 'm' AND active});
is($scorer->query_safe($calls{score}), $active, 'repeatable read: first statement');
$node->safe_psql('postgres', 'SELECT ai_scale.set_active_version(\'m\', ' . (3 - $active) . ')');
is($scorer->query_safe($calls{score}), $active, 'repeatable read: its snapshot\'s version kept');
$scorer->query_safe('COMMIT');
is($scorer->query_safe($calls{score}), 3 - $active, 'and the new version after it');

$scorer->quit;
$node->stop;
done_testing();
