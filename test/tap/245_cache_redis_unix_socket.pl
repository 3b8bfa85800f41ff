# Redis on the same host reached through its Unix-domain socket (redis.conf's unixsocket): a
# socket path as ai_scale.redis_primary and in ai_scale.redis_replicas works as host:port does,
# with AUTH and SELECT, replica reads and their fallback, the breaker, a cancel while Redis
# hangs, reconnecting after a restart, and closing the connection to an endpoint no longer
# configured. Before, a path was refused ("ai_scale reaches Redis over TCP only"): the node
# started without L2 and every read here missed.
#
# The tests, and so the Redis servers they start, run as the cluster's server user: a socket of
# mode 700 (unixsocketperm) in a directory of that user is one the server can reach. The
# directory is a short one (tempdir_short): a socket path holds at most 107 bytes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $sockets = PostgreSQL::Test::Utils::tempdir_short();
my $main = "$sockets/main.sock";
my @auth = ('--requirepass', 's3cret');
redis_start('main', $main, @auth);

# Spaces around the path, as the setting allows around host:port: taken whole, they named no
# endpoint (every call failed as "invalid Redis endpoint").
my $node = cache_node('cache_unix_socket',
    redis_primary => " $main ", redis_password => 's3cret', redis_db => 2,
    breaker_failures => 2, breaker_reset_ms => 100);

sub redis_cli
{
    my ($socket, $args) = @_;
    my $out = `redis-cli -s $socket -a s3cret --no-auth-warning -n 2 $args 2>&1`;
    chomp $out;
    return $out;
}

# The primary's row of redis_status(): endpoint|reported_role|breaker|failures|last_error.
sub primary_status
{
    return $node->safe_psql('postgres', q{SELECT endpoint, reported_role, breaker, failures,
    last_error FROM ai_scale.redis_status() WHERE configured_as = 'primary'});
}

# --- Through L2 (the node has L1 off): put, then get from Redis, in database 2.
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('sock', 1, '{"a": 1}', '{"p": 1}');
SELECT 'got', ai_scale.cache_get('sock', 1, '{"a": 1}');
SELECT 'l2 hits', value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'hits';
});
is($ret, 0, 'put and get through the socket with cache_strict, no error') or diag($err);
like($out, qr/^got\|\{"p": 1\}$/m, 'the value read back from Redis');
like($out, qr/^l2 hits\|[1-9]/m, 'an L2 hit');
like(redis_cli($main, q{--scan --pattern 'ai_scale:*'}), qr/^ai_scale:/m,
    'the value is in Redis database 2 (AUTH and SELECT were sent)');
is(primary_status(), "$main|primary|closed|0|", 'redis_status() shows the socket as the primary');

# --- A cancel while Redis hangs (stopped): the wait on the socket takes it.
my $s = cache_get_cancelled_while_stopped($node, redis_pid('main'), 'sock_cancel',
    q{SELECT ai_scale.cache_get('sock', 1, '{"a": 1}')});
$s->query(q{SELECT 1});
like($s->{stderr}, qr/canceling statement due to user request/, 'the wait was cancelled');
$s->quit;

# --- One session throughout: its pooled connection outlives a restart of Redis, and is remade
# without a failure counted; an L1 value stays readable while Redis is down.
$s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(q{SET ai_scale.cache_strict = on});
$s->query_safe(q{SELECT ai_scale.cache_get('sock', 1, '{"a": 1}')});
redis_stop('main');
redis_start('main', $main, @auth);
# (Put again until read back: the restarted Redis lost the model's counter, and the server's
# sync of the slot, once a second, raises it and takes a new generation. When that falls between
# the put and the get, as with four TAP files at a time, the get misses what the put wrote.)
my ($read_back, $errors) = ('', '');
for (my $try = 0; $read_back ne '{"p": 2}' && $try < 20; $try++) {
    $s->query(q{SELECT ai_scale.cache_put('sock', 1, '{"a": 2}', '{"p": 2}')});
    $errors .= $s->{stderr};
    $read_back = $s->query(q{SELECT ai_scale.cache_get('sock', 1, '{"a": 2}')});
    $errors .= $s->{stderr};
}
is($read_back, '{"p": 2}', 'after a restart the pooled connection is remade');
is($errors, '', 'with no error');
is(primary_status(), "$main|primary|closed|0|", 'and no failure counted');
$s->query_safe(q{SET ai_scale.cache_use_l1 = on;
SELECT ai_scale.cache_put('sock', 1, '{"a": 3}', '{"p": 3}')});

# --- Redis stopped (its socket gone): misses, the breaker opens after breaker_failures, the
# log says so; an L1 entry still answers; cache_strict raises 08006 naming the socket.
redis_stop('main');
ok(!-e $main, 'the stopped Redis removed its socket');
$s->query_safe(q{SET ai_scale.cache_strict = off; SET ai_scale.cache_use_l1 = off});
is($s->query(q{SELECT ai_scale.cache_get('sock', 1, '{"a": 2}') IS NULL}), 't',
    'a miss while Redis is down');
$s->query(q{SELECT ai_scale.cache_get('sock', 1, '{"a": 2}')}) for 1 .. 2;
like(primary_status(), qr/^\Q$main\E\|(unknown|unreachable)\|open\|\d+\|connect: No such file or directory$/,
    'the breaker opened on the connect error');
like(slurp_file($node->logfile),
    qr/Redis endpoint \Q$main\E \(db 2\) skipped: its circuit breaker opened after 2 failures/,
    'the log names the socket');
