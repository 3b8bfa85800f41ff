# A Redis ACL user allowed GET and SET but not INCRBY (docs/cache.md asks for it).
# A server learns a model's generations from counters in Redis, and makes a counter Redis does
# not hold yet with INCRBY (generation_slots.hpp); refused that, it never learns the slot, and
# keys made with a slot not learned stay out of Redis (unlearned_keys.hpp). So on a Redis where
# no other user had made the counters, no model was ever cached in Redis, every call refused an
# INCRBY, and nothing but an l2 / errors count said so. Now the session gets a WARNING, once,
# naming the refusal, and cache_strict fails with it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('noincr', $port);
my $cli = "redis-cli -p $port";
like(`$cli ACL SETUSER noincr on '>pw' '~ai_scale:*' -\@all +get +mget +set +info`,
    qr/OK/, 'a Redis user without INCRBY');
# L1 off: every read reaches Redis.
my $node = cache_node('noincr', redis_primary => "127.0.0.1:$port", redis_user => 'noincr',
    redis_password => 'pw');

my ($ret, $out, $err) = $node->psql(
    'postgres', q{
SELECT ai_scale.cache_put('m', 1, '{"k": 1}', '{"v": 1}');
SELECT 'got', ai_scale.cache_get('m', 1, '{"k": 1}');
SELECT 'got', ai_scale.cache_get('m', 1, '{"k": 1}');
SELECT 'errors', value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors';});
is($ret, 0, 'without cache_strict: no error') or diag($err);
like($out, qr/^got\|$/m, 'the value put is not in Redis: the model\'s counters are not made');
like($out, qr/^errors\|[1-9]/m, 'the refused INCRBY is counted as an L2 error');
my @warnings = $err =~ /WARNING:/g;
is(scalar @warnings, 1, 'the session is warned once') or diag($err);
like(
    $err,
    qr/WARNING:  redis refused to increment a generation counter of the L2 cache
DETAIL:  Endpoint 127.0.0.1:$port \(user "noincr"\): NOPERM [^\n]*incrby[^\n]* Until it is allowed, models whose counters Redis does not hold yet are not cached in Redis, and invalidations reach no other server\.
HINT:  Grant the Redis user the command INCRBY: ACL SETUSER noincr \+incrby\./,
    '... naming the refused command, with the ACL line that grants it');

# Another session is warned too.
($ret, $out, $err) =
  $node->psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"k": 2}') IS NULL});
like($err, qr/WARNING:  redis refused to increment/, 'so is another session');

($ret, $out, $err) = $node->psql('postgres',
    q{SET ai_scale.cache_strict = on; SELECT ai_scale.cache_get('m', 1, '{"k": 1}')});
isnt($ret, 0, 'with cache_strict: an error');
like($err, qr/DETAIL:  Endpoint 127.0.0.1:$port \(user "noincr"\): NOPERM/,
    '... with the NOPERM reply');

# Granted INCRBY (not INCR), the model is cached in Redis, without a warning.
like(`$cli ACL SETUSER noincr +incrby`, qr/OK/, 'INCRBY granted');
($ret, $out, $err) = $node->psql(
    'postgres', q{
SELECT ai_scale.cache_put('m', 1, '{"k": 1}', '{"v": 1}');
SELECT 'got', ai_scale.cache_get('m', 1, '{"k": 1}');});
like($out, qr/^got\|\{"v": 1\}$/m, 'then the value put is read back from Redis');
is($err, '', 'with no warning');

# INCRBY refused again, an invalidation of m is marked unsent, and the server's recheck (once a
# second, at a call of any model) tries it again. That recheck is no part of a strict call of
# another model, whose counters Redis holds: the call answers, where it failed with the NOPERM.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('o', 1, '{"k": 1}', '{"v": 2}')});
like(`$cli ACL SETUSER noincr -incrby`, qr/OK/, 'INCRBY refused again');
my $log_offset = -s $node->logfile;
($ret, $out, $err) = $node->psql('postgres', q{SELECT ai_scale.cache_invalidate('m', 1)});
like($err, qr/WARNING:  redis refused to increment/, 'the invalidation of m is not sent');
($ret, $out, $err) = $node->psql(
    'postgres', q{
SET ai_scale.cache_strict = on;
SELECT pg_sleep(1.1); -- the recheck is due
SELECT 'got', ai_scale.cache_get('o', 1, '{"k": 1}');});
is($ret, 0, 'a strict call of another model succeeds while the recheck is refused') or diag($err);
like($out, qr/^got\|\{"v": 2\}$/m, '... and answers from Redis');

# That refusal is the server's: short sessions reading another model, each making the recheck,
# were each warned of it, and the log had a WARNING of four lines a second for as long as it
# lasted. Now the server log has it once a minute, and the calls are not warned.
my $warned = 0;
for (1 .. 4) {
    ($ret, $out, $err) = $node->psql('postgres',
        q{SELECT pg_sleep(1.1); SELECT ai_scale.cache_get('o', 1, '{"k": 1}')});
    $warned++ if $err =~ /WARNING/;
}
is($warned, 0, 'sessions whose calls recheck the refused slot are not warned');
my @logged = slurp_file($node->logfile, $log_offset) =~ /LOG:  redis refused to increment/g;
is(scalar @logged, 1, 'the server log says it once in those seconds');

$node->stop;
redis_stop('noincr');
done_testing();
