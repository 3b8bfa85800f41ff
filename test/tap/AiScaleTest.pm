# What several TAP tests set up alike: a primary preloading ai_scale that uses the Redis primary
# and replica test/run.sh started, and a streaming hot standby of it; Redis servers and
# sentinels of a test's own, started and stopped by name.
package AiScaleTest;
use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use POSIX ();
use IPC::Run;
use IO::Socket::INET;
use FindBin;
use InitdbTemplate;
use PollPace;

our @EXPORT = qw(primary_and_standby cache_node register_heavy_mlp worker_node worker_node_with small_lock_table_worker_node
  short_slots_node managed_database made_ahead store_node store_database store_worker_held
  queued_while_fork_fails full_tree_function memory_functions old_partition_table worker_drop_fails hold_worker_detach
  stop_worker_mid_detach drop_behind_reader detach_cancelled_in_wait kill_backend crash_restart
  python_server_start fake_sentinel_start hold_proxy_start lookup_held release_held slow_resolver_node
  worker_alter_gate launcher_reloaded
  publisher_and_subscriber row_arrives redis_start sentinel_start redis_pid redis_stop
  cache_get_cancelled_while_stopped start_clock_shifted shift_clock clock_shifted_worker_node
  redis_replica_caught_up fill_lock_table timeout_sweep_points timeout_sweep_reset context_used
  redis_paused generation_counters counters_raised fork_clients clients_exited lines_logged extension_recreated_behind
  $worker_line worker_failed $maintenance_runs_sql maintenance_runs maintenance_runs_reach
  one_worker_run);

# The start of each line the maintenance worker logs of what a run did in its database
# (src/partition/worker.cpp, worker_detach.cpp), in any database: "ai_scale maintenance in
# database "postgres": dropped public.r public.r_old". A test's pattern goes on from it:
# qr/${worker_line}dropped public\.r public\.r_old/.
our $worker_line = qr/ai_scale maintenance in database "\w+": /;

# The line the worker logs when its maintenance of table $table (a pattern: 'public\.r'; undef
# for its run as a whole) failed, up to "failed" (the error's message follows, after ": "), in
# database $db (a pattern; any by default): "ai_scale maintenance of public.r in database
# "postgres" failed: canceling statement due to lock timeout".
sub worker_failed {
    my ($table, $db) = @_;
    my $what = defined $table ? "of $table" : 'run';
    $db //= '\w+';
    return qr/ai_scale maintenance $what in database "$db" failed/;
}

# The statement_timeout values (ms) of a sweep interrupting a call that takes full_ms
# uninterrupted: 1 ms, then doubled (plus one) up to 1.5 times its length (TAP 250, 251).
sub timeout_sweep_points {
    my ($full_ms) = @_;
    my @points;
    for (my $t = 1; $t < 1.5 * $full_ms + 2; $t = 2 * $t + 1) {
        push @points, $t;
    }
    return @points;
}

# The lines of a sweep's script that end a point's statement_timeout. The RESET runs under the
# point's timeout itself, and a timeout that fires as a statement ends cancels the one after it
# (the server reads the next query, then gives the cancel): on a slow machine the point's check
# after the RESET was cancelled so, and missing (TAP 250 in a CI run). A second RESET takes
# such a cancel; a third, one more if the first RESET itself was cancelled.
sub timeout_sweep_reset {
    return join("\n", ('RESET statement_timeout;') x 3);
}

# A started node preloading ai_scale with the L1 off (so that every read reaches Redis) and the
# given ai_scale.* settings (name => value), the extension created in its postgres database.
sub cache_node {
    my ($name, %settings) = @_;
    # A Redis descheduled for 100 ms (the default redis_timeout_ms) on a loaded machine timed
    # calls out that a test expected to be answered; tests of timeouts set their own.
    $settings{redis_timeout_ms} //= 10000;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf',
        join("\n", "shared_preload_libraries = 'ai_scale'", "ai_scale.cache_use_l1 = off",
            map { "ai_scale.$_ = '$settings{$_}'" } sort keys %settings) . "\n");
    $node->start;
    $node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
    return $node;
}

# Registers in $node's postgres database the mlp "heavy" that ai_scale.gpu = auto sends to the
# GPU (12 multiply-adds a feature, as in sql/gpu_scoring.sql): each hidden unit relu(0.5a +
# 0.25b), the output 0.125 times their sum, 1 for (1, 2). TAP 295, 326.
sub register_heavy_mlp {
    my ($node) = @_;
    $node->safe_psql('postgres', q{
SELECT ai_scale.register_model('heavy', 'mlp', ARRAY['a', 'b'],
    jsonb_build_object('layers', jsonb_build_array(
        jsonb_build_object('weights', (SELECT jsonb_agg('[0.5, 0.25]'::jsonb) FROM generate_series(1, 8)),
                           'bias', (SELECT jsonb_agg(0) FROM generate_series(1, 8)), 'activation', 'relu'),
        jsonb_build_object('weights', jsonb_build_array((SELECT jsonb_agg(0.125) FROM generate_series(1, 8))),
                           'bias', '[0]'::jsonb, 'activation', 'identity'))))});
}

