# A randomized soak of a managed table with minute partitions: three writers insert rows from
# 15 minutes ago to 15 minutes ahead (rows past premake land in the default, rows past
# retention are rescued and then dropped) while the maintenance worker runs every second and a
# DBA does legitimate things at random: run_maintenance, rescue_default and
# rescue_default_proc by hand, manage_partitions with other premake / retention / modes,
# partitions detached, attached again, renamed, dropped or made by hand over odd ranges, the
# default detached (and given back by manage_partitions), cancelled DETACH ... CONCURRENTLY,
# VACUUM FULL, CLUSTER, REINDEX, ANALYZE, long transactions, the worker's run cancelled.
# Seed: AI_SCALE_SOAK_SEED (printed; it fixes the DBA's choices and the writers' rows, not
# the interleaving); rounds: AI_SCALE_SOAK_ROUNDS. deadlock_timeout is short so that a lock
# cycle between a query and maintenance shows (it did: TAP 277), and so are the DBA's
# lock_timeout and statement_timeout, as a careful DBA sets them.
#
# Then, with the DBA quiet and one last manage_partitions, what docs/partitioning.md promises:
# the worker converges (partitions from the current minute to premake ahead, none past
# retention, an empty default); every row a writer committed is in exactly one table (the
# table, or one the DBA or retention detached) unless retention or the DBA dropped the
# partition holding it after it was written; a writer's insert failed only as Postgres fails
# one beside a default partition (23514); every drop by maintenance was of a partition past
# the retention in force; no call of the DBA's failed with an internal error, nor one of ours
# (run_maintenance, a rescue, manage_partitions, ...) with a deadlock; and the log holds
# no ERROR or WARNING other than those of the DBA's own sessions, nor a maintenance error
# other than the DBA's own doing (its cancel of the worker's run, a partition made by hand over
# a range a run was making one for). It found the worker's concurrent detach failing on a
# partition dropped while it waited (TAP 143), the deadlocks of TAP 277 (a writer's insert
# cancelled) and TAP 276 (a DBA's ATTACH cancelled), the worker's DROP after its detach failing
# the table's run on a lock an event trigger took (TAP 278) or on a table a run by hand dropped
# first (TAP 281, in a CI run), its concurrent detach failing on a default partition made since
# the run's plan (TAP 282), and, in runs by hand, error rows
# for partitions the worker detached or dropped since the run's plan (one dropped before its
# step began named by its OID, a syntax error: seen with four TAP files at a time) and a
# FINALIZE after other DDL deadlocking with a writer (specs/maintenance_detach_races.spec).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $seed = $ENV{AI_SCALE_SOAK_SEED} // 274;
my $rounds = $ENV{AI_SCALE_SOAK_ROUNDS} // 250;
note("seed $seed, $rounds rounds (AI_SCALE_SOAK_SEED, AI_SCALE_SOAK_ROUNDS)");
diag("soak seed $seed");
srand($seed);

my $cold = PostgreSQL::Test::Utils::tempdir();
my $node = AiScaleTest::worker_node_with('chaos_soak',
    [ "timezone = 'UTC'", "log_line_prefix = '%m [%p] %a: '", 'deadlock_timeout = 100ms',
      'log_lock_waits = on' ],
    partition_time_zone => 'UTC');
