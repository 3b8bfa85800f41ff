# Redis faults against real servers this test starts: replica reads (checked with INFO
# commandstats on each server), a replica following another server -> primary, replica down ->
# primary fallback, primary down -> misses and
# the breaker opening, then closing once the primary is back, a hung primary (timeouts), a
# password-protected Redis, and a Redis whose error reply repeats the password.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use IO::Socket::INET;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

sub gets {
    my ($port) = @_;
    my $stats = `redis-cli -p $port info commandstats`;
    return $stats =~ /cmdstat_get:calls=(\d+)/ ? $1 : 0;
}

my $p_port = PostgreSQL::Test::Cluster::get_free_port();
my $r_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('primary', $p_port);
redis_start('replica', $r_port, '--replicaof', '127.0.0.1', $p_port);
for (1 .. 100) {
    last if `redis-cli -p $r_port info replication` =~ /master_link_status:up/;
    usleep(50_000);
}

my $node = cache_node('cache_faults',
    redis_primary => "127.0.0.1:$p_port", redis_replicas => "127.0.0.1:$r_port",
    breaker_failures => 2, breaker_reset_ms => 500);
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('f', 1, '{"a": 1}', '{"p": 1}')});
ok(redis_replica_caught_up("127.0.0.1:$p_port", "127.0.0.1:$r_port"), 'the replica has the put');

# Reads go to the replica.
my ($p0, $r0) = (gets($p_port), gets($r_port));
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 1}')}), '{"p": 1}',
    'read hit');
is(gets($r_port) - $r0, 1, 'the GET went to the replica');
is(gets($p_port) - $p0, 0, 'not to the primary');

# A replica that follows another server holds other data: skipped for the primary (it does not
# share the primary's replication ID), and shown so in redis_status; with the check off
# (redis_replica_max_lag = -1) it is read, and misses. Pointed back, it serves again.
my $s_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('stray', $s_port);
sub replica_follows {
    my ($port) = @_;
    system("redis-cli -p $r_port replicaof 127.0.0.1 $port >/dev/null") == 0 or die;
    for (1 .. 200) {
        my $info = `redis-cli -p $r_port info replication`;
        return if $info =~ /master_port:$port\r?\n/ && $info =~ /master_link_status:up/
          && $info =~ /master_sync_in_progress:0/;
        usleep(50_000);
    }
    die "the replica did not sync from port $port";
}
replica_follows($s_port);
($p0, $r0) = (gets($p_port), gets($r_port));
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 1}')}), '{"p": 1}',
    'hit with the replica following another server');
is(gets($p_port) - $p0, 1, 'served by the primary');
is(gets($r_port) - $r0, 0, 'not by that replica');
is($node->safe_psql('postgres',
    q{SELECT reported_role FROM ai_scale.redis_status() WHERE configured_as = 'replica'}),
    'replica (link up, follows another primary)', 'redis_status says why');
($p0, $r0) = (gets($p_port), gets($r_port));
is($node->safe_psql('postgres', q{
SET ai_scale.redis_replica_max_lag = -1;
SELECT ai_scale.cache_get('f', 1, '{"a": 1}') IS NULL;
}), 't', 'with the check off, the stray replica is read and misses');
is(gets($r_port) - $r0, 1, 'the GET went to it');
replica_follows($p_port);
($p0, $r0) = (gets($p_port), gets($r_port));
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 1}')}), '{"p": 1}',
    'following the primary again, the replica');
is(gets($r_port) - $r0, 1, 'serves the read');
redis_stop('stray');

# A replica that hangs (SIGSTOP) just after it was judged in sync: a batch of 2500 keys (three
# round trips) waits for it once, then reads the other pieces from the primary. Each piece
# asked it, a timeout each until its breaker opened (breaker_failures = 2 here: a trip).
# Counted in the stats, before anything else asks the hung replica (redis_status would).
my $batch = $node->background_psql('postgres');
is($batch->query_safe(q{SET ai_scale.redis_timeout_ms = 300;
SELECT ai_scale.cache_get('f', 1, '{"a": 1}');}), '{"p": 1}', 'a hit judges the replica in sync');
$batch->query_safe('SELECT ai_scale.reset_stats()');
my $replica_pid = redis_pid('replica');
kill 'STOP', $replica_pid;
is($batch->query_safe(q{SELECT count(v) FROM unnest(ai_scale.cache_get_many('f', 1,
    ARRAY(SELECT jsonb_build_object('a', g) FROM generate_series(1, 2500) g))) v}), '1',
    'a batch beside the hung replica finds its key');