# A started node preloading ai_scale with the given ai_scale.* settings (name => value), the
# extension created in its postgres database and the prediction store public.model_predictions
# made there.
sub store_node {
    my ($name, %settings) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf',
        join("\n", "shared_preload_libraries = 'ai_scale'",
            map { "ai_scale.$_ = '$settings{$_}'" } sort keys %settings) . "\n");
    $node->start;
    $node->safe_psql('postgres',
        'CREATE EXTENSION ai_scale; SELECT ai_scale.create_prediction_store();');
    return $node;
}

# A session of $node's postgres database, named dropper, that drops ai_scale, creates it again
# and runs $then (registrations, say), then echoes "done"; returned while it runs, as it may wait
# for a lock (read its output with query_until(qr/done/, '')). TAP 146, 287.
sub extension_recreated_behind {
    my ($node, $then) = @_;
    my $dropper = $node->background_psql('postgres');
    $dropper->query_safe("SET application_name = 'dropper'");
    $dropper->query_until(qr/sent/,
        "\\echo sent\nDROP EXTENSION ai_scale;\nCREATE EXTENSION ai_scale;\n$then\n\\echo done\n");
    return $dropper;
}

# A database $db of $node made with the extension, the prediction store public.model_predictions
# and the linear model m over feature a (weight 1).
sub store_database {
    my ($node, $db) = @_;
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [1], "bias": 0}');});
}

# Holds the store worker of $node's database $db (postgres by default): a session locks the
# store ($store, or public.model_predictions) against inserts and keeps its transaction open,
# then an async $predict (what a SELECT returns: a predict() call, or a count of many) queues
# rows for it, whose insert waits. Returns the session (COMMIT through it lets the worker go
# on) and whether the worker was seen waiting for the lock.
sub store_worker_held {
    my ($node, $predict, $store, $db) = @_;
    my $store_setting = defined $store ? "SET ai_scale.store_table = '$store';" : '';
    $store //= 'public.model_predictions';
    $db //= 'postgres';
    my $locker = $node->background_psql($db);
    $locker->query_safe("BEGIN; LOCK TABLE $store IN SHARE MODE;");
    $node->safe_psql($db, "SET ai_scale.store_mode = async; $store_setting SELECT $predict;");
    my $waits = $node->poll_query_until('postgres', q{
SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.application_name = 'ai_scale store' AND NOT l.granted});
    return ($locker, $waits);
}

# Queues an async prediction of the model w_lin in $db while the postmaster cannot fork (its
# process limit lowered to 1 with prlimit, then restored). Returns whether the log says the
# store worker's fork failed.
sub queued_while_fork_fails {
    my ($node, $db) = @_;
    my $pm = $node->{_pid};
    chomp(my $nproc = `prlimit --pid $pm --nproc --output SOFT --noheadings`);
    $nproc =~ s/^\s+//;
    my $queuer = $node->background_psql($db);
    my $log_offset = -s $node->logfile;
    system('prlimit', '--pid', $pm, '--nproc=1:') == 0 or die 'prlimit failed';
    $queuer->query_safe(q{SELECT ai_scale.predict('w_lin', '{"a": 7, "b": 1}')});
    my $fork_failed = 0;
    for (1 .. 300) {
        $fork_failed = slurp_file($node->logfile, $log_offset) =~ /could not fork worker process/;
        last if $fork_failed;
        usleep(100_000);
    }
    system('prlimit', '--pid', $pm, "--nproc=$nproc:") == 0 or die 'prlimit failed';
    $queuer->quit;
    return $fork_failed;
}

