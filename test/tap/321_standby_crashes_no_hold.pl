# A standby's crash restarts do not count toward the maintenance launcher's crash hold (TAP 320):
# no maintenance runs on a standby, and counted, its old crashes held the workers back at its
# promotion (10 s after two, up to 10 minutes after eight), with no partition made meanwhile.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', qq{
restart_after_crash = on
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
});
$standby->start;

# Two crash restarts of the standby: a backend killed, the server back, twice.
ok(crash_restart($standby, 'SELECT pg_is_in_recovery()'), "the standby is back after crash $_")
  for 1, 2;

my $offset = -s $standby->logfile;
$standby->promote;
$standby->wait_for_log(qr/ai_scale maintenance worker started in database "postgres"/, $offset);
ok(1, 'promoted, the standby starts its maintenance worker');
unlike(slurp_file($standby->logfile, $offset), qr/holds the workers back/,
    'without holding it back for the crashes it had as a standby');

$standby->stop;
$primary->stop;
done_testing();
