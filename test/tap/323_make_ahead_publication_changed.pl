# A partition that maintenance makes ahead over rows of the default moves them through the
# parent or around it as the store's publications ask (docs/partitioning.md). A publication
# changed between that choice and the move's writes (ALTER PUBLICATION ... SET (publish = ...)
# locks no table) had the rows moved the way it no longer wants, and its subscribers lost them
# or got them twice. The run checks the path again after the writes (40001, then one partition
# at a time, choosing again): here the publication starts sending deletes while the run waits,
# and decoding shows each moved row as a delete and an insert, not as a delete alone.
# (specs/partition_publication_changed covers rescue_default; no spec can decode.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('make_ahead_publication');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
my $day = $node->safe_psql('postgres',
    q{SELECT to_char(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '3 days', 'YYYYMMDD')});
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE mk (id int, created_at timestamptz, PRIMARY KEY (id, created_at))
    PARTITION BY RANGE (created_at);
SELECT count(*) > 0 FROM ai_scale.manage_partitions('mk', '1 day', 1, time_zone => 'UTC');
INSERT INTO mk SELECT g, (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '3 days 1 hour')
                         AT TIME ZONE 'UTC' + g * interval '1 second'
  FROM generate_series(1, 50) g;
CREATE PUBLICATION mk_pub FOR TABLE mk WITH (publish = 'insert', publish_via_partition_root = true);
SELECT count(*) FROM pg_create_logical_replication_slot('mk_slot', 'pgoutput');
UPDATE ai_scale.partition_config SET premake = 4 WHERE parent = 'mk'::regclass;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM ONLY mk_default'), '50',
    'the rows of the day wait in the default');

# Holds the name of the partition that takes them: the run waits there, between its choice of
# path and its writes, as a large move takes that long.
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN; CREATE TABLE public.mk_$day (x int);");
my $run = $node->background_psql('postgres', on_error_stop => 0);
$run->query_until(qr/started/, "SET ai_scale.maintenance_lock_timeout = '60s';\n\\echo started\n"
      . "SELECT count(*) FROM ai_scale.run_maintenance('mk') WHERE action = 'created';\n");
$node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND query LIKE '%run_maintenance%'})
  or die 'the run never waited';
$node->safe_psql('postgres', q{ALTER PUBLICATION mk_pub SET (publish = 'insert, delete')});
$holder->query_safe('ROLLBACK');
$holder->quit;
$run->query_safe('SELECT 1');
$run->quit;

is($node->safe_psql('postgres', 'SELECT count(*) FROM ONLY mk_default'), '0',
    'the run moved the rows out of the default');
is($node->safe_psql('postgres', "SELECT count(*) FROM mk_$day"), '50', 'into their partition');
my $messages = $node->safe_psql('postgres', q{
SELECT string_agg(msg || ' ' || n, ', ' ORDER BY msg) FROM (
  SELECT chr(get_byte(data, 0)) AS msg, count(*) AS n
    FROM pg_logical_slot_get_binary_changes('mk_slot', NULL, NULL, 'proto_version', '1',
                                            'publication_names', 'mk_pub')
   GROUP BY 1) m WHERE msg IN ('D', 'I')});
is($messages, 'D 50, I 50',
    'the publication, sending deletes by the writes, sees each moved row deleted and inserted');

$node->stop;
done_testing();