# SQL making tree(depth int) RETURNS jsonb: a full XGBoost tree of that depth over 8 features
# (node i's children are 2i+1 and 2i+2), for gbdt models as large as a test wants.
sub full_tree_function {
    return q{
CREATE FUNCTION tree(depth int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object(
    'left_children', jsonb_agg(CASE WHEN i >= (1 << depth) - 1 THEN -1 ELSE 2 * i + 1 END ORDER BY i),
    'right_children', jsonb_agg(CASE WHEN i >= (1 << depth) - 1 THEN -1 ELSE 2 * i + 2 END ORDER BY i),
    'split_indices', jsonb_agg(i % 8 ORDER BY i),
    'split_conditions', jsonb_agg(CASE WHEN i >= (1 << depth) - 1 THEN 0.01 ELSE 0.5 END ORDER BY i),
    'default_left', jsonb_agg(true ORDER BY i))
  FROM generate_series(0, (2 << depth) - 2) i $$;};
}

# SQL making rss_anon_kb() and peak_kb() RETURNS int: the calling backend's anonymous resident
# memory (RssAnon) and its peak resident memory (VmHWM), in kB, from /proc/self/status.
sub memory_functions {
    return q{
CREATE FUNCTION rss_anon_kb() RETURNS int LANGUAGE sql
    AS $$ SELECT substring(pg_read_file('/proc/self/status') FROM 'RssAnon:\s+(\d+)')::int $$;
CREATE FUNCTION peak_kb() RETURNS int LANGUAGE sql
    AS $$ SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s+(\d+)')::int $$;};
}

# The maintenance runs the workers of a server have made (ai_scale.stats; all its databases
# together), as a parenthesized SQL expression for a test's own queries.
our $maintenance_runs_sql =
  q{(SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'runs')};

# The maintenance runs the workers of $node have made so far.
sub maintenance_runs {
    my ($node) = @_;
    return $node->safe_psql('postgres', "SELECT $maintenance_runs_sql");
}

# The text of one whole worker run in $node's log past $offset: from the line $first (a pattern
# for the run's first line) to its next occurrence, once the worker has run twice (passes a
# test saying so); '' when it did not in time.
sub one_worker_run {
    my ($node, $first, $offset) = @_;
    ok($node->wait_for_log(qr/$first.*$first/s, $offset), 'the worker ran twice');
    my ($run) = PostgreSQL::Test::Utils::slurp_file($node->logfile, $offset) =~ /($first.*?)$first/s;
    return $run // '';
}

# Waits until the workers of $node have made $n runs in all; false if they did not in time.
sub maintenance_runs_reach {
    my ($node, $n) = @_;
    return $node->poll_query_until('postgres', "SELECT $maintenance_runs_sql >= $n");
}

# The used bytes of the memory context named context in the process of backend_type (one of
# ai_scale's workers), as pg_log_backend_memory_contexts writes them to the server log, and the
# process's pid.
sub context_used {
    my ($node, $backend_type, $context) = @_;
    my $pid = $node->safe_psql('postgres',
        qq{SELECT pid FROM pg_stat_activity WHERE backend_type = '$backend_type'});
    die "no $backend_type process" if $pid eq '';
    my $offset = -s $node->logfile;
    $node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
    my $line = qr/\[$pid\] LOG:  level: \d+; \Q$context\E: \d+ total in \d+ blocks; \d+ free \(\d+ chunks\); (\d+) used/;
    $node->wait_for_log($line, $offset);
    my ($used) = slurp_file($node->logfile, $offset) =~ $line;
    return ($used, $pid);
}

# Starts the node with test/tools/clock_shift.cpp preloaded: its wall clock (not its monotonic
# clock) is then moved by what shift_clock($node, seconds) last wrote, 0 to begin with.
sub start_clock_shifted {
    my ($node) = @_;
    my $file = $node->basedir . '/clock_shift';
    PostgreSQL::Test::Utils::append_to_file($file, "0\n");
    local $ENV{LD_PRELOAD} = $ENV{AI_SCALE_TEST_CLOCK_SHIFT};
    local $ENV{AI_SCALE_CLOCK_SHIFT_FILE} = $file;
    $node->start;
}

# Steps the wall clock of a node started by start_clock_shifted to real time plus seconds.
sub shift_clock {
    my ($node, $seconds) = @_;
    my $file = $node->basedir . '/clock_shift';
    open(my $fh, '>', "$file.new") or die "could not write $file.new: $!";
    print $fh "$seconds\n";
    close($fh);
    rename("$file.new", $file) or die "could not rename to $file: $!";
}

# A node preloading ai_scale whose maintenance worker serves its postgres database every
# second, with the postgresql.conf lines given besides, started by start_clock_shifted (the
# extension not created yet).
sub clock_shifted_worker_node {
    my ($name, @conf) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf',
        join("\n", "shared_preload_libraries = 'ai_scale'",
            "ai_scale.maintenance_databases = 'postgres'", 'ai_scale.maintenance_naptime = 1',
            @conf) . "\n");
    start_clock_shifted($node);
    return $node;
}

# A started node preloading ai_scale whose maintenance worker serves its postgres database
# every second, with the given other ai_scale.* settings (name => value), the extension
# created there.
sub worker_node {
    my ($name, %settings) = @_;
    return worker_node_with($name, [], %settings);
}

# worker_node with a small lock table: max_locks_per_transaction = 10 and max_connections = 10,
# for what maintenance does when it fills the lock table or makes more partitions than a query
# can lock at once.
sub small_lock_table_worker_node {
    my ($name, %settings) = @_;
    return worker_node_with($name,
        [ 'max_locks_per_transaction = 10', 'max_connections = 10' ], %settings);
}

# worker_node, with the postgresql.conf lines in $conf (an array) besides.
sub worker_node_with {
    my ($name, $conf, %settings) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf',
        join("\n", "shared_preload_libraries = 'ai_scale'",
            "ai_scale.maintenance_databases = 'postgres'", 'ai_scale.maintenance_naptime = 1',
            (map { "ai_scale.$_ = '$settings{$_}'" } sort keys %settings), @$conf) . "\n");
    $node->start;
    $node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
    return $node;
}

# A started node preloading ai_scale with three background-worker slots: the maintenance
# launcher's and two for workers (no logical replication launcher), a worker run every second,
# and the given other ai_scale.* settings (name => value). For the databases taking turns.
sub short_slots_node {
    my ($name, %settings) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf',
        join("\n", "shared_preload_libraries = 'ai_scale'", 'max_worker_processes = 3',
            'max_logical_replication_workers = 0', 'ai_scale.maintenance_naptime = 1',
            map { "ai_scale.$_ = '$settings{$_}'" } sort keys %settings) . "\n");
    $node->start;
    return $node;
}

# Creates database $d on $node with the extension and a table t managed daily, premake 1 (today,
# tomorrow and the default made), then set to premake 4 for its worker to make the rest.
sub managed_database {
    my ($node, $d) = @_;
    $node->safe_psql('postgres', "CREATE DATABASE $d");
    $node->safe_psql($d, q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);
UPDATE ai_scale.partition_config SET premake = 4;});
}

