# The maintenance worker detaches a partition that retention chose with DETACH ... CONCURRENTLY,
# which waits for older transactions on the table, then drops it. When the table's retention is
# taken away, or the table unmanaged, while it waits, the detached table is kept: the worker
# must not drop data that a committed change said to keep.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_retention_change');
# No default partition (the worker detaches concurrently only then), an old partition with a
# row, and no retention yet.
$node->safe_psql('postgres', old_partition_table('r'));

# An older transaction on the table makes the concurrent detach wait.
my $reader = hold_worker_detach($node, 'r');
$node->safe_psql('postgres', q{SELECT ai_scale.unmanage_partitions('r')});
$reader->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}kept detached table public\.r_old of public\.r/),
    'the worker keeps the detached table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM r_old'), '1', 'with its row');

$reader->quit;
$node->stop;
done_testing();
