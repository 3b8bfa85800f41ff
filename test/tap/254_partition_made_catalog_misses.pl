# A session's catalog caches keep, for good, every look-up of a catalog row that did not exist
# (a negative entry), after the table it named is dropped too. Making a partition looked up the
# statistics of its TOAST table's columns (and of its own, for each index it gets): Postgres
# weighs parallel workers for every index it builds, even on an empty table, unless
# max_parallel_maintenance_workers is 0. The maintenance worker makes and drops partitions for as
# long as the server runs: each partition made and dropped kept about 5.5 kB of its
# CacheMemoryContext (31 columns, one index; 690 bytes without the index);
# _new_partition_table now makes them with max_parallel_maintenance_workers = 0, and about 240
# bytes stay (what Postgres's own CREATE and DROP keep; the worker resets its caches now and
# then, TAP 253). Measured in one client session,
# in CacheMemoryContext's used bytes (pg_backend_memory_contexts).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('partition_made_catalog_misses');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
my $cols = join(', ', map { "c$_ text" } 1 .. 30);
$node->safe_psql('postgres', qq{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL, $cols) PARTITION BY RANGE (at);
CREATE INDEX ON t (at);
});

# Partitions [first, last] of t, hourly from 2000, each made and dropped as maintenance does.
sub cycles {
    my ($first, $last) = @_;
    return join('', map { qq{
SELECT ai_scale._drop_partition(ai_scale._new_partition_table(
    't', 'at', 'h$_', \$\$'2000-01-01 00:00+00'::timestamptz + interval '$_ hours'\$\$,
    \$\$'2000-01-01 00:00+00'::timestamptz + interval '@{[$_ + 1]} hours'\$\$, NULL, true,
    false)::regclass);} } $first .. $last);
}

my $used = q{(SELECT used_bytes FROM pg_backend_memory_contexts
              WHERE name = 'CacheMemoryContext')};
# One session: 20 partitions to warm its caches, then 300 more.
my $grown = $node->safe_psql('postgres', cycles(1, 20) . qq{
CREATE TEMP TABLE before AS SELECT $used AS used;} . cycles(21, 320) . qq{
SELECT $used - used FROM before;});
$grown =~ s/.*\n//s;
note("CacheMemoryContext grew by $grown bytes over 300 partitions made and dropped");
# Before: 1.66 MB (5.5 kB a partition); now 72 kB.
cmp_ok($grown, '<', 128 * 1024, 'making partitions keeps few catalog cache misses');

$node->stop;
done_testing();