# SQL: whether a table managed daily (t of managed_database unless $table says another) has
# partitions premake days ahead of now, as its worker makes them on the day it runs; not how
# many there are, which a midnight during a test raises by one (the partition of the day before
# stays).
sub made_ahead {
    my ($premake, $table) = @_;
    $table //= 't';
    return qq{SELECT EXISTS (SELECT FROM ai_scale.partitions('$table')
                              WHERE upper::timestamptz > now() + interval '$premake days')};
}

# Fills the shared lock table from the background_psql session $holder with advisory locks
# (classid $key) and frees the last $free of them, held to the session's end; returns how many
# it keeps. How many locks a session can take depends on the OIDs in use (see
# 204_worker_premake_small_lock_table.pl), so tests that need a small lock table leave a known
# number of slots free this way instead of counting on max_locks_per_transaction alone.
sub fill_lock_table {
    my ($holder, $key, $free) = @_;
    return $holder->query_safe(qq{
DO \$\$
DECLARE
    n int := 0;
BEGIN
    LOOP
        BEGIN
            PERFORM pg_advisory_lock($key, n);
        EXCEPTION
            WHEN out_of_memory THEN
                EXIT;
        END;
        n := n + 1;
    END LOOP;
    PERFORM pg_advisory_unlock($key, k) FROM generate_series(greatest(n - $free, 0), n - 1) k;
END \$\$;
SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory';});
}

# SQL making table $t managed daily, with no default partition (the worker detaches
# concurrently only then), a partition ${t}_old of ten days ago holding a row, and no retention.
sub old_partition_table {
    my ($t) = @_;
    return qq{
CREATE TABLE $t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE ${t}_old PARTITION OF $t FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
INSERT INTO $t VALUES (now()::date - 10 + interval '1 hour', 1);
SELECT count(*) FROM ai_scale.manage_partitions('$t', '1 day', 2);
DROP TABLE ${t}_default;};
}

# Makes table r with old_partition_table, a view on r_old, and a retention of 3 days, and waits
# (a test) until the worker has detached r_old and failed to drop it (the view depends on it),
# leaving it marked as owed its drop.
sub worker_drop_fails {
    my ($node) = @_;
    $node->safe_psql('postgres', old_partition_table('r') . q{
CREATE VIEW v_old AS SELECT * FROM r_old;
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass;});
    ok($node->wait_for_log(qr/cannot drop table public\.r_old because other objects depend on it/),
        'the worker detaches the partition retention chose, and its drop fails');
}

# Gives table $t (made by old_partition_table) a retention of 3 days while a session holds the
# table in an open transaction, and waits (a test) until the worker's DETACH ... CONCURRENTLY
# of ${t}_old waits for that session; returns the session (its COMMIT lets the detach go on).
sub hold_worker_detach {
    my ($node, $t) = @_;
    my $reader = $node->background_psql('postgres', on_error_stop => 0);
    $reader->query_safe("BEGIN; SELECT count(*) FROM $t;");
    $node->safe_psql('postgres',
        "UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = '$t'::regclass");
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'ALTER TABLE public.$t DETACH PARTITION public.${t}_old CONCURRENTLY%'
   AND wait_event_type = 'Lock'}),
        'the worker waits to detach the partition retention chose');
    return $reader;
}

# Terminates the maintenance worker while its DETACH ... CONCURRENTLY of ${t}_old waits
# (hold_worker_detach), and checks (a test) that the partition is left pending detach.
sub stop_worker_mid_detach {
    my ($node, $t) = @_;
    $node->safe_psql('postgres',
        q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE backend_type = 'ai_scale maintenance'});
    is($node->safe_psql('postgres',
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = '${t}_old'::regclass"),
        't', 'the partition is left pending detach');
}

# Runs ALTER TABLE $parent DETACH PARTITION $partition CONCURRENTLY in a session of its own, and
# cancels it once it waits for the transactions that hold $parent (wait event virtualxid): its
# first transaction, which marks the partition pending detach, has committed. Returns what the
# session printed on stderr. (A statement_timeout raced that first transaction on a loaded
# machine, and a late cancel left nothing pending.)
sub detach_cancelled_in_wait {
    my ($node, $parent, $partition) = @_;
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(q{SET application_name = 'detach_cancelled_in_wait'});
    $s->query_until(qr/sent/,
        "\\echo sent\nALTER TABLE $parent DETACH PARTITION $partition CONCURRENTLY;\n");
    $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'detach_cancelled_in_wait' AND wait_event = 'virtualxid'})
      or die "the detach of $partition never waited";
    $node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
WHERE application_name = 'detach_cancelled_in_wait'});
    $s->query(q{SELECT 'after'});
    my $err = $s->{stderr};
    $s->quit;
    return $err;
}

# Drops ${t}_old while the worker's DETACH ... CONCURRENTLY of it waits for the open
# transaction of $reader, a session holding the table: the DROP waits for the reader too
# (checked, a test), and goes first once the reader commits, which this does.
sub drop_behind_reader {
    my ($node, $t, $reader) = @_;
    my $dropper = $node->background_psql('postgres');
    $dropper->query_until(qr/sent/, "\\echo sent\nDROP TABLE ${t}_old;\n");
    ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query = 'DROP TABLE ${t}_old;' AND wait_event_type = 'Lock'}),
        "${t}_old is dropped meanwhile, waiting for the reader");
    $reader->query_safe('COMMIT');
    $dropper->quit;
}

