# The maintenance worker: runs by itself every ai_scale.maintenance_naptime in the databases
# named by ai_scale.maintenance_databases, shows up in pg_stat_activity, detaches concurrently
# when the table has no default partition, survives errors and stops cleanly. Its launcher
# waits for a listed database that does not exist yet, follows reloads of the list, restarts a
# worker that was terminated, and, itself restarted, replaces the old launcher's workers at once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'postgres, later'
ai_scale.maintenance_naptime = 1
});
$node->start;

ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND application_name = 'ai_scale maintenance' AND datname = 'postgres'"),
    'one worker, named in pg_stat_activity');
my $pid = $node->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'");

# Before the extension exists the worker idles; once it does, it maintains by itself.
$node->safe_psql('postgres', "CREATE EXTENSION ai_scale");
$node->safe_psql('postgres', "SELECT ai_scale.create_prediction_store(premake => 1)");
$node->safe_psql('postgres', "UPDATE ai_scale.partition_config SET premake = 4");
ok($node->poll_query_until('postgres', made_ahead(4, 'model_predictions')),
    'the worker creates the partitions premake asks for');

# A table without a default partition, with expired partitions: detached concurrently.
$node->safe_psql('postgres', q{
CREATE TABLE events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2020_01 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
SELECT count(*) FROM ai_scale.manage_partitions('events', '1 day', 1);
ALTER TABLE events DETACH PARTITION events_default;
DROP TABLE events_default;
UPDATE ai_scale.partition_config SET retention = '30 days', retention_mode = 'detach'
 WHERE parent = 'events'::regclass;
});
ok($node->poll_query_until('postgres',
        "SELECT NOT relispartition FROM pg_class WHERE relname = 'events_2020_01'"),
    'the worker detaches an expired partition');
ok($node->wait_for_log(qr/${worker_line}detached public\.events public\.events_2020_01/),
    'and logs it');

# A broken config fails its own table only; the worker keeps running and keeps working.
$node->safe_psql('postgres', q{
CREATE TABLE broken (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('broken', '1 day', 0);
UPDATE ai_scale.partition_config SET partition_interval = '1 month 1 day' WHERE parent = 'broken'::regclass;
});
ok($node->poll_query_until('postgres',
        "SELECT value > 0 FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'"),
    'the error is counted');
$node->safe_psql('postgres', "UPDATE ai_scale.partition_config SET premake = 6 WHERE parent = 'model_predictions'::regclass");
ok($node->poll_query_until('postgres', made_ahead(6, 'model_predictions')),
    'the worker goes on maintaining the other tables');
is($node->safe_psql('postgres',
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    $pid, 'the same worker process, which survived the error');
ok(maintenance_runs($node) > 2, 'runs are counted');

# Each table is maintained in a transaction of its own: while the worker waits on one table,
# the tables it maintained before are committed and their locks released, so a manual run of
# one of those does not wait for it.
$node->safe_psql('postgres', q{
ALTER SYSTEM SET ai_scale.maintenance_lock_timeout = '1min';
SELECT pg_reload_conf();
CREATE TABLE first_t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE second_t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('first_t', '1 day', 1);
SELECT count(*) FROM ai_scale.manage_partitions('second_t', '1 day', 1);
});
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN");
$holder->query_safe("SELECT ai_scale._lock_for_maintenance('second_t')");
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND datname = 'postgres' AND wait_event = 'advisory'"),
    'the worker waits for the table another session holds');
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_locks l
 WHERE l.pid = $pid AND l.locktype = 'advisory' AND l.objid = 'first_t'::regclass::oid
}), '0', 'holding no lock on the table it maintained before it');
is($node->safe_psql('postgres', q{
SET lock_timeout = '5s';
SELECT count(*) FROM ai_scale.run_maintenance('first_t') WHERE action IN ('skipped', 'error');
}), '0', 'which a manual run maintains meanwhile without waiting');
$holder->query_safe("COMMIT");
$holder->quit;
$node->safe_psql('postgres', q{
ALTER SYSTEM RESET ai_scale.maintenance_lock_timeout;
SELECT pg_reload_conf();
});
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND wait_event = 'advisory'"),
    'released, the worker goes on');