$node->safe_psql('postgres', qq{
CREATE TABLESPACE cold LOCATION '$cold';
CREATE TABLE soak (id bigint NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE INDEX ON soak (at);
CREATE SEQUENCE ids;
-- Every attempt, committed with its outcome: refused rows with their error.
CREATE TABLE attempted (id bigint PRIMARY KEY, at timestamptz NOT NULL, done timestamptz NOT NULL,
                        took interval NOT NULL, sqlstate text, message text, detail text);
CREATE FUNCTION write_one(seconds int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    n bigint := nextval('ids');
    started timestamptz := clock_timestamp();
    t timestamptz := started + seconds * interval '1 second';
    state text;
    msg text;
    why text;
BEGIN
    BEGIN
        INSERT INTO soak VALUES (n, t);
    EXCEPTION WHEN others THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                why = PG_EXCEPTION_DETAIL;
    END;
    INSERT INTO attempted
    VALUES (n, t, clock_timestamp(), clock_timestamp() - started, state, msg, why);
END \$\$;
-- The bounds of every table that was ever a partition of soak, by OID (the default's
-- infinite), noted at the end of
-- each DDL command (maintenance's included), and each such table dropped, by whom, when and
-- under which retention.
CREATE TABLE bounds_seen (rel oid PRIMARY KEY, lo timestamptz NOT NULL, hi timestamptz NOT NULL);
CREATE TABLE drops (rel oid, name text, app text, query text, started timestamptz,
                    done timestamptz, retention interval, mode text);
-- (A partition dropped by another session since this statement's snapshot has no bound text:
-- pg_get_expr looks the table up afresh, finds none, and returns null. Taken as the default's
-- bounds, -infinity to infinity, it replaced those noted before, and the drop seemed to be of a
-- partition inside retention: seen once with four TAP files at a time.)
CREATE FUNCTION note_bounds() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.bounds_seen
    SELECT c.oid, coalesce(m[1], '-infinity')::timestamptz, coalesce(m[2], 'infinity')::timestamptz
      FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid,
           LATERAL pg_catalog.pg_get_expr(c.relpartbound, c.oid) b(text),
           LATERAL pg_catalog.regexp_match(b.text,
                                           'FROM \\(''([^'']*)''\\) TO \\(''([^'']*)''\\)') m
     WHERE i.inhparent = 'public.soak'::pg_catalog.regclass AND b.text IS NOT NULL
    ON CONFLICT (rel) DO UPDATE SET lo = excluded.lo, hi = excluded.hi;
END \$\$;
CREATE FUNCTION note_drops() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.drops
    SELECT d.objid, d.object_identity, pg_catalog.current_setting('application_name'),
           pg_catalog.left(pg_catalog.current_query(), 100), pg_catalog.now(),
           pg_catalog.clock_timestamp(), c.retention, c.retention_mode
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
      LEFT JOIN ai_scale.partition_config c ON c.parent = 'public.soak'::pg_catalog.regclass
     WHERE d.object_type = 'table' AND d.objid IN (SELECT rel FROM public.bounds_seen);
END \$\$;
CREATE EVENT TRIGGER note_bounds ON ddl_command_end EXECUTE FUNCTION note_bounds();
CREATE EVENT TRIGGER note_drops ON sql_drop EXECUTE FUNCTION note_drops();
SELECT count(*) FROM ai_scale.manage_partitions('soak', '1 minute', premake => 2,
    retention => '6 minutes', time_zone => 'UTC');
});
my $log_offset = -s $node->logfile;

# The writers: three pgbench clients, each attempt committed (and written down) on its own.
my $script = $node->basedir . '/write.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{\set seconds random(-900, 900)
SELECT write_one(:seconds);
\set pause random(0, 15)
\sleep :pause ms
});
my ($bench_out, $bench_err) = ('', '');
my $writers = IPC::Run::start(
    [ 'pgbench', '--no-vacuum', '--client=3', '--transactions=' . 10 * $rounds,
      "--random-seed=$seed", '--file', $script, '-h', $node->host, '-p', $node->port,
      'postgres' ],
    '>', \$bench_out, '2>', \$bench_err);

# The DBA: one session for its actions, one for long transactions.
my %settings = (application_name => 'chaos', lock_timeout => '500ms',
    client_min_messages => 'warning');
my $dba = $node->background_psql('postgres', on_error_stop => 0);
$dba->query_safe(join('', map { "SET $_ = '$settings{$_}';" } sort keys %settings)
      . "\n\\set VERBOSITY verbose");
$dba->set_query_timer_restart;
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->set_query_timer_restart;
$holder->query_safe("SET application_name = 'holder'; SET client_min_messages = warning;");
my $holding = 0;

my (%dba_errors, @unexpected);
# Runs $sql in the DBA's session; returns its output, noting its error's SQLSTATE.
sub dba {
    my ($what, $sql) = @_;
    $dba->{stderr} = '';
    my $out = $dba->query($sql);
    while ($dba->{stderr} =~ /(ERROR|WARNING):\s+(\w{5}): ([^\n]*)/g) {
        my ($level, $state, $msg) = ($1, $2, $3);
        $dba_errors{"$what $state"}++;
        # (A REINDEX CONCURRENTLY that timed out leaves invalid indexes, which the next one
        # warns about: the DBA's own doing. A deadlock is the DBA's own DDL against a run's,
        # as two DBAs' statements deadlock, except in a call of ours: the DBA's session waits
        # for nothing else, so a writer or the worker was on the other side.)
        push @unexpected, "$what: $level $state $msg"
          if $state =~ /^XX/
          || ($level eq 'WARNING' && $what ne 'rewrite')
          || ($state eq '40P01' && $what =~ /^(?:run|rescue|proc|config|batch|list)$/);
    }
    return $out;
}
# A maintenance error the DBA's own racing caused: a partition made by hand over a range a run
# was making one for.
sub dba_race {
    return $_[0] =~ /would overlap partition "soak_odd_\d+"/;
}
sub pick {
    my @list = @_;
    return @list ? $list[ int(rand(@list)) ] : undef;
}
sub partitions {
    my ($where) = @_;
    return split /\n/, dba('list', qq{SELECT partition FROM ai_scale.partitions('soak')
      WHERE $where ORDER BY partition});
}
sub detached_tables {
    return split /\n/, dba('list', q{SELECT c.oid::regclass FROM pg_class c
      JOIN bounds_seen b ON b.rel = c.oid WHERE NOT c.relispartition AND b.hi < 'infinity'
     ORDER BY 1});
}
sub random_config {
    my $mode = pick('drop', 'drop', 'detach', 'tier');
    my $retention = pick('NULL', "'4 minutes'", "'6 minutes'", "'9 minutes'");
    $retention = "'6 minutes'" if $mode eq 'tier' && $retention eq 'NULL';
    my $cold_after =
      $mode ne 'tier' && $retention ne 'NULL' && rand() < 0.3 ? "'3 minutes'" : 'NULL';
    return sprintf(q{SELECT action, detail FROM ai_scale.manage_partitions('soak', '1 minute',
        premake => %d, retention => %s, retention_mode => '%s', time_zone => 'UTC',
        cold_after => %s, cold_tablespace => %s) WHERE action IN ('error', 'skipped')},
        int(rand(6)), $retention, $mode, $cold_after,
        ($mode eq 'tier' || $cold_after ne 'NULL') ? "'cold'" : 'NULL');
}

my %actions = (
    run => [ 8, sub {
        my $rows = dba('run', q{SELECT action || ': ' || detail
          FROM ai_scale.run_maintenance('soak') WHERE action = 'error'});
        push @unexpected, "run_maintenance: $_"
          for grep { $_ ne '' && !dba_race($_) } split /\n/, $rows;
    } ],
    rescue => [ 6, sub {
        dba('rescue', 'SELECT count(*) FROM ai_scale.rescue_default(\'soak\', '
              . pick(1, 50, 500, 10000) . ')');
    } ],
    proc => [ 3, sub {
        # (Behind a lock it tries a batch ten times, for 25 s: cut short, as a DBA may.)
        dba('proc', "SET statement_timeout = '3s'; CALL ai_scale.rescue_default_proc('soak', "
              . pick(20, 300) . '); RESET statement_timeout');
    } ],
    config => [ 5, sub {
        my $rows = dba('config', random_config());
        note("manage_partitions: $rows") if $rows ne '';
    } ],
    batch => [ 1, sub {
        dba('batch', 'UPDATE ai_scale.partition_config SET rescue_batch_rows = '
              . pick(10, 100, 10000));
    } ],
    detach => [ 3, sub {
        my $p = pick(partitions(q{tier IN ('hot', 'cold')})) // return;
        dba('detach', "ALTER TABLE soak DETACH PARTITION $p");
    } ],
    detach_concurrently => [ 2, sub {
        my $p = pick(partitions(q{tier IN ('hot', 'cold')})) // return;
        dba('detach_concurrently', 'SET statement_timeout = ' . pick(5, 50, 2000)
              . "; ALTER TABLE soak DETACH PARTITION $p CONCURRENTLY; RESET statement_timeout");
    } ],
    detach_default => [ 2, sub {
        my $p = pick(partitions(q{tier = 'default'})) // return;
        dba('detach_default', "ALTER TABLE soak DETACH PARTITION $p");
    } ],
    attach => [ 3, sub {
        my $t = pick(detached_tables()) // return;
        dba('attach', qq{SELECT format('ALTER TABLE soak ATTACH PARTITION %s
            FOR VALUES FROM (%L) TO (%L)', '$t', lo, hi)
          FROM bounds_seen WHERE rel = '$t'::regclass \\gexec});
    } ],
    rename => [ 2, sub {
        my $p = pick(partitions(q{tier <> 'detach pending'})) // return;
        dba('rename', "ALTER TABLE $p RENAME TO soak_renamed_" . int(rand(1e6)));
    } ],
    drop => [ 2, sub {
        my $p = pick(partitions(q{tier IN ('hot', 'cold')}), detached_tables()) // return;
        dba('drop', "DROP TABLE $p");
    } ],
    odd => [ 2, sub {
        my $from = int(rand(25)) - 10;
        dba('odd', sprintf(q{SELECT format('CREATE TABLE soak_odd_%s PARTITION OF soak
                FOR VALUES FROM (%%L) TO (%%L)',
            date_trunc('minute', now()) + interval '%d minutes 17 seconds',
            date_trunc('minute', now()) + interval '%d minutes 43 seconds') \gexec},
            int(rand(1e6)), $from, $from + 1 + int(rand(2))));
    } ],
    rewrite => [ 5, sub {
        my $p = pick(partitions('true')) // 'soak_default';
        dba('rewrite', pick("VACUUM FULL $p", 'VACUUM FULL soak',
            "SELECT format('CLUSTER %s USING %s', indrelid::regclass, indexrelid::regclass)
               FROM pg_index WHERE indrelid = '$p'::regclass AND indisprimary \\gexec",
            'REINDEX TABLE soak', 'REINDEX TABLE CONCURRENTLY soak', 'ANALYZE soak', "VACUUM $p"));
    } ],
    hold => [ 3, sub {
        if ($holding) {
            $holder->query('COMMIT');
            $holding = 0;
            return;
        }
        my $p = pick(partitions('true')) // 'soak';
        $holder->{stderr} = '';
        $holder->query(pick('BEGIN; SELECT count(*) FROM soak;', "BEGIN; SELECT count(*) FROM $p;",
            "BEGIN; LOCK TABLE $p IN ROW EXCLUSIVE MODE;",
            'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM attempted;'));
        $holding = 1;
    } ],
    cancel_worker => [ 2, sub {
        dba('cancel_worker', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
          WHERE backend_type = 'ai_scale maintenance'});
    } ],
);
my @deck = map { ($_) x $actions{$_}[0] } sort keys %actions;

my $round = 0;
my %done;
while ($round < $rounds || $writers->pumpable) {
    my $what = pick(@deck);
    $actions{$what}[1]->();
    $done{$what}++;
    $round++;
    $writers->pump_nb if $writers->pumpable;
    usleep(int(rand(200_000)));
    last if $round > 20 * $rounds;    # the writers are stuck: the checks below say so
}
note('actions: ' . join(', ', map { "$_ $done{$_}" } sort keys %done));
ok($writers->finish, 'the writers ran to their end') or diag($bench_err);

# Quiet: the long transaction ends, a last manage_partitions (which adds a default partition
# again where the DBA detached it), and the worker by itself.
$holder->query('COMMIT') if $holding;
$holder->quit;
my $final = random_config();
my ($premake) = $final =~ /premake => (\d+)/;
my ($retention) = $final =~ /retention => (NULL|'[^']*')/;
my ($mode) = $final =~ /retention_mode => '(\w+)'/;
note("final: premake $premake, retention $retention, mode $mode");
# A worker's run may hold the table still (for 8.6 s under AddressSanitizer): the call then
# refuses with 55P03, saying to call it again once the run ends, as it is here.
for (1 .. 120) {
    $dba->{stderr} = '';
    $dba->query("SET lock_timeout = 0; $final");
    last unless $dba->{stderr} =~ /ERROR:\s+55P03:/;
    usleep(500_000);
}
is($dba->{stderr}, '', 'the last manage_partitions succeeds');
my $converged = qq{
SELECT (SELECT rows FROM ai_scale.check_default('soak')) = 0
   AND NOT EXISTS (SELECT FROM ai_scale.partitions('soak') WHERE tier = 'detach pending')
   -- every second from the current minute to premake minutes ahead is in a partition
   AND NOT EXISTS (
       SELECT FROM generate_series(date_trunc('minute', now()),
                                   date_trunc('minute', now())
                                     + interval '$premake minutes 59 seconds',
                                   interval '1 second') s
        WHERE NOT EXISTS (SELECT FROM ai_scale.partitions('soak')
                           WHERE tier <> 'default' AND lower::timestamptz <= s
                             AND s < upper::timestamptz))
   -- none past retention is left (hot, in tier mode)
   AND NOT EXISTS (SELECT FROM ai_scale.partitions('soak')
                    WHERE tier <> 'default' AND ${retention}::interval IS NOT NULL
                      AND upper::timestamptz <= now() - ${retention}::interval
                      AND ('$mode' <> 'tier' OR tier = 'hot'))};
my $ok = $node->poll_query_until('postgres', $converged);
ok($ok, 'the worker converges on the configuration') or diag($node->safe_psql('postgres',
    "SELECT now(); SELECT * FROM ai_scale.partitions('soak')"));

# Stop the worker, so that the tables stay put while they are counted.
my $log_end = -s $node->logfile;
$node->safe_psql('postgres',
    q{ALTER SYSTEM SET ai_scale.maintenance_databases = ''; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    'the worker stops');
$dba->quit;

my $tables = $node->safe_psql('postgres', q{
SELECT string_agg(format('SELECT id, tableoid AS rel FROM %s', c.oid::regclass), ' UNION ALL ')
  FROM pg_class c
 WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
   AND c.oid IN (SELECT rel FROM bounds_seen)});
my ($attempts, $stored, $refused) = split /\|/, $node->safe_psql('postgres', qq{
CREATE TABLE found AS $tables;
SELECT (SELECT count(*) FROM attempted), (SELECT count(*) FROM found),
       (SELECT count(*) FROM attempted WHERE sqlstate IS NOT NULL)});
note("$attempts rows attempted: $refused refused, $stored found in "
      . $node->safe_psql('postgres', 'SELECT count(DISTINCT rel) FROM found') . ' tables; '
      . $node->safe_psql('postgres', 'SELECT count(*) FROM drops')
      . ' tables dropped; inserts took '
      . $node->safe_psql('postgres', q{SELECT format('%s at most, %s in 99%% of them', max(took),
            percentile_disc(0.99) WITHIN GROUP (ORDER BY took)) FROM attempted}));
ok($attempts > 5 * $rounds, 'the writers wrote');
is($node->safe_psql('postgres', q{
SELECT string_agg(format('%s (%s): %s %s', sqlstate, count, message, detail), E'\n')
  FROM (SELECT sqlstate, min(message) AS message, min(detail) AS detail, count(*) FROM attempted
         WHERE sqlstate IS NOT NULL
           AND NOT (sqlstate = '23514'
                    AND (message ~ '^new row for relation ".*" violates partition constraint$'
                         OR message ~ '^no partition of relation "soak" found for row$'))
         GROUP BY 1) e}), '', 'an insert fails only on a partition attached beside the default');
is($node->safe_psql('postgres', q{
SELECT string_agg(format('%s x%s', id, n), ' ')
  FROM (SELECT id, count(*) AS n FROM found GROUP BY id HAVING count(*) > 1) d}),
    '', 'no row stored twice');
is($node->safe_psql('postgres', q{
SELECT string_agg(format('%s at %s (done %s)', a.id, a.at, a.done), E'\n')
  FROM attempted a
 WHERE a.sqlstate IS NULL AND NOT EXISTS (SELECT FROM found f WHERE f.id = a.id)
   AND NOT EXISTS (SELECT FROM drops d JOIN bounds_seen b USING (rel)
                    WHERE b.lo <= a.at AND a.at < b.hi AND a.done < d.done)}),
    '', 'every row written is kept, unless a partition of its range was dropped after it');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM attempted a JOIN found f USING (id) WHERE a.sqlstate IS NOT NULL}),
    '0', 'no refused row is stored');