# Installs an event trigger that holds the maintenance worker at the end of each of its ALTER
# TABLE statements while a session holds table gate (ACCESS EXCLUSIVE): there a DETACH ...
# CONCURRENTLY is in its last transaction, the partition and the parent locked. Returns a
# session, holding nothing yet, to hold the gate with.
sub worker_alter_gate {
    my ($node) = @_;
    $node->safe_psql('postgres', q{
CREATE TABLE gate ();
CREATE FUNCTION worker_waits_at_gate() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_stat_activity
                WHERE pid = pg_catalog.pg_backend_pid()
                  AND backend_type = 'ai_scale maintenance') THEN
        LOCK TABLE public.gate IN ACCESS SHARE MODE;
    END IF;
END $$;
CREATE EVENT TRIGGER worker_waits_at_gate ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION worker_waits_at_gate();});
    return $node->background_psql('postgres');
}

# Sends the maintenance launcher a reload signal and waits, through $session (a background_psql
# opened before, so that it serves while the test holds the postmaster with SIGSTOP), until the
# launcher has reconciled twice since: each reconcile scans pg_database once and then sends its
# statistics, and the second began after the signal, so that it read the setting's new value
# (the first may have been under way when it came). False when it did not within the tests'
# timeout.
sub launcher_reloaded {
    my ($session) = @_;
    my $launcher_pid = $session->query_safe(
        q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance launcher'});
    my $scans_query = q{SELECT seq_scan FROM pg_stat_sys_tables WHERE relname = 'pg_database'};
    my $scans = $session->query_safe($scans_query);
    kill 'HUP', $launcher_pid;
    my $seen = 0;
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    while ($seen < 2 && time < $deadline) {
        my $now = $session->query_safe($scans_query);
        if ($now != $scans) {
            $seen++;
            $scans = $now;
        }
        usleep(50_000);
    }
    return $seen == 2;
}

# Starts test/tap/$script (python3) with the arguments given, and waits until it listens on
# 127.0.0.1:$port: a fake Redis, sentinel or proxy of the test's own. Stopped when the test
# exits. Returns its pid.
my @python_servers;
my $python_servers_owner = $$;
END { kill 'TERM', @python_servers if @python_servers && $$ == $python_servers_owner; }

sub python_server_start {
    my ($port, $script, @args) = @_;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        exec('python3', "$FindBin::RealBin/$script", @args) or die "exec: $!";
    }
    push @python_servers, $pid;
    for (1 .. 100) {
        last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
        usleep(50_000);
    }
    return $pid;
}

# A fake_sentinel.py answering from the file $names (see there) on a free port, which it
# returns; stopped when the test exits.
sub fake_sentinel_start {
    my ($names) = @_;
    my $port = PostgreSQL::Test::Cluster::get_free_port();
    python_server_start($port, 'fake_sentinel.py', $port, $names);
    return $port;
}

# test/tap/hold_proxy.py between a free port and the Redis at $redis_port, started, and listening
# once this returns: { port, hold, held }, its port and its two files (while hold exists, the
# reply to a read of a value is held back, or with $what 'writes' to a write of one; held is
# made once one is). Stopped when the test exits.
sub hold_proxy_start {
    my ($redis_port, $what) = @_;
    my $dir = PostgreSQL::Test::Utils::tempdir();
    my $proxy = { port => PostgreSQL::Test::Cluster::get_free_port(),
        hold => "$dir/hold", held => "$dir/held" };
    python_server_start($proxy->{port}, 'hold_proxy.py', $proxy->{port}, $redis_port,
        $proxy->{hold}, $proxy->{held}, $what // 'reads');
    return $proxy;
}

# Sends $get from a new session of $node that reads Redis through $proxy (hold_proxy_start),
# which holds the reply back, and waits (30 s at most) until it does. Returns the session, and
# whether the reply is held.
sub lookup_held {
    my ($node, $proxy, $get) = @_;
    open(my $fh, '>', $proxy->{hold}) or die "$proxy->{hold}: $!";
    close $fh;
    my $reader = $node->background_psql('postgres');
    $reader->query_safe("SET ai_scale.redis_primary = '127.0.0.1:$proxy->{port}'; "
          . 'SET ai_scale.redis_timeout_ms = 60000');
    $reader->query_until(qr/sent/, "\\echo sent\n$get;\n");
    my $waited = 0;
    $waited++ until -e $proxy->{held} || $waited > 3000 || !usleep(10_000);
    return ($reader, -e $proxy->{held});
}

# Lets $proxy pass the held reply on, and holds none after it.
sub release_held {
    my ($proxy) = @_;
    unlink $proxy->{hold};
    unlink $proxy->{held};
}

# A started node named $name preloading ai_scale and test/tools/slow_resolver.cpp (host names
# whose lookups never end, end late, or fail once), with L1 off, a breaker that does not open
# (1000 failures) and the given other ai_scale.* settings (name => value); the extension made.
sub slow_resolver_node {
    my ($name, %settings) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf',
        join("\n", "shared_preload_libraries = 'ai_scale'", 'ai_scale.cache_use_l1 = off',
            'ai_scale.breaker_failures = 1000',
            map { "ai_scale.$_ = '$settings{$_}'" } sort keys %settings) . "\n");
    {
        local $ENV{LD_PRELOAD} = $ENV{AI_SCALE_TEST_SLOW_RESOLVER};
        $node->start;
    }
    $node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
    return $node;
}

