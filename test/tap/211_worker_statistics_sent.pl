# The background workers send their statistics while they run, as a client backend does when it
# goes idle. Before, they sent them only at exit: the maintenance worker and the launcher never
# exit, so their scans, transactions and the dead catalog rows of the partitions they made and
# dropped were never counted (autovacuum did not know of them), and a store worker kept busy for
# hours inserted rows that n_tup_ins and n_mod_since_analyze did not count, so that autovacuum
# neither analyzed nor vacuumed the partitions it filled.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Autovacuum off: its launcher scans pg_database too, and its workers would touch the tables.
my $node = worker_node('worker_statistics_sent', store_mode => 'async');
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->reload;
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('s_lin', 'linear', ARRAY['a'], '{"weights": [1]}');});

sub pid_of {
    my ($type) = @_;
    return $node->safe_psql('postgres',
        "SELECT pid FROM pg_stat_activity WHERE backend_type = '$type'");
}

# The maintenance worker: each run lists the managed tables with a scan of
# ai_scale.partition_config, which nothing else here reads after create_prediction_store.
my $worker = pid_of('ai_scale maintenance');
like($worker, qr/^\d+$/, 'the maintenance worker runs');
my $config_scans = q{
SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_all_tables
WHERE relid = 'ai_scale.partition_config'::regclass};
my $before = $node->safe_psql('postgres', $config_scans);
ok($node->poll_query_until('postgres', "SELECT ($config_scans) >= $before + 3"),
    'the scans of its runs are counted in pg_stat_all_tables');
is(pid_of('ai_scale maintenance'), $worker, 'while it runs (not sent by its exit)');

# The launcher: each look at the databases is a scan of pg_database, which a client's
# connection reads through its index.
my $launcher = pid_of('ai_scale maintenance launcher');
my $scans = $node->safe_psql('postgres',
    q{SELECT seq_scan FROM pg_stat_all_tables WHERE relid = 'pg_catalog.pg_database'::regclass});
ok($node->poll_query_until('postgres', qq{
SELECT seq_scan >= $scans + 2 FROM pg_stat_all_tables
WHERE relid = 'pg_catalog.pg_database'::regclass}),
    "the launcher's scans of pg_database are counted");
is(pid_of('ai_scale maintenance launcher'), $launcher, 'while it runs');

# The store worker: the rows of a first async call are counted while the worker is kept busy by
# more calls (it exits, and so sends what it holds, after 10 s with nothing queued).
$node->safe_psql('postgres', q{
SELECT ai_scale.predict_batch('s_lin',
    ARRAY(SELECT jsonb_build_object('a', i) FROM generate_series(1, 100) i))});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 100 FROM public.model_predictions'),
    'the store worker wrote the queued rows');
my $store = pid_of('ai_scale store');
like($store, qr/^\d+$/, 'the store worker runs');
my $counted = 0;
for my $i (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default) {
    $node->safe_psql('postgres',
        qq{SELECT ai_scale.predict('s_lin', jsonb_build_object('a', 1000 + $i))});
    $counted = $node->safe_psql('postgres', q{
SELECT sum(n_tup_ins) >= 100 FROM pg_stat_all_tables
WHERE relid IN (SELECT inhrelid FROM pg_inherits
                WHERE inhparent = 'public.model_predictions'::regclass)}) eq 't';
    last if $counted;
    usleep(100_000);
}
ok($counted, "the store worker's inserts are counted in n_tup_ins");
is(pid_of('ai_scale store'), $store, 'while it runs');

$node->stop;
done_testing();
