# The worker drops a table it detached concurrently only while the retention that chose it
# still holds. It compared the settings it read after the table's maintenance returned, not the
# ones that maintenance decided with: retention lengthened while that maintenance waited (here
# for a lock on the partition, to mark it) was taken as the one that chose the table, and a
# partition the new retention keeps was dropped. The mark on the table names the retention
# that chose it (see _owed_drop_note); the worker now compares that.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_owed_drop_retention_race', maintenance_lock_timeout => 600000);
# No default partition (the worker detaches concurrently only then), an old partition with a
# row, and no retention yet.
$node->safe_psql('postgres', old_partition_table('r'));

# A session holds the partition: the run that chooses it waits to mark it.
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN; LOCK TABLE r_old IN SHARE UPDATE EXCLUSIVE MODE;');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 1 FROM pg_locks
          WHERE relation = 'r_old'::regclass AND NOT granted}),
    'the worker waits to mark the partition retention chose');
# Retention is lengthened meanwhile: the partition is no longer past it.
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'r'::regclass});
$holder->query_safe('COMMIT;');
$holder->quit;
ok($node->wait_for_log(
        qr/${worker_line}(dropped public\.r public\.r_old|kept detached table public\.r_old|left partition public\.r_old of public\.r attached)/),
    'the worker decides on the partition');
is($node->safe_psql('postgres',
        q{SELECT CASE WHEN to_regclass('public.r_old') IS NULL THEN 'dropped'
                      ELSE (SELECT count(*)::text FROM public.r_old) END}), '1',
    'the table is kept, with its row: the retention that chose it changed');
# Left attached since TAP 147 (the detach, not begun, is no longer wanted); its next run takes
# the mark away.
ok($node->poll_query_until('postgres',
        q{SELECT obj_description(to_regclass('public.r_old'), 'pg_class') IS NULL}),
    '... without the mark');

$node->stop;
done_testing();
