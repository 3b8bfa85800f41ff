# The maintenance worker lives for days: what it allocates between transactions must not stay
# for its life. A commit leaves TopMemoryContext current, and the statements a deferred detach
# built after one (its DETACH ... CONCURRENTLY and DROP TABLE) were allocated there: 288 bytes
# per partition dropped, never freed (86 kB over 300 drops). They now go to the worker's
# per-run context. Measured in TopMemoryContext's own used bytes, which
# pg_log_backend_memory_contexts writes to the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_memory');
# Hourly, one day of retention and no default partition (the worker detaches concurrently only
# then): every partition of 2020 made below is dropped by the worker, at most 100 per run.
$node->safe_psql('postgres', q{
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 hour', 1, '1 day');
DROP TABLE t_default;});

# Makes partitions old_<from+1> .. old_<from+n> of t, hours of 2020, and waits until the
# worker has dropped them all.
sub old_partitions_dropped {
    my ($from, $n) = @_;
    $node->safe_psql('postgres', qq{
DO \$\$ BEGIN
FOR i IN $from + 1 .. $from + $n LOOP
  EXECUTE format('CREATE TABLE %I PARTITION OF t FOR VALUES FROM (%L) TO (%L)', 'old_' || i,
                 timestamptz '2020-01-01' + make_interval(hours => i),
                 timestamptz '2020-01-01' + make_interval(hours => i + 1));
END LOOP; END \$\$;});
    return $node->poll_query_until('postgres',
        q{SELECT count(*) = 0 FROM pg_class WHERE relname LIKE 'old\_%'});
}

# TopMemoryContext's used bytes in the worker, as it logs them.
sub worker_top_used {
    my ($used) = context_used($node, 'ai_scale maintenance', 'TopMemoryContext');
    return $used;
}

ok(old_partitions_dropped(0, 50), 'the worker drops the first 50 old partitions');
my $before = worker_top_used();
ok(old_partitions_dropped(50, 100) && old_partitions_dropped(150, 100)
     && old_partitions_dropped(250, 100), 'and 300 more');
my $after = worker_top_used();
my $grown = $after - $before;
note("TopMemoryContext used: $before -> $after bytes over 300 drops");
# Before: 86,440 bytes. A bound of 100 bytes a drop.
cmp_ok($grown, '<', 30000, "the worker's TopMemoryContext does not grow with the drops");
is($node->safe_psql('postgres', q{SELECT value FROM ai_scale.stats WHERE metric = 'errors'
                                   AND section = 'maintenance'}), '0', 'no run failed');

$node->stop;
done_testing();
