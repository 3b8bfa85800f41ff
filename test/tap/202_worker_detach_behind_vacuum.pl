# The worker's DETACH ... CONCURRENTLY (a table without a default partition) runs without a lock
# timeout, so that its wait for older transactions is never cut short. Its first locks, SHARE
# UPDATE EXCLUSIVE on the parent and the partition, were waited for the same way: behind a
# VACUUM of the partition (an anti-wraparound one never yields) the worker stopped for as long
# as it ran, holding the parent's lock and an xmin, and detached nothing of the tables after it.
# Those locks are now taken first, each within ai_scale.maintenance_lock_timeout: when one is
# not free the detach is skipped (a LOG) and tried again at the next run. A session holding the
# partition's SHARE UPDATE EXCLUSIVE lock stands in for the VACUUM.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_behind_vacuum', maintenance_naptime => 3600);
my $attached = q{SELECT relispartition FROM pg_class WHERE relname = '%s'};

# a (the lower OID) is detached first in a run; both keep their old partition when detached.
$node->safe_psql('postgres', old_partition_table('a') . old_partition_table('b'));
my $vacuum = $node->background_psql('postgres');
$vacuum->query_safe('BEGIN; LOCK TABLE a_old IN SHARE UPDATE EXCLUSIVE MODE;');
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent IN ('a'::regclass, 'b'::regclass);});
$node->reload;
ok($node->wait_for_log(
        qr/${worker_line}skipped detach of public\.a public\.a_old: a lock was not free within ai_scale\.maintenance_lock_timeout/),
    'the worker skips the detach whose partition another session holds');
ok($node->poll_query_until('postgres', sprintf($attached, 'b_old'), 'f'),
    'and detaches the next table\'s partition');
is($node->safe_psql('postgres', sprintf($attached, 'a_old')), 't', 'a_old is still attached');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s USING (pid)
 WHERE s.backend_type = 'ai_scale maintenance' AND l.relation = 'a'::regclass}), '0',
    'the worker holds no lock on the parent between runs');

$vacuum->query_safe('COMMIT');
$node->reload; # a run now
ok($node->poll_query_until('postgres', sprintf($attached, 'a_old'), 'f'),
    'once the lock is free, the next run detaches it');
$vacuum->quit;

$node->stop;
done_testing();
