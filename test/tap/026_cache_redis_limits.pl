# A Redis that misbehaves (test/tap/fake_redis.py) cannot hold a backend: a reply dripping a byte
# every 50 ms ends within about redis_timeout_ms (hiredis's own timeout is per read, and each
# byte restarted it), a reply announcing two billion array elements or a 400 MB bulk string is
# refused from its header (hiredis would allocate the array, or buffer the string whole), and a
# query waiting for Redis can be cancelled or terminated. No tight timing: only ten times the
# timeout is asserted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

plan skip_all => 'python3 not found'
  unless system('sh', '-c', 'command -v python3 >/dev/null') == 0;

my %fake;    # mode => port
for my $mode (qw(drip huge_array huge_bulk silent extra)) {
    my $port = PostgreSQL::Test::Cluster::get_free_port();
    python_server_start($port, 'fake_redis.py', $mode, $port);
    $fake{$mode} = $port;
}

my $node = cache_node('cache_limits');
my $timeout_ms = 300;

# Runs a cache call against a fake; returns (psql status, stdout, stderr, seconds taken).
sub against {
    my ($mode, $sql) = @_;
    my $t0 = time;
    my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.redis_primary = '127.0.0.1:$fake{$mode}';
SET ai_scale.redis_timeout_ms = $timeout_ms;
$sql}, timeout => 120);
    return ($ret, $out, $err, time - $t0);
}

my ($ret, $out, $err, $took) =
  against('drip', q{SELECT ai_scale.cache_get('m', 1, '{"a": 1}') IS NULL});
is($out, 't', 'a dripping reply is a miss');
ok($took < 10 * $timeout_ms / 1000, sprintf('and ends in %.2f s (timeout %d ms)', $took, $timeout_ms));

($ret, $out, $err, $took) = against('drip', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('m', 1, '{"a": 1}')});
like($err, qr/redis is unavailable.*timed out waiting for redis/s, 'strict: 08006 naming the timeout');

($ret, $out, $err) = against('huge_array',
    q{SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"a": 1}', '{"a": 2}']::jsonb[])});
is($out, '{NULL,NULL}', 'a two-billion-element array header is two misses');
($ret, $out, $err) = against('huge_array', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"a": 1}', '{"a": 2}']::jsonb[])});
like($err, qr/refused reply: an array reply of 2000000000 elements/, 'refused from its header');

($ret, $out, $err, $took) =
  against('huge_bulk', q{SELECT ai_scale.cache_get('m', 1, '{"a": 1}') IS NULL});
is($out, 't', 'a 400 MB bulk string is a miss');
ok($took < 10 * $timeout_ms / 1000, sprintf('refused at once (%.2f s)', $took));
($ret, $out, $err) = against('huge_bulk', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('m', 1, '{"a": 1}')});
like($err, qr/refused reply: a bulk reply of 400000000 bytes/, 'named in the error');

# A server that sends one reply more than it was asked for: left in the connection's reader, it
# was read as the next command's reply (a value answered for another key). Now the call fails,
# a miss, and the connection is dropped.
($ret, $out, $err) = against('extra', q{SELECT ai_scale.cache_get('m', 1, '{"a": 1}') IS NULL});
is($out, 't', 'a reply more than the commands sent is a miss');
($ret, $out, $err) = against('extra', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('m', 1, '{"a": 1}')});
like($err, qr/redis is unavailable.*redis sent more replies than the commands it was sent/s,
    'strict: 08006 naming the extra reply');

# A query waiting for a Redis that never answers (timeout one minute) is cancelled at once.
sub waiting_session {
    my ($tag) = @_;
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(qq{SET ai_scale.redis_primary = '127.0.0.1:$fake{silent}';
SET ai_scale.redis_timeout_ms = 60000; SET application_name = '$tag'});
    $s->query_until(qr/sent/, "\\echo sent\nSELECT ai_scale.cache_get('m', 1, '{\"a\": 1}');\n");
    $node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = '$tag' AND state = 'active' AND query LIKE '%cache_get%'})
      or die "$tag never started waiting";
    return $s;
}

my $waiting = waiting_session('cancel_me');
my $t0 = time;
$node->safe_psql('postgres',
    q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cancel_me'});
($out) = $waiting->query(q{SELECT 'still here'});
$took = time - $t0;
like($waiting->{stderr}, qr/canceling statement due to user request/, 'pg_cancel_backend cancels it');
ok($took < 30, sprintf('within %.2f s, not the minute of the timeout', $took));
is($out, 'still here', 'and the session goes on');
$waiting->quit;

$waiting = waiting_session('terminate_me');
$node->safe_psql('postgres',
    q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'terminate_me'});
ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'terminate_me'}),
    'pg_terminate_backend ends it');
$waiting->{run}->finish;

$node->stop;
done_testing();