# Two started nodes for logical replication: a publisher preloading ai_scale and a plain
# subscriber.
sub publisher_and_subscriber {
    my $publisher = PostgreSQL::Test::Cluster->new('publisher');
    $publisher->init(allows_streaming => 'logical');
    $publisher->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
    $publisher->start;
    my $subscriber = PostgreSQL::Test::Cluster->new('subscriber');
    $subscriber->init;
    $subscriber->start;
    return ($publisher, $subscriber);
}

# A test that a row of model $model, inserted on the publisher now, reaches the subscriber's
# model_predictions: polled, since a stopped subscription never catches up.
sub row_arrives {
    my ($publisher, $subscriber, $model, $name) = @_;
    $publisher->safe_psql('postgres',
        "INSERT INTO model_predictions (model_name, model_version, created_at) "
      . "VALUES ('$model', 1, now())");
    Test::More::ok(
        $subscriber->poll_query_until('postgres',
            "SELECT count(*) = 1 FROM model_predictions WHERE model_name = '$model'"),
        $name);
}

my $redis_base;
my %redis_dirs;

# The generation counters in the Redis on $port, key => value: what a server's invalidations
# raised there, which another server reads (one initdb'd apart keys its counters apart).
sub generation_counters {
    my ($port) = @_;
    my %counters;
    for my $key (split /\n/, `redis-cli -p $port --scan --pattern 'ai_scale:gen:*'`) {
        chomp(my $value = `redis-cli -p $port GET '$key'`);
        $counters{$key} = $value;
    }
    return \%counters;
}

# How many counters of $after (generation_counters) are new or higher than in $before.
sub counters_raised {
    my ($before, $after) = @_;
    return scalar grep { !defined $before->{$_} || $after->{$_} > $before->{$_} } keys %$after;
}

# Starts a redis-server of the test's own on 127.0.0.1:$port (extra arguments as redis-server
# takes them) and waits until it answers; skips the whole test file without redis-server.
# $port may instead be the absolute path of a Unix-domain socket: the server then listens there
# only (port 0), its socket of mode 700, which the cluster's server reaches since the tests, and
# so the Redis they start, run as its user. As a primary it starts a replica's full sync at
# once: Redis 7 waits repl-diskless-sync-delay (5 s) for more replicas first, which every
# replica, failover and replicaof of these tests waited out.
sub redis_start {
    my ($name, $port, @extra) = @_;
    plan skip_all => 'redis-server not found'
      unless system('sh', '-c', 'command -v redis-server >/dev/null') == 0;
    $redis_base //= PostgreSQL::Test::Utils::tempdir();
    my $dir = "$redis_base/$name";
    mkdir $dir;
    unlink "$dir/redis.pid";
    my $log_offset = -s "$dir/redis.log" // 0;
    my @listen = $port =~ m{^/}
      ? ('--port', 0, '--unixsocket', $port, '--unixsocketperm', '700')
      : ('--port', $port);
    system('redis-server', '--bind', '127.0.0.1', @listen, '--save', '',
        '--appendonly', 'no', '--repl-diskless-sync-delay', '0', '--daemonize', 'yes', '--dir', $dir,
        '--pidfile', "$dir/redis.pid", '--logfile', "$dir/redis.log", @extra) == 0
      or die "redis-server $name failed";
    my @auth = grep { $_ ne '--requirepass' } (grep { /^--requirepass$/ .. 1 } @extra);
    wait_for_own_redis($dir, $port, $log_offset, @auth ? "-a $auth[0] --no-auth-warning" : '');
    $redis_dirs{$name} = $dir;
}

# Starts a Redis Sentinel on 127.0.0.1:$port monitoring 127.0.0.1:$primary_port as $master
# (quorum 1, down after 1 s), with the configuration lines @extra after its own (a
# `requirepass`, say).
sub sentinel_start {
    my ($name, $port, $master, $primary_port, @extra) = @_;
    $redis_base //= PostgreSQL::Test::Utils::tempdir();
    my $dir = "$redis_base/$name";
    mkdir $dir;
    unlink "$dir/redis.pid";
    my $log_offset = -s "$dir/redis.log" // 0;
    PostgreSQL::Test::Utils::append_to_file("$dir/sentinel.conf", qq{port $port
bind 127.0.0.1
daemonize yes
dir $dir
pidfile $dir/redis.pid
logfile $dir/redis.log
sentinel monitor $master 127.0.0.1 $primary_port 1
sentinel down-after-milliseconds $master 1000
sentinel failover-timeout $master 5000
} . join('', map { "$_\n" } @extra));
    system('redis-server', "$dir/sentinel.conf", '--sentinel') == 0
      or die "sentinel $name failed";
    my ($password) = map { /^requirepass (\S+)$/ ? $1 : () } @extra;
    wait_for_own_redis($dir, $port, $log_offset,
        defined $password ? "-a $password --no-auth-warning" : '');
    $redis_dirs{$name} = $dir;
}

