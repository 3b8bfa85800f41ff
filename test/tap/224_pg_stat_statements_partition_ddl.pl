# What pg_stat_statements keeps of ai_scale with track = all (docs/partitioning.md, Background
# worker): clients' calls of ai_scale's functions in one entry per statement text, whatever the
# constants; partition DDL, a utility statement keyed by its text, in two new entries for each
# partition made; and none of the worker's DDL once pg_stat_statements.track_utility is off for
# the role it connects as, in its database, while its other statements are still counted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pgss_partition_ddl');
$node->init;
# ai_scale first here (TAP 223 has it last); the worker starts once its database is listed.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale, pg_stat_statements'
pg_stat_statements.track = all
compute_query_id = on
ai_scale.maintenance_role = 'maint'
ai_scale.maintenance_naptime = 1
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 2);
SELECT pg_stat_statements_reset();});

# Five calls of each function, each with other constants: one entry each, counted five times.
my $calls = join('', map { qq{
SELECT ai_scale.cache_put('m', 1, '{"a": $_}', '{"p": $_}');
SELECT ai_scale.cache_get('m', 1, '{"a": $_}');
SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"a": $_}'::jsonb]);
SELECT ai_scale.score('m', '{"a": $_}');
SELECT ai_scale.score_batch('m', ARRAY['{"a": $_}'::jsonb]);
SELECT count(*) FROM ai_scale.partitions('t');} } 1 .. 5);
$node->safe_psql('postgres', $calls);
is($node->safe_psql('postgres', q{
SELECT string_agg(format('%s|%s', query, calls), E'\n' ORDER BY query) FROM pg_stat_statements
 WHERE toplevel AND query LIKE 'SELECT %ai_scale.%'}),
    join("\n",
        'SELECT ai_scale.cache_get($1, $2, $3)|5',
        'SELECT ai_scale.cache_get_many($1, $2, ARRAY[$3::jsonb])|5',
        'SELECT ai_scale.cache_put($1, $2, $3, $4)|5',
        'SELECT ai_scale.score($1, $2)|5',
        'SELECT ai_scale.score_batch($1, ARRAY[$2::jsonb])|5',
        'SELECT count(*) FROM ai_scale.partitions($1)|5'),
    "clients' calls: one entry per statement, its constants normalized, counted each time");

# Ten partitions made by run_maintenance() (eleven when a midnight passed since the first
# ones): two new entries each, each naming its partition.
my $made = $node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET premake = 12;
SELECT count(*) FROM ai_scale.run_maintenance('t') WHERE action = 'created';});
cmp_ok($made, '>=', 10, 'run_maintenance() makes the partitions premake asks for');
my $ddl = q{SELECT count(*) FROM pg_stat_statements
             WHERE calls = 1 AND (query LIKE 'CREATE TABLE public.t\_2%'
                               OR query LIKE 'ALTER TABLE public.t ATTACH PARTITION public.t\_2%')};
is($node->safe_psql('postgres', $ddl), 2 * $made,
    'track = all: each partition made adds two entries');

# The worker, connecting as maint with utility tracking off in its database, makes eight more:
# its statements are counted, its DDL is not.
$node->safe_psql('postgres', q{
CREATE ROLE maint LOGIN SUPERUSER;
ALTER ROLE maint IN DATABASE postgres SET pg_stat_statements.track_utility = off;
UPDATE ai_scale.partition_config SET premake = 20;
ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres';
SELECT pg_reload_conf();});
ok( $node->poll_query_until('postgres', q{
SELECT EXISTS (SELECT FROM ai_scale.partitions('t') WHERE upper::timestamptz > now() + interval '20 days')}),
    'the worker makes the partitions premake asks for');
is($node->safe_psql('postgres', $ddl), 2 * $made, '... with no entry for its DDL');
ok($node->poll_query_until('postgres', q{
SELECT EXISTS (SELECT FROM pg_stat_statements
                WHERE userid = 'maint'::regrole AND toplevel
                  AND query LIKE '%ai\_scale.\_run\_maintenance(c.parent, %')}),
    '... while its maintenance runs are counted, under the role it connects as');

$node->stop;
done_testing();
