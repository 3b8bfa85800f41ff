# The worker detaches a partition retention drops with DETACH ... CONCURRENTLY, which waits for
# every older transaction on the table, then drops the detached table if it is still owed its
# drop. DROP EXTENSION ai_scale during that wait made the check fail ("function
# ai_scale._owed_drop_due does not exist", logged as a failed maintenance) and left the table
# marked. Nothing manages the table any more: the detached table is now kept, unmarked, as
# when its retention changes during the detach.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_extension_dropped');
$node->safe_psql('postgres', old_partition_table('r'));
my $reader = hold_worker_detach($node, 'r');
$node->safe_psql('postgres', 'DROP EXTENSION ai_scale');
$reader->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}(kept detached table|dropped) |${\ worker_failed('public\.r')}/),
    'the worker finishes the detach');
like(slurp_file($node->logfile), qr/${worker_line}kept detached table public\.r_old of public\.r/,
    'and keeps the detached table');
is($node->safe_psql('postgres', q{
SELECT relispartition, obj_description(oid, 'pg_class') IS NULL FROM pg_class
 WHERE relname = 'r_old'}), 'f|t', 'r_old is a plain table without the mark');
is($node->safe_psql('postgres', 'SELECT v FROM r_old'), '1', 'with its row');
ok(!$node->log_contains(worker_failed('public\.r')), 'nothing failed');
$reader->quit;
$node->stop;
done_testing();