is($batch->query_safe(q{SELECT string_agg(metric || '=' || value, ' ' ORDER BY metric)
FROM ai_scale.stats WHERE section = 'l2' AND metric IN ('errors', 'breaker_trips')}),
    'breaker_trips=0 errors=1', 'the hung replica was waited for once in the batch');
kill 'CONT', $replica_pid;
$batch->quit;

# Replica down: reads fall back to the primary, without errors.
redis_stop('replica');
($p0) = (gets($p_port));
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 1}')}), '{"p": 1}',
    'hit with the replica down');
is(gets($p_port) - $p0, 1, 'served by the primary');
like($node->safe_psql('postgres',
    q{SELECT reported_role FROM ai_scale.redis_status() WHERE configured_as = 'replica'}),
    qr/unreachable|unknown/, 'redis_status shows the replica down');

# Primary down too: misses, no errors, and the breaker opens. The first call here comes a second
# after the last sync of f's slots, and syncs them again, with no answer: a sync is made at most
# once a second per slot, failed or not (docs/cache.md), so they count as synced for a second all
# the same (as a loaded machine's timing once had it by chance, or a sync the old Redis answered).
redis_stop('primary');
my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT pg_sleep(1.1);
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('f', 1, '{"a": 1}') IS NULL;
SELECT ai_scale.cache_put('f', 1, '{"a": 2}', '{"p": 2}');
SELECT ai_scale.cache_get('f', 1, '{"a": 1}') IS NULL;
});
is($ret, 0, 'no error while Redis is down') or diag($err);
is($node->safe_psql('postgres',
    q{SELECT breaker FROM ai_scale.redis_status() WHERE configured_as = 'primary'}),
    'open', 'primary breaker open');
cmp_ok($node->safe_psql('postgres',
    q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'breaker_trips'}),
    '>=', 1, 'trip counted in stats');
($ret, $out, $err) = $node->psql('postgres',
    q{SET ai_scale.cache_strict = on; SELECT ai_scale.cache_get('f', 1, '{"a": 1}')});
like($err, qr/redis is unavailable for the L2 cache/, 'strict mode raises an error');

# Primary back: after breaker_reset_ms a probe closes the breaker and puts work again. The new
# Redis lacks the counters of f's slots: the first sync of them it answers raises them past the
# slots, and what was put under the slots before becomes a miss. A sync is due a second after the
# slots' last one, answered by the old Redis or not (the one above): the put waits for that second
# (its own sync is then the first the new Redis answers, and the probe). Made within it (600 ms
# here), its value was a miss from the next sync on: under load in CI, the call after a cancel
# (below), whatever its redis_timeout_ms.
redis_start('primary', $p_port);
usleep(1_100_000);
is($node->safe_psql('postgres', q{
SELECT ai_scale.cache_put('f', 1, '{"a": 3}', '{"p": 3}');
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_get('f', 1, '{"a": 3}');
}), "\n{\"p\": 3}", 'put and get work once the primary is back');
cmp_ok(scalar(grep { /^ai_scale:gen:/ } split /\n/,
        `redis-cli -p $p_port --scan --pattern 'ai_scale:gen:*'`), '>', 0,
    'the put came after the sync that gave the new Redis the counters');
is($node->safe_psql('postgres',
    q{SELECT breaker FROM ai_scale.redis_status() WHERE configured_as = 'primary'}),
    'closed', 'primary breaker closed again');

# A hung primary (SIGSTOP): each call gives up after redis_timeout_ms, also while spinning for
# the reply (redis_spin_us), and is a miss; the breaker opens; once it runs again, work resumes.
my $primary_pid = redis_pid('primary');
kill 'STOP', $primary_pid;
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.redis_read_from = 'primary';
SET ai_scale.redis_spin_us = 300;
SELECT ai_scale.cache_get('f', 1, '{"a": 3}') IS NULL;
SELECT ai_scale.cache_get('f', 1, '{"a": 3}') IS NULL;
SELECT breaker, last_error FROM ai_scale.redis_status() WHERE configured_as = 'primary';
});
is($ret, 0, 'no error while Redis hangs') or diag($err);
like($out, qr/^t\nt\nopen\|.*(timed out|temporarily unavailable)/s,
    'two misses, the breaker open, and the timeout named');