# Waits until the server started in $dir answers on $port (or at the socket path $port). It
# writes its pid file only once it listens; one that could not bind the port (taken since
# get_free_port chose it) exits without it, and a PING would get the answer of whatever
# server holds the port. So the server is ours when its pid file is there and names a live process. (Not asked with INFO:
# some tests start Redis with INFO disabled.) One that exited without its pid file is given up
# on at once: its lines in its log as a server (role M, S or X; past $log_offset, where they
# began) name its pid, not one a Redis that logs before it daemonizes wrote as the parent.
sub wait_for_own_redis {
    my ($dir, $port, $log_offset, $auth) = @_;
    my $where = $port =~ m{^/} ? "-s $port" : "-p $port";
    for (1 .. 100) {
        if (-f "$dir/redis.pid") {
            my $pid = PostgreSQL::Test::Utils::slurp_file("$dir/redis.pid");
            chomp $pid;
            return
              if $pid =~ /^\d+$/
              && process_runs($pid)
              && `redis-cli $where $auth ping 2>/dev/null` =~ /^PONG/;
        } elsif (-f "$dir/redis.log"
            && PostgreSQL::Test::Utils::slurp_file("$dir/redis.log", $log_offset) =~ /^(\d+):[MSX] /m
            && !process_runs($1)
            && !-f "$dir/redis.pid") {
            last;
        }
        usleep(50_000);
    }
    die "redis on port $port is not the one started in $dir (its log: $dir/redis.log)";
}

# Waits until the Redis replica at $replica (host:port, or a socket path) has applied all its
# primary at $primary (the same) had written when asked (master_repl_offset in INFO
# replication of each, the primary first); false if it has not within the TAP timeout; true at
# once with no replica (''). A read from a replica right after a put, or after a pause of a
# fixed length, missed when the replica lagged on a loaded machine.
sub redis_replica_caught_up {
    my ($primary, $replica) = @_;
    return 1 unless $replica;
    my $info = sub {
        return scalar `redis-cli -s $_[0] info replication 2>/dev/null` if $_[0] =~ m{^/};
        my ($host, $port) = split /:/, $_[0];
        return scalar `redis-cli -h $host -p $port info replication 2>/dev/null`;
    };
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    while (time < $deadline) {
        my ($written) = $info->($primary) =~ /^master_repl_offset:(\d+)/m;
        my $applied = $info->($replica);
        return 1
          if defined $written
          && $applied =~ /^master_link_status:up/m
          && $applied =~ /^master_repl_offset:(\d+)/m
          && $1 >= $written;
        usleep(50_000);
    }
    return 0;
}

sub redis_pid {
    my ($name) = @_;
    my $pid = PostgreSQL::Test::Utils::slurp_file("$redis_dirs{$name}/redis.pid");
    chomp $pid;
    return $pid;
}

# Stops the Redis server or sentinel $name of the test's (SIGSTOP: a hung Redis) for 50 to
# 350 ms, chosen by rand(), then lets it run again.
sub redis_paused {
    my ($name) = @_;
    my $pid = redis_pid($name);
    kill 'STOP', $pid;
    usleep(50_000 + int(rand(300_000)));
    kill 'CONT', $pid;
}

# The soaks' clients: $n processes forked, the w-th running $body->(w) and exiting 0 when it
# returns, 1 (its error on stderr) when it dies. Returns their pids.
sub fork_clients {
    my ($n, $body) = @_;
    my @pids;
    for my $w (0 .. $n - 1) {
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my $ok = eval { $body->($w); 1 };
            print STDERR "client $w: $@" unless $ok;
            POSIX::_exit($ok ? 0 : 1);    # no END blocks: those are the parent's
        }
        push @pids, $pid;
    }
    return @pids;
}

# Whether every client of $pids (an array) has exited, noting the exit status of those that
# have in $status (a hash by pid), without waiting.
sub clients_exited {
    my ($pids, $status) = @_;
    for my $pid (grep { !exists $status->{$_} } @$pids) {
        $status->{$pid} = $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
    }
    return keys(%$status) == @$pids;
}

# How many lines the soak's $n clients have written to their logs, $dir/client<w>.log.
sub lines_logged {
    my ($dir, $n) = @_;
    my $lines = 0;
    for my $w (0 .. $n - 1) {
        open(my $fh, '<', "$dir/client$w.log") or next;
        $lines++ while <$fh>;
    }
    return $lines;
}

