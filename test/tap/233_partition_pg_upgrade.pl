# pg_upgrade of a cluster that preloads ai_scale, its worker set to maintain a database. pg_upgrade
# starts the old cluster and the new one in binary upgrade mode, with their postgresql.conf: the
# worker started in both, and its runs there failed at every naptime on the partitions they
# made (pg_class heap OID value not set when in binary upgrade mode, logged as errors), while
# its drops, detaches and moves of the old cluster's partitions could change them between
# pg_upgrade listing its relations and dumping their schema. The launcher now starts no worker
# in binary upgrade mode; the upgraded cluster keeps the store, its rows and its configuration,
# and its worker maintains it once started.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $settings = qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
};
my $old = PostgreSQL::Test::Cluster->new('upgrade_old');
$old->init;
$old->append_conf('postgresql.conf', $settings);
$old->start;
$old->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store('public.model_predictions', '1 day', 1);
INSERT INTO model_predictions (model_name, model_version, created_at)
SELECT 'm', 1, now() - g * interval '1 minute' FROM generate_series(1, 100) g;});
# Work left for the worker: ten days more to make ahead, set while it was turned off, and the
# cluster stopped before it ran again, as a maintenance window before an upgrade may leave it.
$old->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = ''; SELECT pg_reload_conf();");
ok($old->poll_query_until('postgres',
        q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'}),
    'the worker stops');
$old->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET premake = 10;
ALTER SYSTEM RESET ai_scale.maintenance_databases;});
my $partitions =
  q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'model_predictions'::regclass};
my $before = $old->safe_psql('postgres', $partitions);
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('upgrade_new');
$new->init;
$new->append_conf('postgresql.conf', $settings);
my $bindir = $old->config_data('--bindir');
# pg_upgrade writes its scripts to the directory it runs in.
chdir $PostgreSQL::Test::Utils::tmp_check;
command_ok(
    [
        "$bindir/pg_upgrade", '--no-sync', '--retain',
        '-d', $old->data_dir, '-D', $new->data_dir,
        '-b', $bindir, '-B', $bindir,
        '-s', $new->host, '-p', $old->port, '-P', $new->port
    ],
    'pg_upgrade succeeds');

my ($log) = glob($new->data_dir . '/pg_upgrade_output.d/*/log/pg_upgrade_server.log');
my $server_log = slurp_file($log);
like($server_log,
    qr/ai_scale maintenance launcher not started: the server runs in binary upgrade mode/,
    'the launcher says why it did not start');
unlike($server_log, qr/ai_scale maintenance worker started/, 'no worker started');
unlike($server_log, qr/${worker_line}error/, 'no maintenance run failed');

# Started first with its worker off: started with it, the worker (naptime 1 s) could make the
# partitions ahead before the count below was taken.
$new->append_conf('postgresql.conf', "ai_scale.maintenance_databases = ''\n");
$new->start;
is($new->safe_psql('postgres', $partitions), $before, 'the partitions are there, none made');
is($new->safe_psql('postgres', 'SELECT count(*) FROM model_predictions'), '100', 'every row');
is($new->safe_psql('postgres', 'SELECT premake FROM ai_scale.partition_config'), '10',
    'and the configuration');
$new->append_conf('postgresql.conf', "ai_scale.maintenance_databases = 'postgres'\n");
$new->reload;
ok($new->poll_query_until('postgres', qq{SELECT ($partitions) >= $before + 9}),
    'the upgraded cluster\'s worker makes the partitions ahead');
$new->stop;
done_testing();