is($s->query(q{SET ai_scale.cache_use_l1 = on;
SELECT ai_scale.cache_get('sock', 1, '{"a": 3}');
SET ai_scale.cache_use_l1 = off}), '{"p": 3}', 'L1 still answers');
$s->query(q{SET ai_scale.cache_strict = on; SELECT ai_scale.cache_get('sock', 1, '{"a": 2}')});
like($s->{stderr}, qr/ERROR:  redis is unavailable for the L2 cache\nDETAIL:  Endpoint \Q$main\E \(db 2\): circuit breaker (open|half-open), last error: connect: No such file or directory\./,
    'cache_strict: 08006 naming the socket and why');
$s->quit;

# --- Restarted: the breaker's probe finds it, the breaker closes, and calls reach it again.
redis_start('main', $main, @auth);
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
until (time > $deadline) {
    $node->safe_psql('postgres', q{SELECT ai_scale.cache_put('sock', 1, '{"a": 4}', '{"p": 4}')});
    last if primary_status() =~ /^\Q$main\E\|primary\|closed\|0\|/;
    usleep(50_000);
}
like(primary_status(), qr/^\Q$main\E\|primary\|closed\|0\|/,
    'after Redis restarts the breaker closes');
# Put again: the breaker may have closed at redis_status()'s probe, after the loop's last put
# found it open and skipped Redis. A second after the loop's puts, whose syncs of the model's
# slot (once a second, answered or not) may have come before Redis answered: the restarted Redis
# lacks the slot's counter, and the first sync it answers raises it and takes a new generation.
# Made within that second, the put could be keyed under the old one and the get miss it (TAP 021).
usleep(1_100_000);
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('sock', 1, '{"a": 4}', '{"p": 4}')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('sock', 1, '{"a": 4}')}), '{"p": 4}',
    'and a put is read back');
like(slurp_file($node->logfile), qr/Redis endpoint \Q$main\E \(db 2\) answers again/,
    'the log says it answers again');

# --- An unreachable path: nothing there, or a socket the server may not write to. The error
# is the connect's, as for host:port ("connect: Connection refused").
($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.cache_strict = on;
SET ai_scale.redis_primary = '$sockets/none.sock';
SELECT ai_scale.cache_get('sock', 1, '{"a": 4}');
});
like($err, qr/ERROR:  redis is unavailable for the L2 cache\nDETAIL:  Endpoint \Q$sockets\E\/none\.sock \(db 2\): connect: No such file or directory\./,
    'no socket at the path: the connect error');
chmod 0, $main or die "chmod: $!";
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('sock', 1, '{"a": 4}');
});
like($err, qr/DETAIL:  Endpoint \Q$main\E \(db 2\): connect: Permission denied \(the server's user needs write permission on the socket: redis\.conf's unixsocketperm\)\./,
    'a socket the server may not write to: the connect error and where its mode is set');
chmod 0700, $main or die "chmod: $!";

# --- The connection to an endpoint no longer configured is closed at the next request.
sub clients
{
    my @lines = grep { !/cmd=client\|list/ } split /\n/, redis_cli($main, 'client list');
    return scalar @lines;
}
$s = $node->background_psql('postgres');
$s->query_safe(q{SELECT ai_scale.cache_get('sock', 1, '{"a": 4}')});
$deadline = time + $PostgreSQL::Test::Utils::timeout_default;
usleep(50_000) while clients() != 1 && time < $deadline;
is(clients(), 1, 'the session holds a connection to the socket');
$s->query_safe(qq{SET ai_scale.redis_primary = '$sockets/none.sock';
SELECT ai_scale.cache_get('sock', 1, '{"a": 4}')});
usleep(50_000) while clients() != 0 && time < $deadline;
is(clients(), 0, 'and closes it once the primary is another endpoint');
$s->quit;
redis_stop('main');

# --- A replica on a socket: reads go to it, and to the primary when it is gone. The replica
# listens on its socket only; it follows the primary over TCP (replicaof takes host and port).
my $p_port = PostgreSQL::Test::Cluster::get_free_port();
my ($primary, $replica) = ("$sockets/primary.sock", "$sockets/replica.sock");
redis_start('primary', $p_port, '--unixsocket', $primary, '--unixsocketperm', '700');
redis_start('replica', $replica, '--replicaof', '127.0.0.1', $p_port);
my $reads = cache_node('cache_unix_socket_replica',
    redis_primary => $primary, redis_replicas => $replica);

sub gets_on
{
    my ($socket) = @_;
    my ($calls) = `redis-cli -s $socket info commandstats` =~ /^cmdstat_get:calls=(\d+)/m;
    return $calls // 0;
}

$reads->safe_psql('postgres', q{SELECT ai_scale.cache_put('rep', 1, '{"a": 1}', '{"r": 1}')});
ok(redis_replica_caught_up($primary, $replica), 'the replica has the put');
my $got = $reads->safe_psql('postgres', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('rep', 1, '{"a": 1}') FROM generate_series(1, 4)});
is($got, join("\n", ('{"r": 1}') x 4), 'four reads answered');
cmp_ok(gets_on($replica), '>=', 4, 'the replica on its socket served them');
like($reads->safe_psql('postgres', qq{SELECT reported_role FROM ai_scale.redis_status()
WHERE endpoint = '$replica'}), qr/^replica \(link up/, 'redis_status() shows the replica in sync');
redis_stop('replica');
my $before = gets_on($primary);
$got = $reads->safe_psql('postgres', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('rep', 1, '{"a": 1}') FROM generate_series(1, 4)});
is($got, join("\n", ('{"r": 1}') x 4), 'with the replica stopped, reads still answered');
cmp_ok(gets_on($primary), '>=', $before + 4, 'by the primary on its socket');

redis_stop('primary');
$reads->stop;
$node->stop;
done_testing();