# A soak client's psql session on $node's postgres database (unaligned, tuples only, going on
# after an error), made again by reopen when a restart ended it.
package AiScaleTest::SoakSession {
    use Time::HiRes qw(usleep);

    sub new {
        my ($class, $node) = @_;
        return bless { node => $node, in => '', out => '', err => '' }, $class;
    }

    # Sends $text (SQL and psql commands, as typed) and waits until psql has run all of it.
    # Returns (output, stderr), or () when the session ended under it (the server restarted or
    # crashed).
    sub run {
        my ($self, $text) = @_;
        @$self{qw(out err)} = ('', '');
        $self->{in} .= "$text\n\\echo \@\@done\@\@\n";
        my $done = eval {
            while ($self->{out} !~ /\@\@done\@\@\n/) {
                die "ended\n" unless $self->{psql}->pumpable;
                $self->{psql}->pump;
            }
            1;
        };
        return ()
          if !$done
          || $self->{err} =~ /FATAL|server closed the connection|connection to server was lost|no connection to the server/;
        (my $out = $self->{out}) =~ s/\@\@done\@\@\n//;
        return ($out, $self->{err});
    }

    # A new session (the old one ended), its $setup (SQL and psql commands) run first, started
    # again until one answers, for at most 60 s (while the server restarts).
    sub reopen {
        my ($self, $setup) = @_;
        for (1 .. 2400) {
            eval { $self->{psql}->kill_kill } if $self->{psql};
            $self->{in} = '';
            $self->{psql} = IPC::Run::start(
                [ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0', '-d',
                  $self->{node}->connstr('postgres') ],
                '<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err});
            my ($out, $err) = $self->run("${setup}SELECT 'up';");
            return if defined $out && $out eq "up\n" && $err !~ /^(ERROR|PANIC)/m;
            usleep(25_000);
        }
        die "no session for 60 s\n";
    }

    sub close {
        my ($self) = @_;
        $self->{in} .= "\\q\n";
        $self->{psql}->finish;
    }
}

# Sends $get (a cache_get) from a new session named $name, with the process $pid (a Redis
# server or sentinel of the test's) stopped, waits until the call waits for it, cancels the
# call and lets the process run again. Returns the session, whose stderr has the cancel.
sub cache_get_cancelled_while_stopped {
    my ($node, $pid, $name, $get) = @_;
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(qq{SET application_name = '$name'; SET ai_scale.redis_timeout_ms = 60000});
    kill 'STOP', $pid;
    $s->query_until(qr/sent/, "\\echo sent\n$get;\n");
    # Waiting for Redis (wait event Extension), not only active: a cancel that came before the
    # call reached Redis tested nothing of what the callers guard.
    $node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = '$name' AND state = 'active' AND query LIKE '%cache_get%'
  AND wait_event_type = 'Extension'})
      or die "$name: the call never waited";
    $node->safe_psql('postgres',
        qq{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$name'});
    kill 'CONT', $pid;
    return $s;
}

# Kills server process $pid (a backend) with SIGKILL and waits until the postmaster has reaped
# it, which starts the crash: from then on the server refuses connections until it has
# reinitialised. A look right after the kill (SELECT 1) could still reach the server the kill had
# yet to take down (SIGKILL takes effect once the process runs; on CI's busy cores that was 180
# ms later), and the crash then came in the middle of the steps made after it. A process that
# had exited already makes no crash.
sub kill_backend {
    my ($pid) = @_;
    kill 'KILL', $pid;
    for (1 .. 6000) {
        return if !kill(0, $pid);
        usleep(10_000);
    }
    die "server process $pid was not reaped";
}

# A crash restart of $node (restart_after_crash on): a backend killed, the server back. Returns
# whether it answers again, after the crash recovery ($check, polled, says it is back: a
# standby's check asks pg_is_in_recovery()).
sub crash_restart {
    my ($node, $check) = @_;
    my $from = -s $node->logfile;
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    my $pid = $s->query_safe('SELECT pg_backend_pid()');
    kill 'KILL', $pid;
    $node->wait_for_log(qr/all server processes terminated; reinitializing/, $from);
    my $back = $node->poll_query_until('postgres', $check // 'SELECT true');
    eval { $s->quit };
    return $back;
}

# Whether process $pid still runs: one that exited is a zombie until its parent reaps it, and
# a daemonized Redis's parent is init, which may take a second or more to (some containers'
# init reap once a second), while kill 0 still succeeds.
sub process_runs {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    open(my $fh, '<', "/proc/$pid/stat") or return 0;
    my $stat = <$fh>;
    close($fh);
    return !(defined $stat && $stat =~ /\) Z /);
}

sub redis_stop {
    my ($name) = @_;
    my $pid = redis_pid($name);
    kill 'TERM', $pid;
    for (1 .. 100) { last unless process_runs($pid); usleep(50_000); }
    delete $redis_dirs{$name};
}

# The Redis servers and sentinels a test started and did not stop (it died before it got
# there, perhaps with one stopped by SIGSTOP) are stopped as it exits: they are daemons, which
# outlived the test and its run before.
END {
    local $?;
    for my $name (keys %redis_dirs) {
        my $pidfile = "$redis_dirs{$name}/redis.pid";
        next unless -f $pidfile;
        my $pid = PostgreSQL::Test::Utils::slurp_file($pidfile);
        chomp $pid;
        kill 'CONT', $pid;
        kill 'TERM', $pid;
    }
}

# Started nodes "${prefix}_primary" and "${prefix}_standby", preloading ai_scale, with the
# postgresql.conf lines given ($conf), or else with the Redis servers test/run.sh started as
# their L2 (the whole test file skipped when it started none).
sub primary_and_standby {
    my ($prefix, $conf) = @_;
    if (!defined $conf) {
        my $redis_primary = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
          or plan skip_all => 'no Redis from test/run.sh';
        my $redis_replica = $ENV{AI_SCALE_TEST_REDIS_REPLICA} // '';
        $conf = "ai_scale.redis_primary = '$redis_primary'\n"
          . "ai_scale.redis_replicas = '$redis_replica'\n";
    }

    # As cache_node: a Redis descheduled past 100 ms on a loaded machine is no timeout here.
    $conf = "ai_scale.redis_timeout_ms = 10000\n$conf" unless $conf =~ /redis_timeout_ms/;
    my $primary = PostgreSQL::Test::Cluster->new("${prefix}_primary");
    $primary->init(allows_streaming => 1);
    $primary->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n$conf");
    $primary->start;
    $primary->backup('base');

    my $standby = PostgreSQL::Test::Cluster->new("${prefix}_standby");
    $standby->init_from_backup($primary, 'base', has_streaming => 1);
    $standby->start;
    return ($primary, $standby);
}

1;
