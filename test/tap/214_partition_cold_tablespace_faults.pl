# A cold tablespace that went wrong after manage_partitions accepted it: its directory not
# writable by the server, the tablespace renamed, the owner's CREATE on it revoked. Before,
# every partition due to move failed on its own, an error row each (up to 100 a run, logged by
# the worker at every naptime). A run now reports the error once, and one 'skipped' row counts
# the moves not tried; nothing is half moved, no row lost. A move takes the partition's indexes
# too (they stayed hot). A tablespace directory the server may not write, where partitions are
# made, was reported with a hint to GRANT rights the owner had.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cold_tablespace_faults');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;

my $cold = PostgreSQL::Test::Utils::tempdir();
my $hot = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', "CREATE TABLESPACE cold LOCATION '$cold'");
$node->safe_psql('postgres', "CREATE TABLESPACE hot LOCATION '$hot'");
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE ROLE tier_owner;
GRANT CREATE ON SCHEMA public TO tier_owner;
GRANT CREATE ON TABLESPACE cold, hot TO tier_owner;
SET ROLE tier_owner;
CREATE TABLE m (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE INDEX ON m (v);
CREATE TABLE m_40 PARTITION OF m FOR VALUES FROM (now() - interval '40 days') TO (now() - interval '39 days');
CREATE TABLE m_39 PARTITION OF m FOR VALUES FROM (now() - interval '39 days') TO (now() - interval '38 days');
INSERT INTO m SELECT now() - interval '39 days 12 hours', g FROM generate_series(1, 500) g;
RESET ROLE;
SELECT count(*) FROM ai_scale.manage_partitions('m', '1 day', 1, cold_after => '7 days',
                                                cold_tablespace => 'cold', time_zone => 'UTC');
SET ROLE tier_owner;
CREATE TABLE m_50 PARTITION OF m FOR VALUES FROM (now() - interval '50 days') TO (now() - interval '49 days');
CREATE TABLE m_49 PARTITION OF m FOR VALUES FROM (now() - interval '49 days') TO (now() - interval '48 days');
CREATE TABLE m_48 PARTITION OF m FOR VALUES FROM (now() - interval '48 days') TO (now() - interval '47 days');
INSERT INTO m SELECT now() - interval '47 days 12 hours' - g * interval '1 day', g
  FROM generate_series(0, 2) s(g), generate_series(1, 100);
RESET ROLE;});

my $rows = q{SELECT count(*) || ' ' || sum(hashtext(at::text || v::text)) FROM m};
my $before = $node->safe_psql('postgres', $rows);
my $where = q{SELECT string_agg(relname || ':' || CASE reltablespace WHEN 0 THEN 'hot' ELSE
    (SELECT spcname FROM pg_tablespace t WHERE t.oid = reltablespace) END, ' ' ORDER BY relname)
    FROM pg_class WHERE relname ~ '^m_[0-9]{2}$'};
is($node->safe_psql('postgres', $where), 'm_39:cold m_40:cold m_48:hot m_49:hot m_50:hot',
    'manage_partitions moved the old partitions; three more wait');
my $run = q{SELECT action || ' ' || coalesce(partition, '-') || ' ' || detail
    FROM ai_scale.run_maintenance('m')};

# A tablespace's directory for this database, which the server may then no longer write.
sub tablespace_dir {
    my ($name) = @_;
    my $dir = $node->safe_psql('postgres', qq{
SELECT 'pg_tblspc/' || t.oid || '/' || (SELECT s FROM pg_ls_dir('pg_tblspc/' || t.oid) s
                                         WHERE s LIKE 'PG\\_%') || '/' || d.oid
  FROM pg_tablespace t, pg_database d WHERE t.spcname = '$name' AND d.datname = 'postgres'});
    return $node->data_dir . "/$dir";
}
my $dbdir = tablespace_dir('cold');
chmod 0500, $dbdir or die "chmod $dbdir: $!";
my $out = $node->safe_psql('postgres', $run);
like($out,
    qr/\Aerror public\.m_50 tier public\.m_50: could not create file "[^"]+": Permission denied \(SQLSTATE 42501\)\nskipped - 2 partitions to move to tablespace cold not tried after the error above; retried on the next run\z/,
    'a directory the server may not write: one error row, and the other moves counted once');
