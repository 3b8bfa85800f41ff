# The maintenance launcher is a background worker registered at startup. When every slot of
# max_worker_processes is registered before it (here the logical replication launcher takes
# the only one), Postgres logs "too many background workers" without naming it and goes on:
# no table was ever maintained, and nothing said that ai_scale's worker was the one left out.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('launcher_without_slot');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
max_worker_processes = 1
});
$node->start;
my $log = slurp_file($node->logfile);
like($log,
    qr/WARNING:  ai_scale maintenance launcher not registered: no background worker slot is free\n.*DETAIL:  max_worker_processes is 1, and workers registered before it take every slot; tables are maintained only by run_maintenance\(\) called by hand\.\n.*HINT:  Raise max_worker_processes/,
    'the launcher left without a slot says so');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'ai_scale%'}),
    '0', 'and none runs');

# With a slot, no warning, and the launcher starts its worker.
$node->append_conf('postgresql.conf', "max_worker_processes = 8\n");
my $offset = -s $node->logfile;
$node->restart;
ok($node->wait_for_log(qr/ai_scale maintenance worker started in database "postgres"/, $offset),
    'with a slot the worker starts');
unlike(slurp_file($node->logfile, $offset), qr/launcher not registered/, 'and nothing is said');

$node->stop;
done_testing();
