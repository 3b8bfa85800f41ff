# A generation counter in Redis holding something other than the counts ai_scale makes (another
# application sharing the Redis database wrote one of its keys; an operator's SET or DECR).
# A negative number was read as an unsigned one just below 2^64: the slot took it, its next bumps
# wrapped past 2^64 to numbers below it, which a slot never takes, and every invalidation of the
# model was then a no-op, on every server sharing the counter: the value put before it stayed a
# hit. And INCRBY's refusal of a counter that is not a number ("ERR value is not an integer or
# out of range") counted toward the endpoint's breaker, so that invalidating such a model opened
# it, and every other model missed in Redis; a refusal of one key, as WRONGTYPE, it no longer does.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('notanumber', $port);
my $cli = "redis-cli -p $port";
my $node = cache_node('notanumber', redis_primary => "127.0.0.1:$port");

sub counters {
    return map { chomp; $_ } `$cli --scan --pattern 'ai_scale:gen:*'`;
}
# Makes the counters of a model (its model slot and its version 1's) and returns their names.
sub learn {
    my ($model) = @_;
    my %before = map { $_ => 1 } counters();
    $node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('$model', 1, '{"a": 1}')});
    my @made = grep { !$before{$_} } counters();
    is(scalar @made, 2, "the counters of $model are made");
    return @made;
}

# A negative counter: an invalidation after it still drops the value put before.
for my $counter (learn('neg')) {
    system("$cli SET $counter -1 >/dev/null") == 0 or die 'SET failed';
}
usleep(1_100_000); # past the second between two syncs of a slot
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('neg', 1, '{"a": 1}', '{"v": "old"}')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('neg', 1, '{"a": 1}')}),
    '{"v": "old"}', 'a value put after the counters were set negative is a hit');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('neg', 1)});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('neg', 1, '{"a": 1}') IS NULL}),
    't', 'an invalidation drops it');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('neg')});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('neg', 1, '{"a": 1}', '{"v": "new"}')});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('neg')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('neg', 1, '{"a": 1}') IS NULL}),
    't', '... and so does every one after');

# A counter that is not a number: invalidating the model refuses INCRBYs, which leave the
# breaker closed, and another model is still read from Redis.
$node->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('other', 1, '{"a": 1}', '{"v": "other"}')});
for my $counter (learn('text')) {
    system("$cli SET $counter 'not a number' >/dev/null") == 0 or die 'SET failed';
}
usleep(1_100_000);
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.breaker_failures = 2;
SELECT ai_scale.cache_invalidate('text');
SELECT ai_scale.cache_invalidate('text');
SELECT ai_scale.cache_invalidate('text');
SELECT ai_scale.cache_invalidate('text');
SELECT 'breaker', breaker FROM ai_scale.redis_status();
SELECT 'other', ai_scale.cache_get('other', 1, '{"a": 1}');});
is($ret, 0, 'the invalidations succeed') or diag($err);
like($out, qr/^breaker\|closed$/m, 'the breaker stays closed');
like($out, qr/^other\|\{"v": "other"\}$/m, 'another model is read from Redis');
my @warnings = $err =~ /WARNING:/g;
is(scalar @warnings, 1, 'the session is warned once') or diag($err);
like($err,
    qr/WARNING:  redis refused to increment a generation counter of the L2 cache
DETAIL:  Endpoint 127.0.0.1:$port: ERR value is not an integer or out of range\.[^\n]*
HINT:  Key "ai_scale:gen:[0-9a-f]{16}:\d+" holds a value ai_scale did not write\. Delete the key: ai_scale then makes the counter again\./,
    '... with the refusal, and the key to delete');

# With cache_strict the call fails (08006), and its hint names the key to delete, not
# cache_strict = off, which would not make the counter a number.
usleep(1_100_000);
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_invalidate('text');});
like($err,
    qr/ERROR:  redis is unavailable for the L2 cache
DETAIL:  Endpoint 127.0.0.1:$port: ERR value is not an integer or out of range\.
HINT:  Key "ai_scale:gen:[0-9a-f]{16}:\d+" holds a value ai_scale did not write\. Delete the key: ai_scale then makes the counter again\./,
    'with cache_strict, the invalidation fails naming the key to delete');

# A counter near 2^63 - 1, set by someone else: taken, every INCRBY that raised it after
# overflowed, and invalidations reached no other server for good (deleting the key did not
# help: the slot kept the number). Now it reads as no counter: the model's keys stay out of
# Redis (misses, never a value put before an invalidation), the session is told which key to
# delete, and once it is deleted the counter is made again and the model is cached in Redis.
my @high = learn('high');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('high', 1, '{"a": 1}', '{"v": "old"}')});
system("$cli SET $_ 9223372036854775000 >/dev/null") == 0 or die 'SET failed' for @high;
usleep(1_100_000);
($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'before', ai_scale.cache_get('high', 1, '{"a": 1}') IS NULL;
SELECT ai_scale.cache_put('high', 1, '{"a": 1}', '{"v": "put"}');
SELECT ai_scale.cache_invalidate('high');
SELECT 'after', ai_scale.cache_get('high', 1, '{"a": 1}') IS NULL;});
is($ret, 0, 'no error with the counters near 2^63') or diag($err);
like($out, qr/^after\|t$/m, 'an invalidation still drops what was put');
like($err,
    qr/HINT:  Key "ai_scale:gen:[0-9a-f]{16}:\d+" holds a value ai_scale did not write\. Delete the key: ai_scale then makes the counter again\./,
    'the session is told which key to delete');
system("$cli DEL $_ >/dev/null") == 0 or die 'DEL failed' for @high;
usleep(1_100_000);
is($node->safe_psql('postgres', q{
SELECT ai_scale.cache_get('high', 1, '{"a": 1}');
SELECT ai_scale.cache_put('high', 1, '{"a": 1}', '{"v": "new"}');
SELECT ai_scale.cache_get('high', 1, '{"a": 1}');}), "\n\n{\"v\": \"new\"}",
    'once the keys are deleted, the model is cached again');
cmp_ok(scalar(grep { my $k = $_; grep { $_ eq $k } counters() } @high), '==', 2,
    'under counters made again');
chomp(my $made = `$cli GET $high[0]`);
ok($made =~ /^\d+$/ && $made < 2**62, '... below the ceiling') or diag("counter: '$made'");

# A counter just past 2^62 (INCRBY still answers a number): with cache_strict, a put or an
# invalidation of the model fails with 08006, as when Redis refuses the INCRBY. Each returned
# with only the WARNING, while the put reached no Redis and the invalidation no other server.
my @past = learn('past');
system("$cli SET $_ 4611686018427387909 >/dev/null") == 0 or die 'SET failed' for @past;
for my $call (q{ai_scale.cache_put('past', 1, '{"a": 1}', '{"v": "strict"}')},
              q{ai_scale.cache_invalidate('past')}) {
    usleep(1_100_000);
    ($ret, $out, $err) = $node->psql('postgres', qq{
\\set VERBOSITY verbose
SET ai_scale.cache_strict = on;
SELECT $call;});
    like($err,
        qr/ERROR:  08006: redis is unavailable for the L2 cache\nDETAIL:  Endpoint 127\.0\.0\.1:$port: the counter is at \d+, past what ai_scale counts to \(1 to 2\^62\)\.\nHINT:  Key "ai_scale:gen:[0-9a-f]{16}:\d+" holds a value ai_scale did not write\. Delete the key: ai_scale then makes the counter again\./,
        "with cache_strict, $call fails on a counter past 2^62");
}

$node->stop;
redis_stop('notanumber');
done_testing();
