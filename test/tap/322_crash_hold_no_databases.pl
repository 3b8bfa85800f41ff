# The maintenance launcher's crash hold (TAP 320) is said only where it holds a worker back: a
# server that lists no maintenance database, or only one that does not exist, logged "holds the
# workers back for 10 s" after any two crashes within an hour, crashes that had nothing to do
# with maintenance. Listed later within the hold, a database still waits for it, and the
# launcher says so then.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('no_databases');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
restart_after_crash = on
ai_scale.maintenance_naptime = 1
ai_scale.maintenance_databases = 'nosuchdb'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');

# Two crash restarts: a backend killed, the server back, twice.
my $offset = -s $node->logfile;
ok(crash_restart($node), "the server is back after crash $_") for 1, 2;
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE backend_type = 'ai_scale maintenance launcher'}),
    'the launcher runs again');
$node->safe_psql('postgres', 'SELECT pg_sleep(1)');
unlike(slurp_file($node->logfile, $offset), qr/holds the workers back/,
    'with no maintenance database listed that exists, no hold is said');

# Listed now, within the hold's 10 s: the database waits, and the launcher says why.
$node->append_conf('postgresql.conf', "ai_scale.maintenance_databases = 'postgres'\n");
$node->reload;
$node->wait_for_log(
    qr/holds the workers back for \d+ s: the server restarted after a crash 2 times in a row/,
    $offset);
ok(1, 'a database listed within the hold waits for it');

$node->stop;
done_testing();
