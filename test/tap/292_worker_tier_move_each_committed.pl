# The worker moves one partition to the cold tablespace a transaction. All of a run's moves were
# in one: each move holds its partition ACCESS EXCLUSIVE to the end of the transaction, so its
# readers waited for every move after it too, and a crash before the commit left a copy of every
# partition moved so far in the cold tablespace, which Postgres never removes. Here a reader
# holds the second partition due: while the worker waits for it, the first is already moved, and
# committed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('tier_each', maintenance_lock_timeout => '60s');
my $cold = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', qq{
CREATE TABLESPACE cold LOCATION '$cold';
CREATE TABLE m (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE m_40 PARTITION OF m FOR VALUES FROM (now() - interval '40 days') TO (now() - interval '39 days');
CREATE TABLE m_39 PARTITION OF m FOR VALUES FROM (now() - interval '39 days') TO (now() - interval '38 days');
CREATE TABLE m_38 PARTITION OF m FOR VALUES FROM (now() - interval '38 days') TO (now() - interval '37 days');
INSERT INTO m SELECT now() - interval '37 days 12 hours' - g * interval '1 day', i
  FROM generate_series(0, 2) g, generate_series(1, 100) i;
SELECT count(*) FROM ai_scale.manage_partitions('m', '1 day', 1, time_zone => 'UTC');});
my $where = q{SELECT string_agg(relname || ':' || CASE reltablespace WHEN 0 THEN 'hot' ELSE 'cold' END,
    ' ' ORDER BY relname) FROM pg_class WHERE relname ~ '^m_[0-9]{2}$'};
is($node->safe_psql('postgres', $where), 'm_38:hot m_39:hot m_40:hot', 'three old partitions, hot');

# A reader of m_39, the second due, holds it; then the table gets its cold tablespace.
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM m_39;');
$node->safe_psql('postgres', q{UPDATE ai_scale.partition_config
    SET cold_after = '7 days', cold_tablespace = 'cold' WHERE parent = 'm'::regclass});
ok($node->poll_query_until('postgres', q{SELECT EXISTS (SELECT 1 FROM pg_locks
    WHERE relation = 'm_39'::regclass AND NOT granted)}), 'the worker waits for m_39');
is($node->safe_psql('postgres', $where), 'm_38:hot m_39:hot m_40:cold',
    'm_40 is moved, and committed, while the worker waits for m_39');
$reader->quit;
ok($node->poll_query_until('postgres', "SELECT ($where) = 'm_38:cold m_39:cold m_40:cold'"),
    'the worker moves the others once m_39 is free');
is($node->safe_psql('postgres', 'SELECT count(*) FROM m'), '300', 'with every row');

# A move the worker cannot make (a reader holds the partition past the lock wait) is not tried
# again in the run's next transactions: each try waited for the lock, holding up the
# partition's new readers, and logged a row, up to 100 times a run.
$node->safe_psql('postgres', q{
ALTER SYSTEM SET ai_scale.maintenance_lock_timeout = '100ms';
SELECT pg_reload_conf();
UPDATE ai_scale.partition_config SET cold_after = NULL WHERE parent = 'm'::regclass;
CREATE TABLE m_60 PARTITION OF m FOR VALUES FROM (now() - interval '60 days') TO (now() - interval '59 days');
CREATE TABLE m_59 PARTITION OF m FOR VALUES FROM (now() - interval '59 days') TO (now() - interval '58 days');
CREATE TABLE m_58 PARTITION OF m FOR VALUES FROM (now() - interval '58 days') TO (now() - interval '57 days');});
$reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM m_60;');
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{UPDATE ai_scale.partition_config SET cold_after = '7 days'
    WHERE parent = 'm'::regclass});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM pg_class
    WHERE relname IN ('m_59', 'm_58') AND reltablespace <> 0}),
    'the worker moves the partitions after the one a reader holds');
my ($between) = slurp_file($node->logfile, $offset)
  =~ /moved_to_cold public\.m public\.m_59\n(.*?)moved_to_cold public\.m public\.m_58/s;
ok(defined $between, 'one run moved both, in two transactions');
unlike($between // '', qr/m_60/, 'without trying the held one again between the two');
$reader->quit;

$node->stop;
done_testing();
