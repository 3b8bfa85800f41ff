# A transaction that writes makes its invalidations again right after its commit (docs/cache.md,
# Invalidation): that bump makes unreachable what another session cached during the
# transaction, computed from the data as it was before the change. Cut short while Redis had
# yet to answer it (its backend terminated, cancelled or crashed), the bump was lost: nothing
# marked the slot, and the value cached in the window was served after the commit, on every
# server, until it expired. Now the slot is marked as owed a bump before the commit, and the
# next sync makes the bump.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('owed_bump', $port);
my $node = cache_node('owed_bump', redis_primary => "127.0.0.1:$port");
# (wal_level and max_wal_senders: for a commit that waits for a synchronous standby, below.)
$node->append_conf('postgresql.conf',
    "restart_after_crash = on\nwal_level = replica\nmax_wal_senders = 2\n");
$node->restart;
$node->safe_psql('postgres', 'CREATE TABLE changes (how text)');

# What the cache answers for model's input {"a": 1}: its value, or 'miss'.
sub get_of {
    my ($model) = @_;
    return qq{SELECT coalesce(ai_scale.cache_get('$model', 1, '{"a": 1}')::text, 'miss')};
}
my $get = get_of('m');

# Redis holds write commands unanswered (CLIENT PAUSE ... WRITE) for ms, or lets them go.
sub pause_writes {
    my ($ms) = @_;
    system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', $ms, 'WRITE') == 0
      or die 'CLIENT PAUSE failed';
}
sub unpause_writes {
    system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
}

# Ends the session named invalidator with pg_terminate_backend.
sub terminate_invalidator {
    $node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE application_name = 'invalidator'});
    $node->poll_query_until('postgres',
        q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'invalidator'})
      or die 'the backend did not end';
}

# Kills the postmaster and starts the server again. Its children leave once they see it gone;
# the start waits for them, as TAP 275's.
sub postmaster_killed_and_started {
    $node->kill9;
    for (1 .. 60) {
        return if $node->start(fail_ok => 1);
        $node->{_pid} = undef; # a failed start read the killed postmaster's pid from its pid file
        sleep 1;
    }
    die 'the server did not start again';
}

# A session named invalidator, in a writing transaction that has invalidated $model.
sub invalidating_transaction {
    my ($how, $model) = @_;
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(qq{SET application_name = 'invalidator';
SET ai_scale.redis_timeout_ms = 60000;
BEGIN;
INSERT INTO changes VALUES ('$how');
SELECT ai_scale.cache_invalidate('$model', 1);});
    return $s;
}

# The invalidator's transaction, and another session that caches a value for $model
# meanwhile; then its COMMIT, sent while Redis holds the commit's INCRBY (CLIENT PAUSE WRITE
# keeps write commands unanswered; a client gone by then has its command dropped) and waiting
# for it. Returns the session.
sub commit_waiting_for_redis {
    my ($how, $model) = @_;
    my $s = invalidating_transaction($how, $model);
    $node->safe_psql('postgres',
        qq{SELECT ai_scale.cache_put('$model', 1, '{"a": 1}', '"computed before the change"')});
    is($node->safe_psql('postgres', get_of($model)), '"computed before the change"',
        "$how: another session caches a value during the transaction");
    pause_writes(60000);
    $s->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
    $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'invalidator' AND query = 'COMMIT;' AND now() - query_start > '300ms'})
      or die "$how: the commit never waited for Redis";
    return $s;
}

# That transaction (of model m), ended by $end while its commit waits for Redis.
sub commit_cut_short {
    my ($how, $end) = @_;
    my $s = commit_waiting_for_redis($how, 'm');
    $end->();
    unpause_writes();
    $s->{run}->finish;
    is($node->safe_psql('postgres', "SELECT count(*) FROM changes WHERE how = '$how'"), '1',
        "$how: the commit stands");
    # The next sync of the slot is at most a second after the last.
    is($node->safe_psql('postgres', "SELECT pg_sleep(1.1); $get"), "\nmiss",
        "$how: the value cached during the transaction is unreachable after the commit");
    $node->safe_psql('postgres',
        q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '"after the change"')});
    is($node->safe_psql('postgres', $get), '"after the change"', "$how: and caching goes on");
}

commit_cut_short('terminated', \&terminate_invalidator);

commit_cut_short('crashed', sub {
    my $pid = $node->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE application_name = 'invalidator'});
    kill_backend($pid);
    # The postmaster ends every backend and starts again, the marks carried across in a file.
    my $ready;
    for (1 .. 300) {
        # (In eval: a psql refused before it takes its input makes IPC::Run die of the pipe.)
        last if $ready = eval { $node->psql('postgres', 'SELECT 1') == 0 };
        usleep(100_000);
    }
    $ready or die 'the server did not come back';
});

