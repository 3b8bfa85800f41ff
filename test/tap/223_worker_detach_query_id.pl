# The worker's DETACH ... CONCURRENTLY beside pg_stat_statements: the worker ran it with a
# statement it built itself, never parsed and analyzed as a client's is, so it had no query id
# (compute_query_id). pg_stat_statements, which keeps no statement without one, never counted
# it, whether it tracks top-level statements or all (the DROP TABLE after it was counted), and
# pg_stat_activity showed no query_id for it while it waited for older transactions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

for my $track ('top', 'all') {
    my $node = PostgreSQL::Test::Cluster->new("detach_query_id_$track");
    $node->init;
    $node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_stat_statements, ai_scale'
pg_stat_statements.track = $track
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
});
    $node->start;
    $node->safe_psql('postgres',
        'CREATE EXTENSION pg_stat_statements; CREATE EXTENSION ai_scale;' .
        old_partition_table('r'));

    # An older transaction on r holds the detach in its wait, where pg_stat_activity shows it.
    my $reader = $node->background_psql('postgres');
    $reader->query_safe('BEGIN; SELECT count(*) FROM r;');
    $node->safe_psql('postgres',
        q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});
    my $detach = q{query = 'ALTER TABLE public.r DETACH PARTITION public.r_old CONCURRENTLY'};
    ok($node->poll_query_until('postgres',
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE $detach AND wait_event_type = 'Lock'"),
        "track = $track: the worker waits to detach r_old");
    is($node->safe_psql('postgres',
            "SELECT query_id IS NOT NULL FROM pg_stat_activity WHERE $detach"),
        't', "track = $track: pg_stat_activity shows the detach's query id");
    $reader->query_safe('COMMIT');
    $reader->quit;
    ok($node->wait_for_log(qr/${worker_line}dropped public\.r public\.r_old/),
        "track = $track: the worker detaches and drops r_old");

    is($node->safe_psql('postgres', qq{
SELECT string_agg(format('%s|%s|%s', query, calls, toplevel), ' ' ORDER BY query)
  FROM pg_stat_statements
 WHERE query IN ('ALTER TABLE public.r DETACH PARTITION public.r_old CONCURRENTLY',
                 'DROP TABLE public.r_old')}),
        'ALTER TABLE public.r DETACH PARTITION public.r_old CONCURRENTLY|1|t ' .
        'DROP TABLE public.r_old|1|t',
        "track = $track: pg_stat_statements counts the detach once, top-level, as the drop");
    $node->stop;
}

done_testing();
