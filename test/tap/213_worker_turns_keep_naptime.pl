# With fewer free background-worker slots than listed databases the databases take turns (TAP
# 141), and a database's next turn comes a naptime after its last began. Before, the launcher
# started a database's worker again 10 s after it gave its slot up, and a worker started for a
# turn runs at once: every database was maintained every 10-15 s whatever the naptime (20
# databases for 6 slots and a 10-minute naptime: 124 runs in 90 s, each with its log lines).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use Time::HiRes qw(usleep);

# Two slots for four databases, a naptime of ten minutes.
my $node = short_slots_node('worker_turns_keep_naptime', maintenance_naptime => '600');
my @databases = map { "d$_" } 1 .. 4;
managed_database($node, $_) for @databases;
my $starts = sub {
    my @lines = (slurp_file($node->logfile) =~ /maintenance worker started in database/g);
    return scalar @lines;
};
my $started = sub {
    my %seen = map { $_ => 1 }
      (slurp_file($node->logfile) =~ /maintenance worker started in database "(d\d)"/g);
    return scalar keys %seen;
};
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'd1, d2, d3, d4'; SELECT pg_reload_conf();");
# Every database has its first turn (each worker's first run is at its start).
my $waited = 0;
while ($started->() < 4 && $waited++ < 1800) {
    usleep(100_000);
}
is($started->(), 4, 'every database had a turn');
ok($node->log_contains(qr/worker in database "d\d" gives its slot to a database waiting for one/),
    'the databases took turns');

# No worker starts again until a naptime after its turn began. (Watched for 25 s: before, each
# database's worker was started again within 10-15 s.) Counted by starts, not by partitions
# made: a run across midnight moves what "made ahead" means.
my $before = $starts->();
sleep 25;
is($starts->() - $before, 0, 'no worker started again within the naptime');

$node->stop;
done_testing();