# A concurrent detach interrupted (the worker terminated while it waits for an old query) leaves
# the partition pending detach; the restarted worker completes it with DETACH ... FINALIZE.
my $reader = $node->background_psql('postgres');
$reader->query_safe("BEGIN; SELECT count(*) FROM events;");
$node->safe_psql('postgres', q{
CREATE TABLE events_2020_02 (LIKE events INCLUDING ALL);
ALTER TABLE events ATTACH PARTITION events_2020_02 FOR VALUES FROM ('2020-02-01') TO ('2020-03-01');
});
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND wait_event_type = 'Lock' AND query LIKE '%DETACH PARTITION public.events_2020_02 CONCURRENTLY'"),
    'the worker waits in a concurrent detach for the old query');
$node->safe_psql('postgres',
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'");
is($node->safe_psql('postgres',
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2020_02'::regclass"),
    't', 'terminated, it leaves the partition pending detach');
$reader->query_safe("COMMIT");
$reader->quit;
ok($node->poll_query_until('postgres',
        "SELECT NOT relispartition FROM pg_class WHERE relname = 'events_2020_02'"),
    'the restarted worker finalizes the detach');
ok($node->wait_for_log(qr/${worker_line}finalized detach of public\.events public\.events_2020_02/),
    'and logs it');

# A listed database that does not exist: said once, and its worker starts once it is created;
# DROP DATABASE stops that worker rather than failing on its connection; removed from the list
# by a reload, its worker stops.
ok($node->wait_for_log(qr/database "later" does not exist or does not accept connections; its worker starts when it does/),
    'a missing database is logged');
$node->safe_psql('postgres', 'CREATE DATABASE later');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' AND datname = 'later'"),
    'its worker starts once it exists');
my $missing_said = () = PostgreSQL::Test::Utils::slurp_file($node->logfile)
  =~ /database "later" does not exist/g;
is($missing_said, 1, 'the missing database was logged once');
my $postgres_worker = "SELECT pid FROM pg_stat_activity "
  . "WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'";
my $postgres_worker_pid = $node->safe_psql('postgres', $postgres_worker);
$node->safe_psql('postgres', 'DROP DATABASE later');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'later'"), '0',
    'DROP DATABASE succeeds while its worker is connected');
$node->safe_psql('postgres', 'CREATE DATABASE later');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' AND datname = 'later'"),
    'created again, it gets a worker again');
is($node->safe_psql('postgres', $postgres_worker), $postgres_worker_pid,
    "the DROP stopped that database's worker alone: postgres's runs on");
# So do the other statements that want no other session in the database (Postgres stops its
# autovacuum workers for them too): CREATE DATABASE ... TEMPLATE, ALTER DATABASE ... RENAME TO
# and ... SET TABLESPACE.
my $worker_in_later =
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' AND datname = 'later'";
$node->safe_psql('postgres', 'CREATE DATABASE later_copy TEMPLATE later');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'later_copy'"),
    '1', 'CREATE DATABASE ... TEMPLATE succeeds while its worker is connected');
$node->safe_psql('postgres', 'DROP DATABASE later_copy');
ok($node->poll_query_until('postgres', $worker_in_later), 'then the worker comes back');
# Also from a session connected to it (Postgres copies the current database, other sessions
# gone; the worker was left there, and the copy failed on it).
ok($node->poll_query_until('postgres', $worker_in_later), 'its worker is connected');
$node->safe_psql('later', 'CREATE DATABASE later_copy TEMPLATE later');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'later_copy'"),
    '1', 'CREATE DATABASE ... TEMPLATE of the current database succeeds while its worker is connected');
$node->safe_psql('postgres', 'DROP DATABASE later_copy');
ok($node->poll_query_until('postgres', $worker_in_later), 'then the worker comes back');
my $renamed_from = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER DATABASE later RENAME TO later_renamed');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'later_renamed'"),
    '1', 'ALTER DATABASE ... RENAME TO succeeds while its worker is connected');