chmod 0700, $dbdir or die "chmod $dbdir: $!";
is($node->safe_psql('postgres', $where), 'm_39:cold m_40:cold m_48:hot m_49:hot m_50:hot',
    'no partition moved, none half moved');

# Renamed: the name in the settings is no tablespace.
$node->safe_psql('postgres', 'ALTER TABLESPACE cold RENAME TO cold_renamed');
$out = $node->safe_psql('postgres', $run);
is($out,
    q{error - tier: tablespace "cold" does not exist (hint: It was dropped or renamed since manage_partitions named it: create it, or name another with manage_partitions('public.m', ..., cold_tablespace => ...).) (SQLSTATE 42704)
skipped - 5 partitions to move to tablespace cold not tried after the error above; retried on the next run},
    'a tablespace renamed: one error row with SQLSTATE 42704, no move tried');
$node->safe_psql('postgres', 'ALTER TABLESPACE cold_renamed RENAME TO cold');

# The owner's right to create there revoked.
$node->safe_psql('postgres', 'REVOKE CREATE ON TABLESPACE cold FROM tier_owner');
$out = $node->safe_psql('postgres', $run);
is($out,
    q{error - tier: the owner of table public.m (tier_owner) may not create in tablespace cold (hint: GRANT CREATE ON TABLESPACE cold TO tier_owner;) (SQLSTATE 42501)
skipped - 3 partitions to move to tablespace cold not tried after the error above; retried on the next run},
    'CREATE revoked: one error row with the GRANT to make, no move tried');

$node->safe_psql('postgres', 'GRANT CREATE ON TABLESPACE cold TO tier_owner');
is($node->safe_psql('postgres', q{SELECT string_agg(action, ' ') FROM ai_scale.run_maintenance('m')}),
    'moved_to_cold moved_to_cold moved_to_cold', 'once granted, the next run moves them');
is($node->safe_psql('postgres', $where), 'm_39:cold m_40:cold m_48:cold m_49:cold m_50:cold',
    'all in the cold tablespace');
is($node->safe_psql('postgres', $rows), $before, 'with every row, once');
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE c.reltablespace = t.oid) || ' of ' || count(*)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid, pg_tablespace t
 WHERE t.spcname = 'cold' AND i.indrelid::regclass::text ~ '^m_[0-9]{2}$'}),
    '5 of 5', 'and their indexes, by manage_partitions and by the run (ALTER TABLE leaves them)');

# Partitions made in a tablespace whose directory the server may not write: the owner has
# every right, and the hint says where to look instead.
$node->safe_psql('postgres', q{
SET ROLE tier_owner;
CREATE TABLE h (at timestamptz NOT NULL) PARTITION BY RANGE (at) TABLESPACE hot;
RESET ROLE;
SELECT count(*) FROM ai_scale.manage_partitions('h', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'h'::regclass;});
my $hotdir = tablespace_dir('hot');
chmod 0500, $hotdir or die "chmod $hotdir: $!";
$out = $node->safe_psql('postgres', q{SELECT action || ' ' || detail FROM ai_scale.run_maintenance('h')});
chmod 0700, $hotdir or die "chmod $hotdir: $!";
like($out,
    qr/\Aerror could not create file "[^"]+": Permission denied \(hint: The owner \(tier_owner\) has the rights maintenance needs: the operating system refused the server a file or directory, such as a tablespace's\. Give the server's user access to it\.\) \(SQLSTATE 42501\)\z/,
    'a tablespace directory not writable: the hint does not ask for rights the owner has');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ai_scale.partitions('h') WHERE tier = 'hot'}),
    '2', 'no partition made');
is($node->safe_psql('postgres', q{SELECT string_agg(action, ' ') FROM ai_scale.run_maintenance('h')}),
    'created created', 'the next run, once it may write there, makes them');

$node->stop;
done_testing();
