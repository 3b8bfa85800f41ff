# Partition maintenance and locks: a long-running reader must not make new queries queue behind
# maintenance (DDL waits at most ai_scale.maintenance_lock_timeout, then reports 'skipped');
# concurrent runs on one table serialize on a lock only the table's owner may take; creating a partition does not
# block inserts into the other partitions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('locks');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
$node->safe_psql('postgres',
    "CREATE EXTENSION ai_scale; SELECT ai_scale.create_prediction_store(premake => 2);");
$node->safe_psql('postgres',
    "INSERT INTO model_predictions (model_name, model_version) VALUES ('m', 1)");

my $new_select = "SELECT count(*) FROM model_predictions WHERE model_name = 'probe'";
my $queued_select = "SELECT count(*) > 0 FROM pg_stat_activity "
  . "WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT count(*) FROM model_predictions WHERE model_name = ''probe''%'";

# A long reader: its open transaction holds locks on the parent and every partition.
my $reader = $node->background_psql('postgres');
$reader->query_safe("BEGIN; SELECT count(*) FROM model_predictions;");
$node->safe_psql('postgres', "UPDATE ai_scale.partition_config SET premake = 3");

# The problem, shown with a long lock wait (what maintenance without a lock timeout does): the
# attach waits for the reader, and a new SELECT queues behind the attach.
my $slow = $node->background_psql('postgres', on_error_stop => 0);
$slow->query_until(qr/started/, "SET ai_scale.maintenance_lock_timeout = '5min';\n\\echo started\n"
      . "SELECT count(*) FROM ai_scale.run_maintenance('model_predictions');\n");
$node->poll_query_until('postgres',
    "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%run_maintenance%'")
  or die 'maintenance never waited';
my $victim = $node->background_psql('postgres');
$victim->query_until(qr/sent/, "\\echo sent\n$new_select;\n");
ok($node->poll_query_until('postgres', $queued_select),
    'with a long lock wait, a new SELECT queues behind maintenance');
$node->safe_psql('postgres',
    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%run_maintenance%' AND pid <> pg_backend_pid()");
$victim->query_safe("SELECT 1");    # it got through once maintenance was cancelled
$victim->quit;
$slow->quit;

# ai_scale's default: the attach gives up after the short lock timeout, says so, and new
# queries run at once; the next run, after the reader is gone, does the work.
my $t0 = time;
my $rows = $node->safe_psql('postgres',
    "SELECT action || ': ' || detail FROM ai_scale.run_maintenance('model_predictions')");
my $maintenance_ms = (time - $t0) * 1000;
like($rows, qr/^skipped: create .*lock timeout.*retried on the next run$/m,
    'maintenance skips the partition it cannot lock and says why');
$t0 = time;
is($node->safe_psql('postgres', $new_select), '0', 'a new SELECT runs while the reader is open');
note(sprintf('maintenance gave up after %.0f ms; the next SELECT took %.0f ms',
    $maintenance_ms, (time - $t0) * 1000));
is($node->safe_psql('postgres',
        "INSERT INTO model_predictions (model_name, model_version) VALUES ('w', 1) "
          . "RETURNING model_name"),
    'w', 'a new INSERT runs while the reader is open');
$reader->query_safe("COMMIT");
like($node->safe_psql('postgres',
        "SELECT string_agg(action, ',') FROM ai_scale.run_maintenance('model_predictions')"),
    qr/^created$/, 'the skipped partition is created on the next run');

# Concurrent runs on one table serialize on the advisory lock.
$node->safe_psql('postgres', "UPDATE ai_scale.partition_config SET premake = 5");
my $first = $node->background_psql('postgres');
$first->query_safe("BEGIN; SELECT count(*) FROM ai_scale.run_maintenance('model_predictions');");
my $second = $node->background_psql('postgres');
$second->query_until(qr/sent/,
    "\\echo sent\nSELECT 'second:' || count(*) FROM ai_scale.run_maintenance('model_predictions');\n");
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"),
    'a second run waits on the advisory lock');

# While the first run's transaction holds its DDL locks, inserts into existing partitions go on.
is($node->safe_psql('postgres', "SET statement_timeout = '30s'; "
          . "INSERT INTO model_predictions (model_name, model_version) VALUES ('during', 1) "
          . "RETURNING model_name"),
    'during', 'an INSERT into an existing partition is not blocked by an open partition creation');
$first->query_safe("COMMIT");
my $second_out = $second->query_until(qr/second:\d+/, "");
like($second_out, qr/second:0/, 'the second run finds the work done');
$first->quit;
$second->quit;
$reader->quit;

# The lock is not one SQL's advisory lock functions take, nor one a role without the owner's
# rights may take through ai_scale: before, any role holding the key in pg_advisory_lock kept
# every run of the table skipped.
$node->safe_psql('postgres', q{
CREATE ROLE lock_stranger LOGIN;
UPDATE ai_scale.partition_config SET premake = 6;});
my $stranger = $node->background_psql('postgres', extra_params => [ '-U', 'lock_stranger' ]);
$stranger->query_safe("SELECT pg_advisory_lock(hashtext('ai_scale.maintenance'), "
      . "'model_predictions'::regclass::oid::int)");
my ($lock_rc, $lock_out, $lock_err) = $node->psql('postgres',
    "SELECT ai_scale._lock_for_maintenance('model_predictions')",
    extra_params => [ '-U', 'lock_stranger', '-v', 'VERBOSITY=verbose' ]);
