# A listed database that does not accept connections (ALTER DATABASE ... ALLOW_CONNECTIONS
# false) is logged once and gets no worker until it does (docs/partitioning.md, Background
# worker): a worker started for it fails in its connection, with a FATAL in the log and a
# background-worker slot taken, again at each restart interval. TAP 011 lists a database that
# does not exist, never one that refuses connections, and a launcher that left that test out
# passed it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_database_closed');
$node->safe_psql('postgres', 'CREATE DATABASE closed');
$node->safe_psql('postgres', 'ALTER DATABASE closed ALLOW_CONNECTIONS false');
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres, closed'; SELECT pg_reload_conf();");
ok( $node->wait_for_log(
        qr/database "closed" does not exist or does not accept connections; its worker starts when it does/,
        $log_offset),
    'a listed database that does not accept connections is logged');

$node->safe_psql('postgres', 'ALTER DATABASE closed ALLOW_CONNECTIONS true');
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE backend_type = 'ai_scale maintenance' AND datname = 'closed'}),
    'its worker starts once it does');
my $log = substr(slurp_file($node->logfile), $log_offset);
is(scalar(() = $log =~ /database "closed" does not exist or does not accept connections/g), 1,
    'it was logged once');
unlike($log, qr/database "closed" is not currently accepting connections/,
    'no worker tried to connect to it before');

$node->stop;
done_testing();
