# The default partition detached while rescue_default (or a maintenance run) waits for it: the
# detached table is no longer the table's, and its rows stay in it. rescue_default found the
# default before its lock and, once the DETACH committed, moved the rows out of the detached
# table into new partitions of the table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rescue_detached');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
my $waiting = q{SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'relation' AND NOT granted};

my $ddl = $node->background_psql('postgres');
for my $call (q{ai_scale.rescue_default('rd', 1000)}, q{ai_scale.run_maintenance('rd')}) {
    $node->safe_psql('postgres', q{
DROP TABLE IF EXISTS rd, rd_default;
CREATE TABLE rd (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('rd', '1 day', 1, time_zone => 'UTC');
INSERT INTO rd SELECT g, now() - interval '20 days' + g * interval '1 hour' FROM generate_series(1, 100) g;});
    $ddl->query_safe('BEGIN; ALTER TABLE rd DETACH PARTITION rd_default;');
    my $run = $node->background_psql('postgres');
    $run->query_safe(q{SET ai_scale.maintenance_lock_timeout = '5min'});
    my $moved = $call =~ /rescue/ ? 'rows_moved' : q{substring(detail from 'moved (\d+) rows')::bigint};
    $run->query_until(qr/sent/,
        "\\echo sent\nSELECT 'moved:' || coalesce(sum($moved), 0) FROM $call;\n");
    ok($node->poll_query_until('postgres', $waiting), "$call waits for the DETACH");
    $ddl->query_safe('COMMIT');
    like($run->query_until(qr/moved:\d+/, ''), qr/moved:0/, "$call moves nothing");
    $run->quit;
    is( $node->safe_psql(
            'postgres', q{SELECT (SELECT count(*) FROM rd_default) || ' ' || (SELECT count(*) FROM rd)}),
        '100 0', "$call: the rows stay in the detached table");
}

$ddl->quit;
$node->stop;
done_testing();
