# A partition marked to be dropped (see _owed_drop_note) whose concurrent detach is interrupted,
# and which retention no longer chooses by the next run, is detached by the worker with
# DETACH ... FINALIZE and kept. It must lose the mark: before, it kept it, and the run after
# the finalize dropped the table it had just kept.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_owed_drop_finalize_keep');
# No default partition (the worker detaches concurrently only then), an old partition with a
# row, and no retention yet.
$node->safe_psql('postgres', old_partition_table('r'));

# An older reader holds the table: the worker's detach of the partition retention chose waits.
my $reader = hold_worker_detach($node, 'r');
# Retention is lengthened, and the worker stopped in its wait: the partition stays pending
# detach, marked.
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'r'::regclass});
my $offset = -s $node->logfile;
stop_worker_mid_detach($node, 'r');
$reader->quit;

# The worker comes back, finalizes the detach and keeps the table: retention no longer chose it.
ok($node->wait_for_log(qr/${worker_line}finalized detach of public\.r public\.r_old/,
        $offset),
    'the worker finalizes the detach');
# Two more runs after the finalize.
ok(maintenance_runs_reach($node, maintenance_runs($node) + 2), 'the worker runs again');
is($node->safe_psql('postgres',
        q{SELECT relispartition FROM pg_class WHERE oid = to_regclass('public.r_old')}),
    'f', 'the detached table is kept');
is($node->safe_psql('postgres', q{SELECT obj_description('r_old'::regclass, 'pg_class')}),
    '', '... without the mark');
is($node->safe_psql('postgres', 'SELECT count(*) FROM r_old'), '1', '... with its row');

$node->stop;
done_testing();