like($lock_err, qr/42501: permission denied to act as the owner of table public\.model_predictions/,
    'a role without the owner\'s rights may not take the maintenance lock (42501)');
is($node->safe_psql('postgres', "SET lock_timeout = '5s';
SELECT string_agg(action, ',') FROM ai_scale.run_maintenance('model_predictions')"),
    'created', 'a run is not held up by the advisory locks any role may take');
$stranger->quit;

# A new table: its default partition, and its first partitions (made in place, under a lock on
# the whole table), wait no longer than the short timeout for a reader of it either.
$node->safe_psql('postgres',
    "CREATE TABLE fresh (at timestamptz NOT NULL) PARTITION BY RANGE (at)");
my $fresh_reader = $node->background_psql('postgres');
$fresh_reader->query_safe("BEGIN; SELECT count(*) FROM fresh;");
my ($rc, $out, $err) = $node->psql('postgres',
    "SELECT count(*) FROM ai_scale.manage_partitions('fresh', '1 day', 2)",
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55P03: could not lock table public\.fresh to add its default partition.*maintenance_lock_timeout/s,
    'adding the default partition gives up after the short lock timeout (55P03)');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_inherits WHERE inhparent = 'fresh'::regclass"),
    '0', 'nothing of it is left');
$fresh_reader->query_safe("COMMIT");
$node->safe_psql('postgres', "CREATE TABLE fresh_default PARTITION OF fresh DEFAULT");
$fresh_reader->query_safe("BEGIN; SELECT count(*) FROM fresh;");
like($node->safe_psql('postgres',
        "SELECT string_agg(DISTINCT action || ': ' || detail, '; ') "
      . "FROM ai_scale.manage_partitions('fresh', '1 day', 2)"),
    qr/^skipped: create .*lock timeout.*retried on the next run$/,
    'with a reader holding the table, its first partitions are skipped, not waited for');
is($node->safe_psql('postgres', "SELECT count(*) FROM fresh"), '0',
    'a new SELECT runs meanwhile');
$fresh_reader->query_safe("COMMIT");
is($node->safe_psql('postgres',
        "SELECT count(*) FROM ai_scale.run_maintenance('fresh') WHERE action = 'created'"),
    '3', 'once the reader is gone, the next run makes them');

# rescue_default called by hand: its attaches wait no longer than the short timeout either
# (55P03), nothing is moved, and a new SELECT is not queued meanwhile; the procedure waits and
# tries the batch again until the reader is gone.
$node->safe_psql('postgres',
    "INSERT INTO fresh SELECT timestamptz '2020-03-01 00:00 UTC' + i * interval '1 hour' FROM generate_series(1, 48) i");
$fresh_reader->query_safe("BEGIN; SELECT count(*) FROM fresh;");
($rc, $out, $err) = $node->psql('postgres',
    "SELECT count(*) FROM ai_scale.rescue_default('fresh')",
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55P03: canceling statement due to lock timeout/,
    'rescue_default gives up after the short lock timeout (55P03)');
is($node->safe_psql('postgres', "SELECT count(*) FROM ONLY fresh_default"), '48',
    'nothing is moved');
is($node->safe_psql('postgres', "SELECT count(*) FROM fresh WHERE at < '2000-01-01'"), '0',
    'a new SELECT runs meanwhile');
my $proc = $node->background_psql('postgres');
$proc->query_until(qr/called/, "\\echo called\nCALL ai_scale.rescue_default_proc('fresh', 1000);\n");
ok($node->poll_query_until('postgres',
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
      . "AND query LIKE 'CALL ai_scale.rescue_default_proc%'"),
    'rescue_default_proc pauses before it tries the batch again');
$fresh_reader->query_safe("COMMIT");
$proc->query("SELECT 1");
like($proc->{stderr},
    qr/batch 1: the table is busy \(canceling statement due to lock timeout\); trying again.*48 rows moved in 1 batch\b/s,
    'it says why it waits');
$proc->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM ONLY fresh_default"), '0',
    'and moves the rows once the reader is gone');

# The index rescue_default_proc builds on a large default waits for its lock as a batch does:
# behind a writer's transaction in the default, the build gives up in time and is tried again
# after a pause (it waited without a timeout, and every new writer into the default queued
# behind it); once the writer commits, the rows move and the index is dropped.
$node->safe_psql('postgres',
    "INSERT INTO fresh SELECT timestamptz '2020-05-01 00:00 UTC' + i * interval '1 hour' FROM generate_series(1, 48) i");
$fresh_reader->query_safe("BEGIN; INSERT INTO fresh VALUES ('2020-05-01 00:30 UTC');");
$proc = $node->background_psql('postgres');
$proc->query_until(qr/called/, "\\echo called\nCALL ai_scale.rescue_default_proc('fresh', 10);\n");
ok($node->poll_query_until('postgres',
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
      . "AND query LIKE 'CALL ai_scale.rescue_default_proc%'"),
    'the build of the rescue index pauses before it is tried again');
$fresh_reader->query_safe("COMMIT");
$proc->query("SELECT 1");
like($proc->{stderr},
    qr/index on the default partition: the table is busy \(canceling statement due to lock timeout\); trying again.*49 rows moved in \d+ batch(?:es)?/s,
    'it says why it waits, then moves the rows');
$proc->quit;
is($node->safe_psql('postgres',
        "SELECT count(*) FROM ONLY fresh_default UNION ALL SELECT count(*) FROM pg_index WHERE indrelid = 'fresh_default'::regclass"),
    "0\n0", 'the default is empty, and the index is gone');
$fresh_reader->quit;

$node->stop;
done_testing();