kill 'CONT', $primary_pid;
usleep(600_000);
is($node->safe_psql('postgres', q{
SET ai_scale.redis_read_from = 'primary';
SET ai_scale.redis_spin_us = 300;
SELECT ai_scale.cache_get('f', 1, '{"a": 3}');
}), '{"p": 3}', 'a hit again once it runs, with spinning on');

# Cancelled while it waits for a Redis that does not answer (with a long redis_timeout_ms), a
# call ends at once: the cancel is no failure of the endpoint (no error is counted toward its
# breaker), and the session's next call, once Redis runs again, reads the right value (the
# connection left in the middle of a request was dropped). The same holds for a connect that
# hangs (a listener whose backlog is full): hiredis's wait for it fails with EINTR on the
# cancel, which counted as a failure and left the cancel to wait for the next connect's whole
# timeout.
sub l2_errors {
    return $node->safe_psql('postgres',
        q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'});
}
sub cancel_waiting_call {
    my ($session, $setting) = @_;
    my $errors = l2_errors();
    $session->query_until(qr/sent/, "SET ai_scale.redis_timeout_ms = 60000;\n$setting;\n"
          . "\\echo sent\nSELECT ai_scale.cache_get('f', 1, '{\"a\": 3}');\n");
    $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
        WHERE query LIKE 'SELECT ai_scale.cache_get(%' AND now() - query_start > '300ms'})
      or die 'the call never waited';
    $node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
        WHERE query LIKE 'SELECT ai_scale.cache_get(%'});
    $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
        WHERE query LIKE 'SELECT ai_scale.cache_get(%' AND state = 'active'})
      or die 'the cancel did not end the call';
    $session->query('SELECT 1');
    like($session->{stderr}, qr/canceling statement due to user request/, 'the call was cancelled');
    $session->{stderr} = '';
    return l2_errors() - $errors;
}
kill 'STOP', $primary_pid;
my $waiter = $node->background_psql('postgres', on_error_stop => 0);
$waiter->query_safe("SET ai_scale.redis_read_from = 'primary'");
is(cancel_waiting_call($waiter, 'SET ai_scale.redis_spin_us = 0'), 0,
    'a call cancelled while Redis hangs counts no failure');
kill 'CONT', $primary_pid;
# A timeout long enough for a loaded machine, for the call after the Redis just woken. (The miss
# this call had in a loaded CI run, with 10 s too, was no timeout: its sync was the first that the
# restarted Redis answered, and took the slots past the put's generation; see the restart above.)
$waiter->query_safe('SET ai_scale.redis_timeout_ms = 10000');
is($waiter->query_safe(q{SELECT ai_scale.cache_get('f', 1, '{"a": 3}')}), '{"p": 3}',
    'the next call of the session reads the right value');
my $full_port = PostgreSQL::Test::Cluster::get_free_port();
# Never accepting, with a backlog of 1 (0 would mean 5 to IO::Socket), full after two
# connections: a third one's SYN is dropped, and its connect waits.
my $full = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $full_port,
    Listen => 1, ReuseAddr => 1) or die "listen: $!";
my @backlog = map {
    IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $full_port, Blocking => 0)
} 1 .. 4;
is(cancel_waiting_call($waiter, "SET ai_scale.redis_primary = '127.0.0.1:$full_port'"), 0,
    'a call cancelled while connecting counts no failure');
$waiter->quit;
close($_) for grep { defined } @backlog, $full;
redis_stop('primary');

