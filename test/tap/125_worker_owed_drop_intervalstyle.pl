# The mark on a partition the worker detaches to drop (see _owed_drop_note) names the retention
# that chose it, and a later run drops the marked table only while the mark matches the
# retention as it writes it now. The mark was written in the worker's IntervalStyle: once that
# changed (ALTER DATABASE ... SET IntervalStyle, taking effect when the worker reconnects), the
# same retention no longer matched, and a table owed its drop was kept for good.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_owed_drop_intervalstyle');
worker_drop_fails($node);

# The worker comes back with another IntervalStyle; the retention is unchanged.
$node->safe_psql('postgres', q{ALTER DATABASE postgres SET intervalstyle = 'iso_8601'});
my $offset = -s $node->logfile;
$node->restart;
ok($node->wait_for_log(
        qr/${worker_line}(error|skipped) public\.r public\.r_old/, $offset),
    'after the restart, a run of the worker looks at the detached table');
$node->safe_psql('postgres', 'DROP VIEW v_old');
ok($node->wait_for_log(
        qr/${worker_line}(dropped public\.r public\.r_old|skipped public\.r public\.r_old)/,
        $offset),
    'a later run of the worker decides on the detached table');
is($node->safe_psql('postgres', q{SELECT to_regclass('public.r_old') IS NULL}), 't',
    '... and drops it: its retention is still the one that chose it');

$node->stop;
done_testing();