is($node->safe_psql('postgres', q{
SELECT string_agg(format('%s [%s, %s) dropped by %s at %s under retention %s (%s)',
                         d.name, b.lo, b.hi, d.app, d.started, d.retention, d.mode), E'\n')
  FROM drops d JOIN bounds_seen b USING (rel)
 WHERE NOT (d.app = 'chaos' AND d.query LIKE 'DROP TABLE %')
   AND (d.retention IS NULL OR d.mode <> 'drop' OR b.hi > d.started - d.retention)}),
    '', 'maintenance drops only partitions past the retention in force');

# The log: errors and warnings only from the DBA's sessions, no maintenance error.
my $log = substr(PostgreSQL::Test::Utils::slurp_file($node->logfile), $log_offset,
    $log_end - $log_offset);
my $cancelled = 'canceling statement due to user request';
my $run_failed = worker_failed(undef, 'postgres');
my $soak_failed = worker_failed('public\.soak', 'postgres');
my @bad = grep {
    /(?:ERROR|WARNING|FATAL|PANIC):|${worker_line}error|ai_scale maintenance.* failed:/
      && !/\] (?:chaos|holder): /
      # the DBA's pg_cancel_backend of the worker
      && !/(?:$run_failed|$soak_failed): $cancelled$/
      && !dba_race($_)
} split /\n/, $log;
is(join("\n", @bad[ 0 .. ($#bad < 20 ? $#bad : 19) ]), '', 'the log holds no unexpected error');
is(join("\n", @unexpected), '',
    'no internal error or warning in the DBA\'s calls, no deadlock in its calls of ours');
note('DBA errors: ' . join(', ', map { "$_ x$dba_errors{$_}" } sort keys %dba_errors));

$node->stop;
done_testing();