# The launcher says which name the listed database goes by now (it said only that "later" did
# not exist).
ok($node->wait_for_log(
        qr/DETAIL:  The database of that name before \(OID \d+\) is now named "later_renamed": its worker starts there once ai_scale.maintenance_databases lists that name/,
        $renamed_from),
    'the launcher names the new name of a listed database renamed');
$node->safe_psql('postgres', 'ALTER DATABASE later_renamed RENAME TO later');
ok($node->poll_query_until('postgres', $worker_in_later), 'renamed back, it gets its worker again');
# Renamed to a name the list holds too: its worker runs there, as the detail says (it said the
# worker would start once the list held that name).
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres, later, later_renamed'");
$node->reload;
$renamed_from = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER DATABASE later RENAME TO later_renamed');
ok($node->wait_for_log(
        qr/DETAIL:  The database of that name before \(OID \d+\) is now named "later_renamed", which ai_scale.maintenance_databases lists: its worker runs there\./,
        $renamed_from),
    'renamed to another listed name, its worker runs there, as the launcher says');
$node->safe_psql('postgres', 'ALTER DATABASE later_renamed RENAME TO later');
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres, later'");
$node->reload;
ok($node->poll_query_until('postgres', $worker_in_later), 'renamed back again, it gets its worker');
# Renamed, the new name dropped, and the listed name made anew and dropped: the launcher names
# no name that the database it last found by the listed name never had.
$node->safe_psql('postgres', 'ALTER DATABASE later RENAME TO elsewhere');
ok($node->wait_for_log(qr/is now named "elsewhere"/, $renamed_from), 'a rename is told of');
$node->safe_psql('postgres', 'DROP DATABASE elsewhere');
$node->safe_psql('postgres', 'CREATE DATABASE later');
ok($node->poll_query_until('postgres', $worker_in_later), 'a worker in the later made anew');
my $dropped_from = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE later');
ok($node->wait_for_log(qr/database "later" does not exist/, $dropped_from),
    'the drop of the later made anew is logged');
unlike(PostgreSQL::Test::Utils::slurp_file($node->logfile, $dropped_from),
    qr/is now named "elsewhere"/, 'without naming the name the database dropped before had');
$node->safe_psql('postgres', 'CREATE DATABASE later');
ok($node->poll_query_until('postgres', $worker_in_later), 'made again, it gets its worker');
my $tablespace_dir = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', "CREATE TABLESPACE later_space LOCATION '$tablespace_dir'");
$node->safe_psql('postgres', 'ALTER DATABASE later SET TABLESPACE later_space');
is($node->safe_psql('postgres',
        "SELECT t.spcname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace "
      . "WHERE d.datname = 'later'"),
    'later_space', 'ALTER DATABASE ... SET TABLESPACE succeeds while its worker is connected');
ok($node->poll_query_until('postgres', $worker_in_later), 'and the worker comes back');
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'");
$node->reload;
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' AND datname = 'later'"),
    'a reload that drops it from the list stops its worker');
$node->safe_psql('postgres', 'DROP DATABASE later');
$node->safe_psql('postgres', 'DROP TABLESPACE later_space');
is($node->safe_psql('postgres',
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance launcher'"),
    '1', 'one launcher, named in pg_stat_activity');

# A launcher terminated by hand is started again (after its 10 s restart time); the new one's
# workers replace the old one's at once, not a naptime later (here an hour).
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_naptime = '1h'");
$node->reload;
my $old_worker = $node->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'");
my $old_launcher = $node->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance launcher'");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_launcher)");
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance launcher' AND pid <> $old_launcher"),
    'a terminated launcher is started again');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 AND bool_and(pid <> $old_worker) FROM pg_stat_activity "
      . "WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'"),
    'its workers replace the old ones at once');
ok($node->log_contains(qr/ai_scale maintenance worker in database "postgres" exits: a new launcher started its own/),
    'the old worker says why it exits');
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_naptime = 1");
$node->reload;

