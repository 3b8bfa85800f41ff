# register_model looks for earlier versions of a name in the server's own stores too when the
# session's setting names another: the store postgresql.conf names (pg_file_settings, read by a
# superuser or a role granted both rights on it) and the setting's built-in default (its boot
# value), which a session whose role (or database) has a setting of its own sees in no setting.
# Registered by such a session after DROP EXTENSION and CREATE EXTENSION (the registry gone, the
# stores kept), a model got a version the outputs of a dropped model already had in those
# stores: the versions of the store its role names alone were looked at.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# postgresql.conf names public.conf_store; the built-in default is public.model_predictions (the
# store store_node makes).
my $node = store_node('server_stores', store_table => 'public.conf_store');
$node->safe_psql('postgres', q{
CREATE TABLE public.conf_store (model_name text, model_version int);
CREATE TABLE public.app_store (model_name text, model_version int);
-- The outputs of models of the installation dropped below.
INSERT INTO public.conf_store VALUES ('in_conf', 5);
INSERT INTO public.model_predictions
    (model_name, model_version, input_data, output_data, input_hash)
VALUES ('in_default', 9, '{"a": 1}', '{"v": 1}', ai_scale.input_hash('{"a": 1}'));
INSERT INTO public.app_store VALUES ('in_app', 2);
-- A superuser: register_model reads pg_file_settings for a role with the rights to (as
-- _store_last_version asks), and a superuser has them.
CREATE ROLE app LOGIN SUPERUSER;
ALTER ROLE app SET ai_scale.store_table = 'public.app_store';
DROP EXTENSION ai_scale;
CREATE EXTENSION ai_scale;});
is($node->safe_psql('postgres', 'SHOW ai_scale.store_table', extra_params => [ '-U', 'app' ]),
    'public.app_store', 'app\'s sessions name their own store');

sub registered_by_app {
    my ($model) = @_;
    return $node->safe_psql('postgres',
        qq{SELECT ai_scale.register_model('$model', 'linear', ARRAY['a'], '{"weights": [1]}')},
        extra_params => [ '-U', 'app' ]);
}
is(registered_by_app('in_app'), '3', 'past the version in app\'s own store');
is(registered_by_app('in_conf'), '6', 'past the version in the store postgresql.conf names');
is(registered_by_app('in_default'), '10', 'past the version in the default store');

$node->stop;
done_testing();
