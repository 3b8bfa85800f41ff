# The worker moves partitions to the cold tablespace one a transaction, each next one from the
# bound the transaction before returned as text. That text was in the worker's DateStyle, set
# for the database or the maintenance role: 'SQL, YMD' writes month/day/year and reads
# year/month/day, so every run moved one partition and then failed the table ("date/time field
# value out of range"), and while two or more moves were due, the table got no new partitions
# (found by a probe of Postgres's settings).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Runs at start and on each reload only.
my $node = worker_node('tier_datestyle', maintenance_naptime => 3600);
my $cold = PostgreSQL::Test::Utils::tempdir();
# The worker connects as the bootstrap superuser, this test's role: its runs get the setting
# once it is restarted.
$node->safe_psql('postgres', qq{
ALTER ROLE CURRENT_USER SET DateStyle = 'SQL, YMD';
CREATE TABLESPACE cold LOCATION '$cold';
CREATE TABLE m (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE m_40 PARTITION OF m FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00');
CREATE TABLE m_39 PARTITION OF m FOR VALUES FROM ('2020-01-02 00:00+00') TO ('2020-01-03 00:00+00');
CREATE TABLE m_38 PARTITION OF m FOR VALUES FROM ('2020-01-03 00:00+00') TO ('2020-01-04 00:00+00');
INSERT INTO m VALUES ('2020-01-01 12:00+00', 1), ('2020-01-02 12:00+00', 2), ('2020-01-03 12:00+00', 3);
SELECT count(*) FROM ai_scale.manage_partitions('m', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET cold_after = '7 days', cold_tablespace = 'cold', premake = 3
 WHERE parent = 'm'::regclass;});
my $log_offset = -s $node->logfile;
$node->restart;
is($node->safe_psql('postgres', 'SHOW DateStyle'), 'SQL, YMD', 'sessions of the role read year first');

my $cold_ones = q{SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
                   WHERE relname ~ '^m_[0-9]{2}$' AND reltablespace <> 0};
ok($node->poll_query_until('postgres', "SELECT ($cold_ones) = 'm_38 m_39 m_40'"),
    'the worker moves the three old partitions');
# Today's and the next three (premake 3), where there were two (premake 1).
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 4 FROM pg_class WHERE relname ~ '^m_[0-9]{8}$'}),
    'and makes the partitions of its new premake');
my $log = slurp_file($node->logfile, $log_offset);
my @moved = $log =~ /${worker_line}moved_to_cold public\.m /g;
is(scalar(@moved), 3, 'three moves');
unlike($log, qr/maintenance of public\.m in database "postgres" failed/, 'and no failed run');
like($log, qr/moved_to_cold public\.m public\.m_38\n(?:.*\n)*?.*created public\.m /,
    'the creations follow the last move');
is($node->safe_psql('postgres', 'SELECT count(*) FROM m'), '3', 'with every row');

$node->stop;
done_testing();