# Someone's DETACH ... CONCURRENTLY, interrupted, leaves a partition pending detach in a table
# whose retention never chose it (it has none). Until the detach is finalized its range is
# taken: maintenance makes no partition over it and reports it (a run by hand finalizes it
# itself when nothing holds it: test/tap/258). The worker finalizes the detach and keeps the
# table and its rows; then it makes a partition for that range again.
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = ''");
$node->reload;
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    'the worker stops while the partition is made pending');
$node->safe_psql('postgres', q{
CREATE TABLE kept (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('kept', '1 day', 2, time_zone => 'UTC');
ALTER TABLE kept DETACH PARTITION kept_default;
DROP TABLE kept_default;
INSERT INTO kept VALUES (now());
});
my $today = $node->safe_psql('postgres', "SELECT tableoid::regclass FROM kept");
my $snapshot = $node->background_psql('postgres');
$snapshot->query_safe("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM kept;");
like(detach_cancelled_in_wait($node, 'kept', $today), qr/canceling statement due to user request/,
    'a detach by hand, cancelled while it waits for the reader');
is($node->safe_psql('postgres',
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = '$today'::regclass"),
    't', 'the interrupted detach leaves the partition pending');
my $actions = q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'actions'};
my $actions_before = $node->safe_psql('postgres', $actions);
is($node->safe_psql('postgres',
        "SELECT string_agg(action, ', ') FROM ai_scale.run_maintenance('kept')"),
    'skipped',
    'by hand, while a reader holds it, maintenance cannot finalize it and makes no partition over its range');
is($node->safe_psql('postgres', $actions), $actions_before, 'a skipped step counts no action');
$snapshot->query_safe("COMMIT");
$snapshot->quit;
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'");
$node->reload;
ok($node->poll_query_until('postgres',
        "SELECT NOT relispartition FROM pg_class WHERE oid = '$today'::regclass"),
    'the worker finalizes the detach');
is($node->safe_psql('postgres', "SELECT count(*) FROM $today"), '1',
    'and keeps the table with its row');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM ai_scale.partitions('kept') "
      . "WHERE lower::timestamptz <= now() AND now() < upper::timestamptz"),
    'then makes a partition for that range again');
ok(!$node->log_contains(qr/${worker_line}dropped public\.kept /), 'it dropped nothing of it');

# A reload that replaces the list with 32 other names: the launcher used to add the new names'
# slots before forgetting the old ones, writing past its 32 slots over its generation, and
# every worker it started after that exited at once ("a new launcher started its own"), so
# maintenance stopped until the server restarted.
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = '"
      . join(', ', map { "gone$_" } 1 .. 32) . "'");
$node->reload;
ok($node->wait_for_log(qr/database "gone32" does not exist/, $log_offset),
    'the launcher takes a list of 32 other names');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    'and stops the worker of the database no longer listed');
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'");
$node->reload;
ok(maintenance_runs_reach($node, maintenance_runs($node) + 3),
    'listed again, the database gets a worker that keeps running maintenance');
ok(!$node->log_contains(qr/exits: a new launcher started its own/, $log_offset),
    'no worker took itself for one of a replaced launcher');

my ($ret, $out, $err) = $node->psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'a, " . ('x' x 64) . "'");
like($err, qr/invalid ai_scale.maintenance_databases: database name "x+" is too long/,
    'a name too long for a database is refused');

# A shutdown between runs: the worker leaves its loop and says so. Restarted with a naptime of an
# hour, it makes its first run and then naps, and nothing (no reload) starts another. With runs
# a second apart the shutdown could come during one, which ends at its next statement with that
# statement's FATAL (under load a run took most of each second, and a suite's stop came in
# one); and the line was looked for in the whole log, where a worker the launcher stopped
# earlier could have put it.
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_naptime = '1h'");
$node->restart;
ok($node->poll_query_until('postgres', q{
SELECT wait_event_type = 'Extension' AND wait_event = 'Extension' FROM pg_stat_activity
WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'}),
    'the restarted worker naps after its first run');
my $stop_offset = -s $node->logfile;
$node->stop('fast');
ok($node->log_contains(qr/ai_scale maintenance worker in database "postgres" stopping/,
        $stop_offset),
    'the worker stops cleanly on shutdown');
done_testing();
