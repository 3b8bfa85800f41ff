# register_model looks for earlier versions of a name in every store a setting names, and reads
# a store as its owner (a security-restricted operation) where it has the owner's rights, as a
# superuser always has: planning its query folds the constant parts of the store's index
# expressions, code of the owner's, which ran as the registering superuser (an owner's
# ALTER ROLE ... SUPERUSER). Control: a superuser's own query on the store runs that code as
# the superuser (docs/cache.md, Security: the owner is trusted by every role reading it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_read_as_owner');
$node->safe_psql('postgres', q{
CREATE ROLE store_owner;
CREATE ROLE app;
ALTER ROLE app SET ai_scale.store_table = 'public.app_store';
GRANT CREATE ON SCHEMA public TO store_owner;
CREATE FUNCTION public.owner_code() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'owner code ran as %', current_user;
    RETURN 0;
END $$;
SET ROLE store_owner;
CREATE TABLE public.app_store (prediction_id uuid, model_name text, model_version int,
                               input_data jsonb, output_data jsonb, input_hash bigint,
                               created_at timestamptz);
INSERT INTO public.app_store (model_name, model_version) VALUES ('m', 7);
CREATE INDEX ON public.app_store ((model_version + public.owner_code()));
RESET ROLE;});

# A new session (its relation cache loads the index's expressions afresh), as the superuser.
my ($ret, $out, $err) = $node->psql('postgres',
    q{SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [1]}')});
is($out, '8', 'the version after the one in the store app reads');
like($err, qr/WARNING:  owner code ran as store_owner/, 'the store\'s index code ran as its owner');
unlike($err, qr/owner code ran as postgres/, '... not as the registering superuser');

($ret, $out, $err) = $node->psql('postgres',
    q{SELECT count(*) FROM public.app_store WHERE model_name = 'm'});
like($err, qr/WARNING:  owner code ran as postgres/,
    'control: a query of the superuser\'s own runs it as the superuser');

# A store named in another session's temporary schema (a role's setting naming pg_temp_N.preds,
# while that session lives) is not looked in: reading it fails with 0A000 ("cannot access
# temporary tables of other sessions"), which failed every first registration of a model in the
# database, by any role, as long as the setting stayed. (A temporary table with no row reads no
# buffer and does not fail: the holder's has one.)
my $holder = $node->background_psql('postgres');
$holder->query_safe(q{CREATE TEMP TABLE preds (model_name text, model_version int);
INSERT INTO preds VALUES ('t', 3);});
chomp(my $temp_schema = $holder->query_safe('SELECT pg_my_temp_schema()::regnamespace'));
$node->safe_psql('postgres', qq{CREATE ROLE temp_app;
ALTER ROLE temp_app SET ai_scale.store_table = '$temp_schema.preds';});
($ret, $out, $err) = $node->psql('postgres',
    q{SELECT ai_scale.register_model('t', 'linear', ARRAY['a'], '{"weights": [1]}')});
is($out, '1', 'a store in another session\'s temporary schema is not looked in')
  or diag $err;
$holder->quit;
$node->safe_psql('postgres', 'DROP ROLE temp_app');

$node->stop;
done_testing();
