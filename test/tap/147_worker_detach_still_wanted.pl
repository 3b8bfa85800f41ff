# A run's concurrent detaches are done once every table is maintained, and one waits as long as
# an older transaction on its table runs (TAP 140): the detaches after it were then started
# whatever had happened since their tables were maintained. A table unmanaged meanwhile, or
# every table after a DROP EXTENSION ai_scale, lost the partition its retention had chosen
# (detached, left as a plain table) although nothing managed it any more; a table whose
# retention was lengthened meanwhile lost a partition the new retention keeps. A detach not
# yet begun is now left when the table is no longer managed (or the extension is gone), its
# retention changed, or (to drop) its partition no longer carries the run's mark, with a LOG;
# the next run decides again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_after_drop_extension', maintenance_naptime => 3600);
my $attached = q{SELECT relispartition FROM pg_class WHERE relname = '%s'};

for my $case (
    [ 'a', 'b', 'drop', q{SELECT ai_scale.unmanage_partitions('b')}, 'the table unmanaged' ],
    [ 'e', 'f', 'detach',
      q{UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'f'::regclass},
      'detach retention lengthened' ],
    # The retention unchanged, but the mark the run wrote on the partition to drop taken off, as
    # docs/partitioning.md tells a DBA who wants to keep a marked table to do.
    [ 'g', 'h', 'drop', q{COMMENT ON TABLE h_old IS NULL}, 'the mark taken off' ],
    # Last: the extension is gone for the cases after it.
    [ 'c', 'd', 'drop', 'DROP EXTENSION ai_scale', 'the extension dropped' ])
{
    my ($held, $other, $mode, $change, $what) = @$case;
    # Both get an old partition that a retention of 3 days drops; the worker detaches $held's
    # first (the lower OID) and waits there for an older transaction on it.
    $node->safe_psql('postgres', old_partition_table($held) . old_partition_table($other));
    my $reader = $node->background_psql('postgres', on_error_stop => 0);
    $reader->query_safe("BEGIN; SELECT count(*) FROM $held;");
    $node->safe_psql('postgres', qq{
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = '$mode'
 WHERE parent IN ('$held'::regclass, '$other'::regclass);});
    $node->reload;
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'ALTER TABLE public.$held DETACH PARTITION public.${held}_old CONCURRENTLY%'
   AND wait_event_type = 'Lock'}),
        "$what: the worker waits to detach ${held}_old");
    $node->safe_psql('postgres', $change);
    $reader->query_safe('COMMIT');
    $node->wait_for_log(
        qr/${worker_line}(left partition public\.${other}_old|detached public\.$other )/);
    like(slurp_file($node->logfile),
        qr/${worker_line}left partition public\.${other}_old of public\.$other attached/,
        "$what: the worker leaves ${other}_old");
    is($node->safe_psql('postgres', sprintf($attached, "${other}_old")), 't',
        "$what: ${other}_old is still a partition of $other");
    $reader->quit;
}

$node->stop;
done_testing();
