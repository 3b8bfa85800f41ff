# On a hot standby the partition functions that write raise 25006; those that read work, and no
# maintenance worker runs there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'postgres'
});
$primary->start;
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres',
    "CREATE EXTENSION ai_scale; SELECT ai_scale.create_prediction_store(premake => 2);");
$primary->wait_for_catchup($standby);

for my $call ("ai_scale.run_maintenance()", "ai_scale.manage_partitions('model_predictions', '1 day')",
    "ai_scale.rescue_default('model_predictions')", "ai_scale.unmanage_partitions('model_predictions')",
    "ai_scale.create_prediction_store('other')", "ai_scale.reapply_privileges('model_predictions')")
{
    my ($ret, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM $call");
    like($err, qr/ERROR:  25006: cannot run \w+ on a hot standby/, "$call raises 25006 on the standby");
}
my ($ret, $out, $err) = $standby->psql('postgres',
    "\\set VERBOSITY verbose\nCALL ai_scale.rescue_default_proc('model_predictions')");
like($err, qr/ERROR:  25006: cannot run rescue_default_proc on a hot standby/,
    'rescue_default_proc raises 25006 on the standby');
is($standby->safe_psql('postgres',
        "SELECT count(*) FROM ai_scale.partitions('model_predictions') WHERE tier = 'hot'"),
    '3', 'partitions() reads on the standby');
is($standby->safe_psql('postgres', "SELECT rows FROM ai_scale.check_default('model_predictions')"),
    '0', 'check_default() reads on the standby');
is($standby->safe_psql('postgres',
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    '0', 'no maintenance worker on the standby');

$standby->stop;
$primary->stop;
done_testing();
