# pg_repack on the prediction store and ai_scale's tables (docs/partitioning.md, "Rewriting
# tables"). While pg_repack has the default partition (its trigger installed, waiting for an
# older transaction), maintenance cannot take the default's lock and reports the rescue as
# skipped, within ai_scale.maintenance_lock_timeout; once pg_repack is done, the next run
# rescues every row. Repacking the store's partitions (--parent-table), ai_scale.models and
# ai_scale.partition_config loses no row, and predict() answers the same scores after, from the
# store (L3) for inputs stored before and scored for new ones. Skipped where pg_repack is not
# installed (scripts/setup.sh installs it, so CI runs this test).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('pg_repack');
my $repack = $node->config_data('--bindir') . '/pg_repack';
plan skip_all => 'pg_repack is not installed'
  unless -x $repack
  && -f $node->config_data('--sharedir') . '/extension/pg_repack.control';
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE EXTENSION pg_repack;
SELECT ai_scale.create_prediction_store(premake => 2);
SELECT ai_scale.register_model('lin', 'linear', ARRAY['a', 'b'],
                               '{"weights": [1, 2], "bias": 0.5}');
SELECT ai_scale.predict('lin', jsonb_build_object('a', g, 'b', 1)) FROM generate_series(1, 20) g;
INSERT INTO model_predictions (model_name, model_version, input_hash, created_at)
SELECT 'far', 1, g, date_trunc('day', now()) + interval '30 days' + g * interval '1 second'
  FROM generate_series(1, 2000) g;});
my $rows_before = $node->safe_psql('postgres', 'SELECT count(*) FROM model_predictions');

sub repack_args { return ($repack, '-h', $node->host, '-p', $node->port, '-d', 'postgres', @_); }

# An older transaction keeps pg_repack waiting with its trigger on the default partition.
my $old = $node->background_psql('postgres');
my $old_pid = $old->query_safe('SELECT pg_backend_pid()');
$old->query_safe('BEGIN; SELECT txid_current();');
my ($out, $err) = ('', '');
my $run = IPC::Run::start([repack_args('-t', 'public.model_predictions_default')],
    '>', \$out, '2>', \$err);
ok($node->poll_query_until('postgres',
        "SELECT count(*) > 0 FROM pg_trigger WHERE tgrelid = 'model_predictions_default'::regclass "
          . "AND tgname LIKE 'repack%'"),
    'pg_repack has the default partition');
my $skipped = $node->safe_psql('postgres',
    "SELECT action || ': ' || detail FROM ai_scale.run_maintenance('model_predictions')");
like($skipped,
    qr/^skipped: rescue: .*lock timeout; lock on public\.model_predictions_default held by pid \d+ \(transaction open [\d.]+ s\)(?:, pid \d+ \([^)]*\))*; retried on the next run$/m,
    'maintenance skips the rescue pg_repack holds up, and says so');
# (The older transaction holds no lock on the table: the sessions there are pg_repack's.)
my ($holder) = $skipped =~ /held by pid (\d+)/;
ok(defined $holder && $holder ne $old_pid,
    '... naming a session of pg_repack, which holds the default, not the transaction it waits for');
is($node->safe_psql('postgres', 'SELECT count(*) FROM model_predictions_default'), '2000',
    '... the rows stay in the default meanwhile');
$old->query_safe('COMMIT');
$old->quit;
$run->finish;
is($run->result(0), 0, 'pg_repack of the default partition succeeds') or diag($err);
like($node->safe_psql('postgres',
        "SELECT string_agg(DISTINCT action, ',') "
          . "FROM ai_scale.run_maintenance('model_predictions')"),
    qr/rescued/, 'the next run rescues the rows');
is($node->safe_psql('postgres', 'SELECT count(*) FROM model_predictions_default'), '0',
    '... all of them');

# Every table pg_repack can take: the store's partitions, the model catalog, the settings.
for my $target (['--parent-table', 'public.model_predictions'], ['-t', 'ai_scale.models'],
    ['-t', 'ai_scale.partition_config'])
{
    $node->command_ok([repack_args(@$target)], "pg_repack @$target");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM model_predictions'), $rows_before,
    'no row lost or doubled');
is($node->safe_psql('postgres',
        "SELECT count(*) FROM ai_scale.run_maintenance('model_predictions') "
          . "WHERE action = 'error'"),
    '0', 'maintenance after the repacks fails on nothing');
is($node->safe_psql('postgres', q{
SET ai_scale.cache_use_l1 = off;
SELECT string_agg(DISTINCT (p->>'source') || ' ' || ((p->>'score')::float8 = g + 2.5), ',')
  FROM (SELECT g, ai_scale.predict('lin', jsonb_build_object('a', g, 'b', 1)) p
          FROM generate_series(1, 20) g) s}),
    'l3 true', 'inputs stored before are answered from the store, with the same scores');
is($node->safe_psql('postgres',
        q{SELECT ai_scale.predict('lin', '{"a": 100, "b": 1}')->>'score'}),
    '102.5', 'a new input is scored with the repacked catalog');

done_testing();
