# A DBA's DETACH PARTITION ... CONCURRENTLY cancelled while it waits for older queries leaves the
# partition pending detach: new queries no longer see it, and a row of its range finds no
# partition (the table has no default: Postgres refuses a concurrent detach beside one), though
# its bounds are still in the catalog. partitions() says so (tier 'detach pending'); it showed
# the partition as an ordinary hot one, hiding why inserts into that range failed, until the
# worker's FINALIZE (or the DBA's) completed the detach.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('partition_detach_pending_shown');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 2, time_zone => 'UTC');
DROP TABLE t_default;});
my $tiers = q{
SELECT string_agg(p.tier, ',' ORDER BY p.lower)
  FROM ai_scale.partitions('t') p};
is($node->safe_psql('postgres', $tiers), 'hot,hot,hot', 'three hot partitions');

# The detach of tomorrow's partition waits for a reader's transaction, and is cancelled.
my $tomorrow = $node->safe_psql('postgres', q{
SELECT p.partition FROM ai_scale.partitions('t') p ORDER BY p.lower OFFSET 1 LIMIT 1});
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM t;');
my ($rc, $out, $err) = $node->psql('postgres', qq{
SET statement_timeout = '1s';
ALTER TABLE t DETACH PARTITION $tomorrow CONCURRENTLY;});
like($err, qr/canceling statement due to statement timeout/, 'the concurrent detach is cancelled');
$reader->query_safe('COMMIT');
is($node->safe_psql('postgres', q{
SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 't'::regclass AND inhdetachpending}),
    $tomorrow, 'and leaves the partition pending detach');
($rc, $out, $err) = $node->psql('postgres', q{
INSERT INTO t VALUES (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day 1 hour', 1)});
like($err, qr/no partition of relation "t" found for row/, 'a row of its range finds no partition');

is($node->safe_psql('postgres', $tiers), 'hot,detach pending,hot',
    'partitions() shows that partition as pending detach');
is($node->safe_psql('postgres', qq{
SELECT p.lower || ' ' || p.upper FROM ai_scale.partitions('t') p WHERE p.partition = '$tomorrow'::regclass}),
    $node->safe_psql('postgres', qq{
SELECT to_char(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYY-MM-DD HH24:MI:SS+00')
    || ' ' || to_char(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '2 days', 'YYYY-MM-DD HH24:MI:SS+00')}),
    'with its bounds');

$node->safe_psql('postgres', "ALTER TABLE t DETACH PARTITION $tomorrow FINALIZE");
is($node->safe_psql('postgres', $tiers), 'hot,hot', 'once finalized it is no longer listed');

$reader->quit;
$node->stop;
done_testing();
