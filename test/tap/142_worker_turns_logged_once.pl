# With fewer free background-worker slots than listed databases, the databases take turns (TAP
# 141); the launcher says once per database that it found no slot free for it, not again at each
# of its turns. Before, every database that gave its slot up was logged again when its turn to
# wait came, once a turn, for as long as the slots were short.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Three databases for two workers' slots.
my $node = short_slots_node('worker_turns_logged_once');
my @databases = map { "d$_" } 1 .. 3;
$node->safe_psql('postgres', "CREATE DATABASE $_") for @databases;
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'd1, d2, d3'; SELECT pg_reload_conf();");

sub count_in_log
{
    my ($pattern) = @_;
    my $log = slurp_file($node->logfile);
    my @hits = $log =~ /$pattern/g;
    return scalar @hits;
}

# Four turns given up: by then a database has given its slot up and waited for one again.
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
usleep(100_000)
  while count_in_log(qr/gives its slot to a database waiting for one/) < 4 && time < $deadline;
cmp_ok(count_in_log(qr/gives its slot to a database waiting for one/), '>=', 4,
    'the databases take turns');
for my $d (@databases) {
    cmp_ok(count_in_log(qr/could not start a worker for database "$d": no background worker slot is free/),
        '<=', 1, "$d: its wait for a slot is logged once");
}
ok(count_in_log(qr/could not start a worker for database "d\d"/) >= 1,
    'a database waiting for a slot is logged');

$node->stop;
done_testing();
