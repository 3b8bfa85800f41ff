# One row in the default partition that cannot move (it breaks a CHECK ... NOT VALID constraint
# of the table, or a foreign key) no longer stops premaking for good. The partitions a run makes
# shared one subtransaction: raising premake from 1 to 5 with such a row 3 days ahead made none
# of them, and every run (by hand or by the worker) gave one error row for the whole table,
# whose retention and rescue did not run either. Now the partitions whose ranges hold no row
# that cannot move are made (the default's movable rows moved into them), and each range whose
# rows cannot move gets an error row with its bounds and the error's SQLSTATE, retried (alone)
# at the next run; the row stays in the default, nothing is lost or duplicated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('premake_default_row_cannot_move');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
# Days are counted from the day the test began; a midnight during it makes a run make the new
# day's partition too (days_since).
my $today = $node->safe_psql('postgres', 'SELECT current_date');
sub days_since { return $node->safe_psql('postgres', qq{SELECT current_date - '$today'::date}) }
$node->safe_psql('postgres', qq{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1, time_zone => 'UTC');
-- Day 3 ahead: a row the constraint below refuses, and a good one; day 4: a good one.
INSERT INTO t VALUES ('$today'::date + 3 + interval '1 hour', -1),
                     ('$today'::date + 3 + interval '2 hours', 1),
                     ('$today'::date + 4 + interval '1 hour', 1);
ALTER TABLE t ADD CONSTRAINT vpos CHECK (v > 0) NOT VALID;
UPDATE ai_scale.partition_config SET premake = 5;});

# The rows of a run, without the partitions' names (a midnight during the test shifts them).
my $run = q{SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t')
             WHERE action IN ('created', 'error') ORDER BY 1};
my $first = $node->safe_psql('postgres', $run);
my @created = grep { /^created: / } split /\n/, $first;
my @errors = grep { /^error: / } split /\n/, $first;
is(scalar @created, 3 + days_since(), 'the three partitions whose ranges the row is not in are made')
  or diag $first;
like($first, qr/^created: .*moved 1 row from the default partition$/m,
    'the good row of day 4 moved into its partition');
is(scalar @errors, 1, 'one error row') or diag $first;
like($errors[0] // '',
    qr/^error: create from \S+ \S+ to \S+ \S+: new row for relation "\S+" violates check constraint "vpos" \(SQLSTATE 23514\)/,
    'it names the range, the error and its SQLSTATE');
is( $node->safe_psql('postgres', qq{
SELECT count(*) - (current_date - '$today'::date) FROM ai_scale.partitions('t')
 WHERE partition <> 't_default'::regclass AND lower::timestamptz > '$today'::date + 3}),
    '2', 'partitions past the row are made');
is($node->safe_psql('postgres', q{SELECT v FROM ONLY t_default ORDER BY v}),
    "-1\n1", 'the day-3 rows stay in the default, the bad one and its good neighbour');
is($node->safe_psql('postgres', 'SELECT count(*), sum(v) FROM t'), '3|1',
    'nothing lost or duplicated');

# The next run retries that range alone, and reports it again.
my $before = days_since();
my $second = $node->safe_psql('postgres', $run);
is(scalar(() = $second =~ /^created: /mg), days_since() - $before,
    'the next run makes nothing else (but the partition of a day begun since)');
like($second, qr/^error: create from .*\(SQLSTATE 23514\)/m, 'it reports the range again');

# Once the row is mended, the range is made with both its rows.
$node->safe_psql('postgres', 'UPDATE t SET v = 2 WHERE v = -1');
my $third = $node->safe_psql('postgres', $run);
like($third, qr/^created: .*moved 2 rows from the default partition$/m,
    'mended, the range is made and its rows moved');
unlike($third, qr/^error: /m, 'without an error');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ONLY t_default'), '0',
    'the default is empty');

# A foreign key that a row of the default breaks, on a table with a trigger,
# whose rows move through the parent: the same. manage_partitions, whose first run is part of
# adopting the table, still fails on the row (nothing kept), now naming the range.
$node->safe_psql('postgres', q{
CREATE TABLE k (id int PRIMARY KEY);
INSERT INTO k VALUES (1);
CREATE TABLE u (at timestamptz NOT NULL, id int) PARTITION BY RANGE (at);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER u_noop AFTER INSERT ON u FOR EACH ROW EXECUTE FUNCTION noop();
SELECT count(*) FROM ai_scale.manage_partitions('u', '1 day', 1, time_zone => 'UTC');
ALTER TABLE u ADD CONSTRAINT u_k FOREIGN KEY (id) REFERENCES k;
INSERT INTO u VALUES (now()::date + 4 + interval '1 hour', 1);
-- (As a subscriber applies rows: without firing the key's triggers. Postgres 15 adds no foreign
-- key NOT VALID to a partitioned table.)
SET session_replication_role = replica;
INSERT INTO u VALUES (now()::date + 2 + interval '1 hour', 2);});
my ($rc, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT count(*) FROM ai_scale.manage_partitions('u', '1 day', 5, time_zone => 'UTC')});
like($err,
    qr/ERROR:  23503: could not maintain public\.u: create from \S+ \S+ to \S+ \S+: insert or update on table "\S+" violates foreign key constraint "u_k"$/m,
    'manage_partitions fails on the row, naming its range');
is($node->safe_psql('postgres', q{SELECT premake FROM ai_scale.partition_config
                                   WHERE parent = 'u'::regclass}),
    '1', 'and keeps nothing');
$node->safe_psql('postgres', q{UPDATE ai_scale.partition_config SET premake = 5
                                WHERE parent = 'u'::regclass});
my $fk = $node->safe_psql('postgres', $run =~ s/'t'/'u'/r);
is(scalar(() = $fk =~ /^created: /mg), 3, 'foreign key: the other three partitions are made')
  or diag $fk;
like($fk, qr/^created: .*moved 1 row from the default partition$/m,
    'foreign key: the good row moved through the parent');
is(scalar(() = $fk =~ /^error: create from .*violates foreign key constraint "u_k" \(SQLSTATE 23503\)$/mg),
    1, 'foreign key: one error row for the range of the row')
  or diag $fk;
is($node->safe_psql('postgres', q{SELECT id FROM ONLY u_default}), '2',
    'foreign key: the row stays in the default');
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '2', 'foreign key: nothing lost');

$node->stop;

# The worker: the same partitions made, and the range logged as an error row at each run.
my $worker = worker_node('premake_default_row_cannot_move_worker');
$worker->safe_psql('postgres', q{
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1, time_zone => 'UTC');
INSERT INTO t VALUES (now()::date + 3 + interval '1 hour', -1);
ALTER TABLE t ADD CONSTRAINT vpos CHECK (v > 0) NOT VALID;
UPDATE ai_scale.partition_config SET premake = 5;});
ok($worker->poll_query_until('postgres', made_ahead(5)), 'the worker makes the partitions ahead');
ok( $worker->wait_for_log(
        qr/${worker_line}error public\.t\n.*DETAIL:  create from \S+ \S+ to \S+ \S+: new row for relation "t_\d+" violates check constraint "vpos" \(SQLSTATE 23514\)/
    ),
    'and logs the range whose row cannot move');
is($worker->safe_psql('postgres', 'SELECT v FROM ONLY t_default'), '-1',
    'the row stays in the default');
$worker->stop;
done_testing();
