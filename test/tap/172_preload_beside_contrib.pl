# ai_scale preloaded beside pg_stat_statements and auto_explain (contrib), first and last in
# shared_preload_libraries: each hook ai_scale installs (shmem_request, shmem_startup,
# ProcessUtility) calls the one before it, so both extensions' shared memory is there and
# pg_stat_statements still counts statements (utility ones too, through ProcessUtility) while
# auto_explain logs plans; and ai_scale's own functions, its L1 cache and its maintenance worker
# work with auto_explain explaining and analyzing every nested statement and
# pg_stat_statements tracking them all. And what pg_stat_statements keeps of the statement that
# sets ai_scale.redis_password (docs/cache.md).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

for my $order ('ai_scale,pg_stat_statements,auto_explain',
    'pg_stat_statements,auto_explain,ai_scale')
{
    my $node = PostgreSQL::Test::Cluster->new($order =~ /^ai_scale/ ? 'first' : 'last');
    $node->init;
    $node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$order'
pg_stat_statements.track = all
auto_explain.log_min_duration = 0
auto_explain.log_nested_statements = on
auto_explain.log_analyze = on
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
});
    $node->start;
    $node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);});

    my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'managed', count(*) FROM ai_scale.manage_partitions('t', '1 day', 2);
SELECT ai_scale.cache_put('neighbours', 1, '{"a": 1}', '{"p": 1}');
SELECT 'hit', ai_scale.cache_get('neighbours', 1, '{"a": 1}');
SELECT 'l1', value FROM ai_scale.stats WHERE section = 'l1' AND metric = 'hits';
CREATE DATABASE other;
DROP DATABASE other;
SELECT 'counted', query, calls FROM pg_stat_statements
 WHERE query IN ('CREATE DATABASE other', 'DROP DATABASE other')
    OR query LIKE 'SELECT * FROM ai_scale._run_maintenance(%'
 ORDER BY query;});
    is($ret, 0, "$order: ai_scale's functions work") or diag($err);
    like($out, qr/^managed\|3$/m, "$order: manage_partitions makes the partitions");
    like($out, qr/^hit\|\{"p": 1\}$/m, "$order: the L1 cache answers");
    like($out, qr/^l1\|1$/m, "$order: ai_scale.stats counts the hit");
    like($out, qr/^counted\|CREATE DATABASE other\|1$/m,
        "$order: pg_stat_statements counts a utility statement");
    like($out, qr/^counted\|DROP DATABASE other\|1$/m,
        "$order: ... and one that ai_scale's ProcessUtility hook acts on");
    like($out, qr/^counted\|SELECT \* FROM ai_scale\._run_maintenance\(.*\|1$/m,
        "$order: ... and a statement nested in an ai_scale function");
    ok($node->log_contains(qr/plan:\n\s*Query Text: SELECT \* FROM ai_scale\._run_maintenance\(/),
        "$order: auto_explain logs the plan of a nested statement");

    # The worker makes what a larger premake asks for, its statements explained as well.
    $node->safe_psql('postgres', 'UPDATE ai_scale.partition_config SET premake = 4');
    ok($node->poll_query_until('postgres', made_ahead(4)),
        "$order: the maintenance worker maintains the table");
    is($node->safe_psql('postgres',
            q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'}),
        '0', "$order: with no maintenance error");

    # pg_stat_statements keeps a utility statement as written, a password too, for members of
    # pg_read_all_stats to read (docs/cache.md); not with track_utility off in the session.
    $node->safe_psql('postgres', q{
CREATE ROLE monitor LOGIN IN ROLE pg_read_all_stats;
ALTER SYSTEM SET ai_scale.redis_password = 'kept-by-pgss';
SET pg_stat_statements.track_utility = off;
ALTER SYSTEM SET ai_scale.redis_password = 'not-kept';
RESET pg_stat_statements.track_utility;
ALTER SYSTEM RESET ai_scale.redis_password;});
    my $texts = $node->safe_psql('postgres',
        q{SELECT string_agg(query, ' ') FROM pg_stat_statements WHERE query LIKE 'ALTER SYSTEM%'},
        extra_params => [ '-U', 'monitor' ]);
    like($texts, qr/'kept-by-pgss'/,
        "$order: pg_stat_statements shows pg_read_all_stats the password ALTER SYSTEM set");
    unlike($texts, qr/not-kept/, "$order: ... but not one set with track_utility off");
    $node->stop;
}

done_testing();
