# A maintenance run that meets DDL on the table itself: a transaction holding the table (an
# ALTER TABLE not committed yet) makes the run report the table 'skipped', retried on the next
# run, not 'error' (it used to fail reading the partitions with a lock timeout, counted as an
# error); a table dropped while the run waited for it is left out without an error (it used to
# report "could not open relation with OID ...").
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('maintenance_table_ddl');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 hour', 2);
CREATE TABLE gone (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('gone', '1 hour', 2);});
my $errors = q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'};
my $errors_before = $node->safe_psql('postgres', $errors);

# A transaction holds the table: the run waits the short maintenance lock timeout, then skips,
# naming the session that holds it (by pid and the age of its transaction, nothing else).
my $ddl = $node->background_psql('postgres');
my $ddl_pid = $ddl->query_safe('SELECT pg_backend_pid()');
$ddl->query_safe('BEGIN; ALTER TABLE t ADD COLUMN w int;');
like(
    $node->safe_psql(
        'postgres', q{
SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t')}),
    qr/^skipped: canceling statement due to lock timeout; lock on public\.t held by pid $ddl_pid \(transaction open \d+\.\d s\); retried on the next run$/,
    'a table held by an uncommitted ALTER TABLE is skipped, naming the session holding it');
is($node->safe_psql('postgres', $errors), $errors_before, 'and no error is counted');
$ddl->query_safe('ROLLBACK');
is( $node->safe_psql(
        'postgres', q{SELECT count(*) FROM ai_scale.run_maintenance('t') WHERE action <> 'created'}),
    '0', 'the next run goes through');

# A table dropped while a run waits for it (a lock timeout long enough for the drop to commit):
# the run leaves it out, for a run of every table and for a run of that table.
my $waiting = q{SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'relation' AND NOT granted};
for my $call (q{ai_scale.run_maintenance()}, q{ai_scale.run_maintenance('gone')}) {
    $node->safe_psql('postgres', q{
CREATE TABLE IF NOT EXISTS gone (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('gone', '1 hour', 2)
WHERE NOT EXISTS (SELECT FROM ai_scale.partition_config WHERE parent = 'gone'::regclass);});
    $ddl->query_safe('BEGIN; DROP TABLE gone;');
    my $run = $node->background_psql('postgres');
    $run->query_safe(q{SET ai_scale.maintenance_lock_timeout = '5min'});
    $run->query_until(qr/sent/, "\\echo sent\n"
          . "SELECT 'rows:' || count(*) || ':' || coalesce(string_agg(action || ' ' || "
          . "coalesce(detail, ''), '; '), '') FROM $call "
          . "WHERE parent_table IS DISTINCT FROM 't'::regclass;\n");
    ok($node->poll_query_until('postgres', $waiting), "$call waits for the drop");
    $ddl->query_safe('COMMIT');
    like($run->query_until(qr/rows:\d+:[^\n]*\n/, ''), qr/rows:0:$/m,
        "$call: nothing reported for the dropped table");
    $run->quit;
}
is($node->safe_psql('postgres', $errors), $errors_before, 'no error counted');

$ddl->quit;
$node->stop;
done_testing();
