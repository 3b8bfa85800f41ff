# A partition the worker detaches concurrently to drop it is dropped even when the drop does
# not follow the detach at once: here a view uses the table, so the worker's DROP fails after
# the detach committed (a crash between the two leaves the same). The table is marked before
# the detach, and later runs drop it once it can go; before, it stayed for good, a plain table
# no run looked at.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_owed_drop');
# No default partition (the worker detaches concurrently only then), an old partition with a
# row that a view uses, and no retention yet.
$node->safe_psql('postgres', old_partition_table('r') . q{
CREATE VIEW v_old AS SELECT * FROM r_old;});

$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});
ok($node->wait_for_log(qr/${worker_line}detached public\.r public\.r_old/),
    'the worker detaches the partition retention chose');
ok($node->wait_for_log(qr/cannot drop table public\.r_old because other objects depend on it/),
    'its drop fails: a view uses the table');
is($node->safe_psql('postgres',
        q{SELECT relispartition FROM pg_class WHERE oid = to_regclass('public.r_old')}),
    'f', 'the table stays, detached');

# Once the view is gone, a later run drops it.
$node->safe_psql('postgres', 'DROP VIEW v_old');
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.r_old') IS NULL}),
    'a later run of the worker drops the detached table');
ok($node->wait_for_log(qr/${worker_line}dropped public\.r public\.r_old/),
    '... and says so');

# A table whose retention changed after such a detach is kept, unmarked, as the worker keeps
# one whose retention changed during its detach: the retention that chose it no longer holds.
$node->safe_psql('postgres', old_partition_table('s') . q{
CREATE VIEW v_s_old AS SELECT * FROM s_old;
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 's'::regclass;});
ok($node->wait_for_log(qr/cannot drop table public\.s_old because other objects depend on it/),
    'a second table: its drop fails too');
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 's'::regclass;
DROP VIEW v_s_old;});
ok($node->wait_for_log(qr/kept, as the retention settings changed/),
    'with its retention lengthened, a later run keeps it');
is($node->safe_psql('postgres',
        q{SELECT count(*) || ' ' || (obj_description('public.s_old'::regclass, 'pg_class') IS NULL)
          FROM public.s_old}),
    '1 true', '... with its row, unmarked');

$node->stop;
done_testing();
