# A table pg_partman maintains is refused by manage_partitions: managed by both, each made the
# partitions of the same days under names of its own, and pg_partman's run_maintenance() then
# failed on the first one ai_scale had made ("would overlap partition"), which failed its run
# for every table it maintains in the database. With pg_partman's automatic maintenance of the
# table turned off (its way of letting go of a table), the table is taken. Skipped where
# pg_partman is not installed (scripts/setup.sh installs it, so CI runs this test).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('beside_pg_partman');
plan skip_all => 'pg_partman is not installed'
  unless -f $node->config_data('--sharedir') . '/extension/pg_partman.control';
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE TABLE public.events (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
SELECT partman.create_parent('public.events', 'created_at', 'native', 'daily', p_premake := 3);
CREATE TABLE public.other (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
SELECT partman.create_parent('public.other', 'created_at', 'native', 'daily', p_premake := 3);
INSERT INTO public.events VALUES (1, now());
INSERT INTO public.other VALUES (1, now());});

my ($ret, $out, $err) = $node->psql('postgres', q{
\set VERBOSITY verbose
SELECT count(*) FROM ai_scale.manage_partitions('public.events', '1 day', premake => 7);});
isnt($ret, 0, 'manage_partitions refuses a table pg_partman maintains');
like($err, qr/ERROR:  55000: table public\.events is maintained by pg_partman/,
    '... with 55000, naming the table');
like($err,
    qr/HINT:  Stop pg_partman maintaining it first: UPDATE partman\.part_config SET automatic_maintenance = 'off' WHERE parent_table = 'public\.events';/,
    '... and a hint that says how pg_partman lets go of it');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ai_scale.partition_config'),
    '0', 'the table is not managed');

# pg_partman's maintenance of every table still runs: it makes the partitions a larger premake
# asks for, of both tables.
($ret, $out, $err) = $node->psql('postgres', q{
UPDATE partman.part_config SET premake = 9;
SELECT partman.run_maintenance();
SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.other'::regclass;});
is($ret, 0, "pg_partman's run_maintenance() still succeeds") or diag($err);
like($out, qr/^14$/m, '... and makes the partitions of its other table');

# Let go of by pg_partman, the table is taken: only the days its partitions do not cover yet
# are made, from the end of pg_partman's last (events_pYYYY_MM_DD) to premake days ahead.
# (Not counted: three on the day pg_partman ran, four after a midnight between the two.)
$node->safe_psql('postgres', q{
UPDATE partman.part_config SET automatic_maintenance = 'off' WHERE parent_table = 'public.events';});
is( $node->safe_psql('postgres', q{
SELECT count(*) > 0 FROM ai_scale.manage_partitions('public.events', '1 day', premake => 12)
WHERE action = 'created';
SELECT min(lower::timestamptz) FILTER (WHERE partition::text !~ '_p\d')
       = max(upper::timestamptz) FILTER (WHERE partition::text ~ '_p\d')
   AND max(upper::timestamptz) > now() + interval '12 days'
  FROM ai_scale.partitions('public.events');}),
    "t\nt", 'with its automatic maintenance off, manage_partitions takes the table');

# A role that may not read part_config (pg_partman grants it to no one) manages its own tables
# as before: the check is skipped, not a permission error.
$node->safe_psql('postgres', q{
CREATE ROLE table_owner LOGIN;
CREATE SCHEMA owned AUTHORIZATION table_owner;
GRANT USAGE ON SCHEMA partman TO table_owner;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO table_owner;});
($ret, $out, $err) = $node->psql('postgres', q{
CREATE TABLE owned.t (created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
SELECT count(*) FROM ai_scale.manage_partitions('owned.t', '1 day', premake => 1);},
    extra_params => [ '-U', 'table_owner' ]);
is($ret, 0, 'a role that may not read part_config still manages its tables') or diag($err);

$node->stop;
done_testing();
