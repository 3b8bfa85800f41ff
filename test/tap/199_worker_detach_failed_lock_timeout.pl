# A concurrent detach that fails after its first commit (here the partition is dropped while the
# statement waits for older transactions) leaves the worker's lock waits bounded by
# ai_scale.maintenance_lock_timeout again: the statement runs with lock_timeout 0 (it waits for
# those transactions as long as they last), and the abort that ends it puts back the value its
# first commit kept. The next detach of the run, of a partition a session holds, is then skipped
# within the timeout; at 0 the worker would wait for that session for as long as it lasted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# One run, on the reload below.
my $node = worker_node('worker_detach_failed_lock_timeout', maintenance_naptime => 3600);
# c is detached first (the lower OID), then d.
$node->safe_psql('postgres', old_partition_table('c') . old_partition_table('d'));

# A reader of c makes the worker's concurrent detach of c_old wait.
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM c;');
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent IN ('c'::regclass, 'd'::regclass);});
my $offset = -s $node->logfile;
$node->reload;
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query = 'ALTER TABLE public.c DETACH PARTITION public.c_old CONCURRENTLY'
   AND wait_event_type = 'Lock'}),
    'the worker waits to detach c_old');
# Meanwhile a session takes d_old in SHARE mode, which the detach of d_old, to come next, must
# wait for.
my $holder = $node->background_psql('postgres');
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder->query_safe('BEGIN; LOCK TABLE d_old IN SHARE MODE;');

# c_old is dropped meanwhile (the drop waits for the reader too, and goes first): the detach
# fails after its first commit.
drop_behind_reader($node, 'c', $reader);

# The detach of d_old is skipped within the timeout, naming the holder.
ok( $node->wait_for_log(
        qr/${worker_line}skipped detach of public\.d public\.d_old: a lock was not free within ai_scale\.maintenance_lock_timeout; lock on public\.d_old held by pid $holder_pid/,
        $offset),
    "after the failed detach, the next one gives up on a held partition within the timeout");
$holder->query_safe('COMMIT');

$_->quit for $reader, $holder;
$node->stop;
done_testing();
