# A server that invalidates a model while it cannot reach Redis (its breaker open, a partition,
# a Redis restart) bumps its slot here alone, by one. Another server sharing the counters (a hot
# standby) may have bumped the counter past that number before, and put a value under its new
# generation, which this server had not synced yet. At its next sync this server took Redis's
# counter, since it was not behind the slot: its own invalidation was lost, for the other
# servers and for itself, and both served the value put before it. A bump made without Redis is
# now counted, and the sync that next reads the counter raises it past both (INCRBY).
#
# And two servers at one slot, each bumping a counter Redis lost (evicted under an allkeys-*
# policy, twice): the INCRBY's answer is behind the slot, and the bump took the slot to one past
# its own, which is where the other server's bump had taken it too. Each served what the other
# had put there before its own invalidation, and neither recheck told (Redis held that number).
# Such a bump now takes the slot its own random step past it (after_bump).
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
my $dead = PostgreSQL::Test::Cluster::get_free_port(); # nothing listens there
redis_start('overtaken', $port);

my ($primary, $standby) = primary_and_standby('overtaken', qq{
ai_scale.redis_primary = '127.0.0.1:$port'
ai_scale.cache_use_l1 = off
});
$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->wait_for_catchup($standby);

my $get = q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}')::text, 'miss')};

# Both servers learn the model's counters.
is($primary->safe_psql('postgres', $get), 'miss', 'the primary misses at first');
is($standby->safe_psql('postgres', $get), 'miss', 'so does the standby');

# The standby invalidates the version and puts a value under its new generation, which the
# primary has not synced yet.
$standby->safe_psql('postgres', q{
SELECT ai_scale.cache_invalidate('m', 1);
SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "before the primary invalidated"}');});
is($standby->safe_psql('postgres', $get), '{"v": "before the primary invalidated"}',
    'the standby reads its value back');

# The primary invalidates the version while it cannot reach Redis (this session's primary is an
# address nothing listens at): the bump is made here alone.
my ($ret, $out, $err) = $primary->psql('postgres', qq{
SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('m', 1);});
is($ret, 0, 'the invalidation without Redis succeeds') or diag($err);

# Once it reaches Redis again, neither server serves what was put before that invalidation.
usleep(1_100_000); # past the second between two syncs of a slot
is($primary->safe_psql('postgres', $get), 'miss',
    'the primary does not serve the value put before its invalidation');
usleep(1_100_000);
is($standby->safe_psql('postgres', $get), 'miss',
    'nor does the standby, once it synced the slot');

# What is put after the invalidation is a hit on both.
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "after"}')});
is($primary->safe_psql('postgres', $get), '{"v": "after"}', 'a value put after is a hit');
usleep(1_100_000);
is($standby->safe_psql('postgres', $get), '{"v": "after"}', '... on the standby too');

# Both servers synced; the counters are lost, the standby invalidates and puts a value; the
# counters are lost again, and the primary invalidates.
my $gen = qr/^ai_scale:gen:/;
sub drop_counters {
    my @gen = grep { /$gen/ } map { chomp; $_ } `redis-cli -p $port --scan --pattern 'ai_scale:gen:*'`;
    ok(@gen >= 1, 'generation counters in Redis');
    system('redis-cli', '-p', $port, 'DEL', @gen) == 0 or die 'DEL failed';
}
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m', 1)});
usleep(1_100_000);
is($standby->safe_psql('postgres', $get), 'miss', 'the standby synced the slot');
is($primary->safe_psql('postgres', $get), 'miss', 'so did the primary');
drop_counters();
# The standby's next sync of the model's slot finds its counter gone and raises it past the
# slot: what was put before is a miss from then on. Past the second between two syncs, that
# sync comes before the value is put (with the invalidation or the put), and the read in the
# same session follows within the second. (Read in a session of its own, the value was a miss
# once, at six files at a time on two cores: more than a second after the put, the read made
# that sync.)
usleep(1_100_000);
is((split /\n/, $standby->safe_psql('postgres', qq{
SELECT ai_scale.cache_invalidate('m', 1);
SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "before the primary invalidated again"}');
$get}))[-1], '{"v": "before the primary invalidated again"}', 'the standby reads its value back');
drop_counters();
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m', 1)});
is($primary->safe_psql('postgres', $get), 'miss',
    'after counters lost twice, the primary does not serve what was put before its invalidation');
usleep(1_100_000);
is($standby->safe_psql('postgres', $get), 'miss', 'nor does the standby');

# A bump made without Redis, whose sync finds Redis answering reads but refusing the INCRBY
# that raises the counter past both (a full noeviction Redis, an ACL user without INCRBY): the
# slot took Redis's counter before that INCRBY, and kept it when refused, so the primary served
# what the standby had put before its invalidation, until Redis took a raise.
usleep(1_100_000);
is($primary->safe_psql('postgres', $get), 'miss', 'the primary synced the slot again');
$standby->safe_psql('postgres', q{
SELECT ai_scale.cache_invalidate('m', 1);
SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "before a raise Redis refused"}');});
is($standby->safe_psql('postgres', $get), '{"v": "before a raise Redis refused"}',
    'the standby reads its value back');
($ret, $out, $err) = $primary->psql('postgres', qq{
SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('m', 1);});
is($ret, 0, 'the primary invalidates without Redis') or diag($err);
like(`redis-cli -p $port ACL SETUSER default -incrby`, qr/OK/, 'Redis refuses INCRBY');
usleep(1_100_000);
my $log_offset = -s $primary->logfile;
($ret, $out, $err) = $primary->psql('postgres', $get);
is($out, 'miss',
    'the primary does not serve the value put before its invalidation while INCRBY is refused');
# The server's recheck of the marked slot sends the raise: its refusal is the server's, logged,
# not a WARNING to the call that happened to make the recheck.
ok($primary->log_contains(qr/LOG:  redis refused to increment a generation counter/, $log_offset),
    '... and the server log says that Redis refused the raise');
is($err, '', '... which the call is not warned of');
like(`redis-cli -p $port ACL SETUSER default +incrby`, qr/OK/, 'INCRBY allowed again');
usleep(1_100_000);
is($primary->safe_psql('postgres', $get), 'miss', 'nor once Redis takes the raise');
usleep(1_100_000);
is($standby->safe_psql('postgres', $get), 'miss', 'nor does the standby, synced');

$standby->stop;
$primary->stop;
redis_stop('overtaken');
done_testing();