# A password-protected Redis: AUTH with ai_scale.redis_password; a wrong one is a miss.
redis_start('secure', $p_port, '--requirepass', 's3cret');
$node->append_conf('postgresql.conf', qq{
ai_scale.redis_replicas = ''
ai_scale.redis_password = 's3cret'
});
$node->reload;
# The new Redis lacks the counter of f's slot: the slot's next sync (due a second after the last)
# raises it past the slot, and what was put before under the slot's generation becomes a miss.
# Synced first, so that the put below stays a hit for the sessions after it.
$node->safe_psql('postgres', q{
SELECT pg_sleep(1.1);
SELECT ai_scale.cache_get('f', 1, '{"a": 4}');});
is($node->safe_psql('postgres', q{
SELECT ai_scale.cache_put('f', 1, '{"a": 4}', '{"p": 4}');
SELECT ai_scale.cache_get('f', 1, '{"a": 4}');
}), "\n{\"p\": 4}", 'AUTH with the configured password');
is(scalar(grep { !/^ai_scale:gen:/ } split /\n/,
        `redis-cli -p $p_port -a s3cret --no-auth-warning --scan --pattern '*'`), 1,
    'the key is in the protected Redis');
is($node->safe_psql('postgres', q{
SET ai_scale.redis_password = 'wrong';
SELECT ai_scale.cache_get('f', 1, '{"a": 4}') IS NULL;
}), 't', 'a wrong password is a miss');

# The password is hidden from other users.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($ret, $out, $err) = $node->psql('postgres', 'SHOW ai_scale.redis_password',
    extra_params => ['-U', 'plain']);
like($err, qr/permission denied|must be superuser|privileges/, 'redis_password hidden from non-superusers');
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 4}')},
    extra_params => ['-U', 'plain']), '{"p": 4}', 'but used for them');

# A Redis that does not know AUTH (renamed away) answers "unknown command 'AUTH', with args
# beginning with: '<the password>'": that reply is kept for redis_status() and the 08006 detail,
# which every role reads, and the server log, so it must not carry the password.
my $e_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('echoing', $e_port, '--rename-command', 'AUTH', '');
$node->append_conf('postgresql.conf', qq{ai_scale.redis_primary = '127.0.0.1:$e_port'\n});
$node->reload;
my $log_offset = -s $node->logfile;
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('f', 1, '{"a": 4}');
}, extra_params => ['-U', 'plain']);
like($err, qr/DETAIL:  Endpoint 127\.0\.0\.1:\d+: AUTH: ERR unknown command .AUTH., with args beginning with: \(the arguments are withheld/,
    'an AUTH reply that echoes the password is withheld from the 08006 detail');
unlike($err, qr/s3cret/, 'the 08006 detail does not carry the password');
$out = $node->safe_psql('postgres', 'SELECT last_error FROM ai_scale.redis_status()',
    extra_params => ['-U', 'plain']);
like($out, qr/^AUTH: ERR unknown command .AUTH., with args beginning with: \(the arguments are withheld/,
    'redis_status() withholds it too');
unlike($out, qr/s3cret/, 'redis_status() does not show the password');
unlike(substr(PostgreSQL::Test::Utils::slurp_file($node->logfile), $log_offset), qr/s3cret/,
    'the server log does not show the password');
# Redis repeats 128 bytes of arguments in all, with CR and LF as spaces: after a user name of
# 118 bytes, the first 7 bytes of the password, and a password with a newline in its first
# bytes, were both repeated in a form the check missed, and shown.
$node->append_conf('postgresql.conf', "ai_scale.redis_user = '" . ('u' x 118) . "'\n"
    . "ai_scale.redis_password = 's3c\\nret-tail'\n");
$node->reload;
$node->psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 5}')}, extra_params => ['-U', 'plain']);
$out = $node->safe_psql('postgres', 'SELECT last_error FROM ai_scale.redis_status()',
    extra_params => ['-U', 'plain']);
like($out, qr/withheld/, 'a long user name: the repeated arguments are withheld');
unlike($out, qr/s3c/, 'and no byte of the password is shown');
$node->append_conf('postgresql.conf', "ai_scale.redis_user = ''\n");
$node->reload;
$node->psql('postgres', q{SELECT ai_scale.cache_get('f', 1, '{"a": 6}')}, extra_params => ['-U', 'plain']);
$out = $node->safe_psql('postgres', 'SELECT last_error FROM ai_scale.redis_status()',
    extra_params => ['-U', 'plain']);
unlike($out, qr/s3c.ret/, 'a password with a newline is not shown either');
unlike(substr(PostgreSQL::Test::Utils::slurp_file($node->logfile), $log_offset), qr/s3c.ret|s3c\\nret/,
    'nor in the server log');
redis_stop('echoing');

redis_stop('secure');
$node->stop;
done_testing();
