# The worker's own path for a foreign partition past retention (a table without a default
# partition, so a concurrent detach): the partition is marked (COMMENT ON FOREIGN TABLE, which
# COMMENT ON TABLE refuses), detached and dropped with DROP FOREIGN TABLE, its rows left on the
# foreign server. One whose drop fails after the detach (a view uses it) is dropped by a later
# run once it can go. Before, the mark failed every run, and the partition stayed attached.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_foreign_retention');
# A wrapper without a handler: nothing may read the foreign tables.
$node->safe_psql('postgres', q{
CREATE FOREIGN DATA WRAPPER wfr_fdw;
CREATE SERVER wfr_server FOREIGN DATA WRAPPER wfr_fdw;
CREATE TABLE f (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE FOREIGN TABLE f_a PARTITION OF f FOR VALUES FROM (now()::date - 10) TO (now()::date - 9)
    SERVER wfr_server;
CREATE FOREIGN TABLE f_b PARTITION OF f FOR VALUES FROM (now()::date - 9) TO (now()::date - 8)
    SERVER wfr_server;
CREATE VIEW v_b AS SELECT * FROM f_b;
SELECT count(*) FROM ai_scale.manage_partitions('f', '1 day', 2);
DROP TABLE f_default;
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'f'::regclass;});

ok($node->wait_for_log(qr/${worker_line}dropped public\.f public\.f_a\n.*DETAIL:  A foreign table: its rows stay on the foreign server\./),
    'the worker detaches a foreign partition and drops it, and says where its rows are');
ok($node->wait_for_log(qr/cannot drop foreign table public\.f_b because other objects depend on it/),
    'the drop of one a view uses fails after its detach');
is($node->safe_psql('postgres',
        q{SELECT relispartition FROM pg_class WHERE oid = to_regclass('public.f_b')}),
    'f', 'it stays, detached');

$node->safe_psql('postgres', 'DROP VIEW v_b');
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.f_b') IS NULL}),
    'once the view is gone, a later run drops it');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_foreign_server WHERE srvname = 'wfr_server'}),
    '1', 'the server stays');

$node->stop;
done_testing();
