# pg_dump and pg_restore keep what ai_scale was told: the partition configuration
# (ai_scale.partition_config) and the model catalog (ai_scale.models) are extension
# configuration tables, so a restored database manages the same tables and scores with the
# same models, with nothing to set up again. The rows lie in the months premade whatever the
# date (an hour back per row put them in the month before during a month's first days, and
# maintenance of the restored copy rescued them).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE source');
$node->safe_psql('source', q{
    CREATE EXTENSION ai_scale;
    SELECT ai_scale.create_prediction_store('public.model_predictions', '1 day', 3);
    CREATE TABLE "Odd ""Events""" (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
    SELECT count(*) FROM ai_scale.manage_partitions('"Odd ""Events"""', '1 month', 2,
                                                    retention => '1 year', time_zone => 'UTC');
    INSERT INTO "Odd ""Events""" SELECT i, now() + i * interval '1 minute' FROM generate_series(1, 100) i;
    SELECT ai_scale.register_model('dumped', 'linear', ARRAY['a', 'b'], '{"weights": [2, 3]}');
});
my $config_query = q{SELECT parent::text, partition_interval, premake, retention, time_zone
                       FROM ai_scale.partition_config ORDER BY 1};
my $config = $node->safe_psql('source', $config_query);
my $partitions = $node->safe_psql('source', q{
    SELECT string_agg(partition::text || ' ' || lower || ' ' || upper, E'\n' ORDER BY partition::text)
      FROM ai_scale.partitions('"Odd ""Events"""')});

my $dump = $node->basedir . '/source.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('source')], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(['pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump],
    'pg_restore');

is($node->safe_psql('restored', $config_query), $config, 'partition configuration restored');
like($config, qr/Odd ""Events""/, 'including the table whose name needs quotes');
is($node->safe_psql('restored', q{
    SELECT string_agg(partition::text || ' ' || lower || ' ' || upper, E'\n' ORDER BY partition::text)
      FROM ai_scale.partitions('"Odd ""Events"""')}), $partitions, 'the same partitions and bounds');
is($node->safe_psql('restored', q{SELECT count(*) FROM "Odd ""Events"""}), '100', 'the rows');
is($node->safe_psql('restored', q{
    SELECT count(*) FILTER (WHERE action NOT IN ('created', 'dropped')) FROM ai_scale.run_maintenance()}),
    '0', 'maintenance runs on the restored database');
is($node->safe_psql('restored', q{SELECT ai_scale.score('dumped', '{"a": 1, "b": 1}')}), '5',
    'a registered model scores after the restore');

$node->stop;
done_testing();
