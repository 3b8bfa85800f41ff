# A backend keeps its compiled models across changes to other models' rows.
#
# Every change to ai_scale.models (a registration, an activation, a drop, a VACUUM of the table)
# emptied every backend's cache of compiled models: a team that registers a model per customer
# and new versions every day made each backend compile again every model it used, after each
# registration (200 gbdt models of 200 trees: 7 s of compiling in a backend that scores them,
# for one registration of an unrelated model). A backend now checks, at its next use of a
# compiled model after a change, that the catalog still shows the row it was compiled from, and
# compiles only the models whose rows changed. What the checks must not do: serve a model whose
# row was replaced, updated, dropped, or whose place in the table another row took.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('unrelated_changes');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\nautovacuum = off");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('m' || i, 'linear', ARRAY['a'], jsonb_build_object('weights', ARRAY[i]))
FROM generate_series(1, 3) i;
SELECT ai_scale.register_model('other', 'linear', ARRAY['a'], '{"weights": [9]}');});

my $scorer = $node->background_psql('postgres', on_error_stop => 0);
my $scores = q{SELECT string_agg(ai_scale.score('m' || i, '{"a": 1}')::text, ',' ORDER BY i)
               FROM generate_series(1, 3) i};
my $compiled = q{SELECT value FROM ai_scale.stats
                 WHERE section = 'scoring' AND metric = 'models_compiled'};
is($scorer->query_safe($scores), '1,2,3', 'three models scored');
is($scorer->query_safe($compiled), 3, 'and compiled once each');

# Changes to another model's rows, and to none.
$node->safe_psql('postgres', $_) for (
    q{SELECT ai_scale.register_model('other', 'linear', ARRAY['a'], '{"weights": [8]}')},
    q{SELECT ai_scale.set_active_version('other', 1)},
    q{SELECT ai_scale.drop_model('other', 2)},
    q{VACUUM FREEZE ai_scale.models});
is($scorer->query_safe($scores), '1,2,3', 'scores unchanged after changes to another model');
is($scorer->query_safe($compiled), 3, 'and none compiled again');

# A new version of m2, and a direct UPDATE of m1's params: those two, and only those, compile.
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m2', 'linear', ARRAY['a'], '{"weights": [20]}');
UPDATE ai_scale.models SET params = '{"weights": [10]}' WHERE model_name = 'm1';});
is($scorer->query_safe($scores), '10,20,3', 'the new version and the updated row are scored');
is($scorer->query_safe($compiled), 5, 'the two changed models compiled again, not the third');

# A dropped model's row gone, its place in the table taken by another model's row of the same
# name and number (dropped, vacuumed, inserted again, frozen): never the model compiled before.
$node->safe_psql('postgres', q{SELECT ai_scale.drop_model('m3')});
$scorer->query(q{SELECT ai_scale.score('m3', '{"a": 1}')});
like($scorer->{stderr}, qr/model "m3" does not exist/, 'a dropped model does not score');
$scorer->{stderr} = '';
# VACUUM leaves free places in the table, the lowest of which the next row written takes.
$node->safe_psql('postgres', q{VACUUM ai_scale.models});
$node->safe_psql('postgres', q{SELECT ai_scale.register_model('m3', 'linear', ARRAY['a'], '{"weights": [33]}')});
is($scorer->query_safe(q{SELECT ai_scale.score('m3', '{"a": 1}')}), 33, 'm3 registered again scores its new version');
my $place = q{SELECT ctid FROM ai_scale.models WHERE model_name = 'm3'};
my $before = $node->safe_psql('postgres', $place);
$node->safe_psql('postgres', q{
DELETE FROM ai_scale.models WHERE model_name = 'm3';
VACUUM ai_scale.models;
INSERT INTO ai_scale.models (model_name, model_version, kind, features, params, active)
    VALUES ('m3', 2, 'linear', ARRAY['a'], '{"weights": [44]}', true);
VACUUM FREEZE ai_scale.models;});
is($node->safe_psql('postgres', $place), $before, 'the new row took the old one\'s place');
is($scorer->query_safe(q{SELECT ai_scale.score('m3', '{"a": 1}')}), 44,
    'a row of the same name and version that took the dropped row\'s place is compiled anew');

$scorer->quit;
$node->stop;
done_testing();
