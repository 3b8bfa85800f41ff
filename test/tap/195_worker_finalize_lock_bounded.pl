# The worker's DETACH ... FINALIZE of a partition left pending detach waits for its locks no
# longer than ai_scale.maintenance_lock_timeout, as its concurrent detaches do: it takes the
# partition's ACCESS EXCLUSIVE lock first, under that timeout, and skips the step (and logs who
# held the lock) when it is not free. Taken weaker, the statement itself waited for it with no
# timeout, and new readers of the partition queued behind the worker. Meanwhile the table's
# other detaches wait for the next run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_finalize_lock_bounded');
$node->safe_psql('postgres', old_partition_table('f'));

# A reader holds the table; the worker's concurrent detach of the partition retention chose
# waits for it, and is stopped there: the partition stays pending detach, and the reader still
# holds it.
my $reader = hold_worker_detach($node, 'f');
my $reader_pid = $reader->query_safe('SELECT pg_backend_pid()');
my $offset = -s $node->logfile;
stop_worker_mid_detach($node, 'f');

# The worker comes back and skips the finalize while the reader holds the partition.
ok( $node->wait_for_log(
        qr/${worker_line}skipped detach of public\.f public\.f_old: a lock was not free within ai_scale\.maintenance_lock_timeout; lock on public\.f_old held by pid $reader_pid/,
        $offset),
    'the finalize is skipped while a reader holds the partition, naming it');
$offset = -s $node->logfile;
ok( $node->wait_for_log(qr/${worker_line}skipped detach of public\.f public\.f_old/, $offset),
    '... at the next run too: the worker is not left waiting for the lock');

# An older partition attached meanwhile, which retention chooses too: its concurrent detach
# waits for the next run, as Postgres refuses one while a partition of the table is still
# pending detach (tried, it failed the table's maintenance at every run).
my $attached_at = -s $node->logfile;
$node->safe_psql('postgres', q{
CREATE TABLE f_older (LIKE f);
ALTER TABLE f ATTACH PARTITION f_older FOR VALUES FROM (now()::date - 12) TO (now()::date - 11);});
ok( $node->wait_for_log(
        qr/${worker_line}left the other detaches of public\.f for the next run: partition public\.f_old is still pending detach/,
        $attached_at),
    'the detach of another partition is left for the next run');

# The reader gone, the finalize is done.
$reader->quit;
ok($node->wait_for_log(qr/${worker_line}finalized detach of public\.f public\.f_old/, $offset),
    'the worker finalizes the detach once the reader is gone');
ok(!$node->log_contains(worker_failed('public\.f'), $attached_at),
    "the table's maintenance failed at none of those runs");

$node->stop;
done_testing();
