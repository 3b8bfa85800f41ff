# A transaction that has read the whole table holds its parent, whose lock (ACCESS EXCLUSIVE)
# every drop of a partition takes. Were each drop to wait for it (ai_scale.maintenance_lock_timeout)
# and give up, new queries of the table would queue behind each of those waits in turn (five
# drops, five waits here; twenty, a second at 50 ms). The worker's retention waits twice: the
# first drop gives up on a lock its statement does not name; the second takes
# the parent's lock (and the default's) before its statement, gives up on it, and one row counts
# the others, not tried; the next run after the reader is gone drops them all (probe s50f F4).
# A reader of one old partition alone still stops that partition's drop only
# (specs/maintenance_retention_wait.spec).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('retention_parent_busy', maintenance_lock_timeout => '300ms');
$node->safe_psql('postgres', q{
CREATE TABLE r (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE r_old1 PARTITION OF r FOR VALUES FROM (now() - interval '44 days') TO (now() - interval '43 days');
CREATE TABLE r_old2 PARTITION OF r FOR VALUES FROM (now() - interval '43 days') TO (now() - interval '42 days');
CREATE TABLE r_old3 PARTITION OF r FOR VALUES FROM (now() - interval '42 days') TO (now() - interval '41 days');
CREATE TABLE r_old4 PARTITION OF r FOR VALUES FROM (now() - interval '41 days') TO (now() - interval '40 days');
CREATE TABLE r_old5 PARTITION OF r FOR VALUES FROM (now() - interval '40 days') TO (now() - interval '39 days');
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 1, time_zone => 'UTC');});
my $old = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'r'::regclass
    AND inhrelid::regclass::text ~ '^r_old'};
is($node->safe_psql('postgres', $old), '5', 'five old partitions');

# The reader holds the table (and so its parent) from before the retention is set.
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM r;');
my $offset = -s $node->logfile;
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'r'::regclass});
my $run = one_worker_run($node, qr/${worker_line}skipped public\.r public\.r_old1\n/, $offset);
my $waits = () = $run =~ /canceling statement due to lock timeout/g;
is($waits, 2, 'one run waited twice, not once per partition to drop');
like($run,
    qr/DETAIL:  drop public\.r_old1: canceling statement due to lock timeout; lock on public\.r held by pid \d+ \(transaction open [\d.]+ s\); retried on the next run\n/,
    '... its first drop saying what held it');
like($run,
    qr/DETAIL:  drop public\.r_old2: canceling statement due to lock timeout; lock on public\.r held by pid \d+ \(transaction open [\d.]+ s\); retried on the next run\n/,
    '... and its second');
like($run,
    qr/skipped public\.r\n.*DETAIL:  3 more partitions to drop not tried after the lock wait above: each needs the lock on public\.r that was not free; retried on the next run\n/,
    '... and one row counting the others, not tried');
unlike($run, qr/drop public\.r_old[345]:/, '... none of which has a row of its own');
is($node->safe_psql('postgres', $old), '5', 'nothing dropped while the reader holds the table');

$reader->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT ($old) = 0"),
    'once the reader is gone, the next run drops them all');
$reader->quit;

$node->stop;
done_testing();