# The bump owed from before the commit is no unsent mark that another backend's sync sends and
# clears: a sync while the commit waited for a synchronous standby (any call's recheck of the
# slots bumped in the last minutes) took such a mark before the change was visible, another
# session cached under the generation it made, and the commit's own bump, cut short, left
# nothing marked: the value was served after the commit.
$node->safe_psql('postgres', q{ALTER SYSTEM SET synchronous_standby_names = 'nobody';
SELECT pg_reload_conf();});
my $s = invalidating_transaction('waited for a standby', 'm');
$s->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
$node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'invalidator' AND wait_event = 'SyncRep'})
  or die 'the commit never waited for the standby';
$node->safe_psql('postgres', qq{SELECT pg_sleep(1.1); $get;
SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '"computed before the change"')});
is($node->safe_psql('postgres', $get), '"computed before the change"',
    'a session caches a value after a sync, while the commit waits');
pause_writes(60000);
terminate_invalidator();
unpause_writes();
$s->{run}->finish;
$node->safe_psql('postgres', q{ALTER SYSTEM RESET synchronous_standby_names;
SELECT pg_reload_conf();});
is($node->safe_psql('postgres', "SELECT count(*) FROM changes WHERE how = 'waited for a standby'"),
    '1', 'the commit stands (committed locally)');
is($node->safe_psql('postgres', "SELECT pg_sleep(1.1); $get"), "\nmiss",
    'the value cached while it waited is unreachable after it');

# A commit's bump that Redis does not take (it times out) marks the slot, and the mark is
# written to the file that carries it across a restart before the call ends, as any such bump's
# is: owed from before the commit as an unsent mark, the slot was marked already, nothing wrote
# the file, and a postmaster killed then lost the mark. (Model n: m's slots were carried across
# the restarts above, bumped in the last five minutes.)
my $get_n = get_of('n');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('n', 1, '{"a": 1}', '"before"')});
$s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(q{BEGIN;
INSERT INTO changes VALUES ('not taken');
SELECT ai_scale.cache_invalidate('n', 1);});
$node->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('n', 1, '{"a": 1}', '"computed before the change"')});
pause_writes(1500);
$s->query_safe('COMMIT');
$s->quit;
sleep 2; # the pause is over, and the INCRBY that timed out was dropped with its connection
postmaster_killed_and_started();
is($node->safe_psql('postgres', "$get_n; SELECT pg_sleep(1.1); $get_n"), "miss\n\nmiss",
    'after the postmaster was killed, the value cached during the transaction is unreachable');

# A bump cut short is written to that file too: marked in shared memory alone, it was lost with
# a postmaster killed before a sync sent it (model o, for the same reason as n).
my $get_o = get_of('o');
$s = commit_waiting_for_redis('cut short, then killed', 'o');
terminate_invalidator();
unpause_writes();
$s->{run}->finish;
postmaster_killed_and_started();
is($node->safe_psql('postgres', "$get_o; SELECT pg_sleep(1.1); $get_o"), "miss\n\nmiss",
    'a bump cut short, then the postmaster killed: the value cached meanwhile is unreachable');

# A commit that fails after its pre-commit (a serialization failure, found at COMMIT) owes no
# bump: the abort settles what the pre-commit owed. Left owed, the slot was carried across
# every clean restart and bumped again at the start, and what was cached after the failure
# missed after each restart (model p).
my $get_p = get_of('p');
$node->safe_psql('postgres', 'CREATE TABLE skew (k int)');
my $r1 = $node->background_psql('postgres', on_error_stop => 0);
my $r2 = $node->background_psql('postgres', on_error_stop => 0);
# Each reads what the other then writes: the second to commit fails.
$r1->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT count(*) FROM skew WHERE k = 1;');
$r2->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT count(*) FROM skew WHERE k = 2;');
$r1->query_safe(q{INSERT INTO skew VALUES (2); SELECT ai_scale.cache_invalidate('p', 1);});
$r2->query_safe('INSERT INTO skew VALUES (1); COMMIT;');
$r1->query('COMMIT');
like($r1->{stderr}, qr/could not serialize access/, 'the invalidating transaction fails at COMMIT');
$r1->quit;
$r2->quit;
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('p', 1, '{"a": 1}', '"after the failure"')});
is($node->safe_psql('postgres', $get_p), '"after the failure"', 'a value is cached after it');
$node->restart;
is($node->safe_psql('postgres', "SELECT pg_sleep(1.1); $get_p"), "\n\"after the failure\"",
    'and is still there after a clean restart: the failed commit left no bump owed');

$node->stop;
redis_stop('owed_bump');
done_testing();
