# Redis Sentinel against real servers this test starts (a primary, its replica and a sentinel,
# not test/run.sh's shared ones, which a failover would disturb): the cache writes to the
# primary and reads from the replica the sentinel names, follows a failover within a second in
# a session that stays open, keeps working when the sentinel is gone, and, with no sentinel
# ever reached, misses (or, strict, fails with 08006) without hanging.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $p_port = PostgreSQL::Test::Cluster::get_free_port();
my $r_port = PostgreSQL::Test::Cluster::get_free_port();
my $s_port = PostgreSQL::Test::Cluster::get_free_port();
my $unused = PostgreSQL::Test::Cluster::get_free_port();
redis_start('primary', $p_port);
redis_start('replica', $r_port, '--replicaof', '127.0.0.1', $p_port);
sentinel_start('sentinel', $s_port, 'tapmaster', $p_port);

sub sentinel_says {
    my ($what) = @_;
    return scalar `redis-cli -p $s_port sentinel $what tapmaster`;
}
sub gets {
    my ($port) = @_;
    my $stats = `redis-cli -p $port info commandstats`;
    return $stats =~ /cmdstat_get:calls=(\d+)/ ? $1 : 0;
}
# Data keys only: generation counters (ai_scale:gen:*) are made at a slot's first use.
sub keys_on {
    my ($port) = @_;
    my $n = grep { !/^ai_scale:gen:/ } split /\n/, `redis-cli -p $port --scan --pattern '*'`;
    return $n;
}
# The sentinel has found the replica (through the primary) and sees it linked.
for (1 .. 200) {
    last if sentinel_says('replicas') =~ /master-link-status\nok/;
    usleep(50_000);
}
like(sentinel_says('replicas'), qr/master-link-status\nok/, 'the sentinel sees the replica');

my $node = cache_node('sentinel',
    redis_sentinels => "127.0.0.1:$unused, 127.0.0.1:$s_port",
    redis_sentinel_master => 'tapmaster');

is($node->safe_psql('postgres',
        'SELECT endpoint, configured_as, reported_role FROM ai_scale.redis_status()'),
    join("\n",
        "127.0.0.1:$p_port|primary (named by sentinel)|primary",
        "127.0.0.1:$r_port|replica (named by sentinel)|replica (link up)",
        "127.0.0.1:$unused|sentinel|unreachable",
        "127.0.0.1:$s_port|sentinel|sentinel (primary at 127.0.0.1:$p_port)"),
    'redis_status: the primary and replica the sentinel names, and each sentinel');

# Writes go to the named primary, reads to the named replica.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('s', 1, '{"k": 1}', '{"v": 1}')});
is(keys_on($p_port), 1, 'the put went to the primary');
for (1 .. 100) { last if keys_on($r_port) == 1; usleep(50_000); }
my $r0 = gets($r_port);
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('s', 1, '{"k": 1}')}), '{"v": 1}',
    'a hit');
is(gets($r_port) - $r0, 1, 'read from the replica');

# A failover while a session stays open: within a second it writes to the new primary.
my $failover = qq{redis-cli -p $s_port sentinel failover tapmaster >/dev/null; }
  . qq{for i in \$(seq 1 200); do redis-cli -p $s_port sentinel get-master-addr-by-name tapmaster }
  . qq{| grep -qx $r_port && break; sleep 0.05; done};
my $after = $node->safe_psql('postgres', qq{
SELECT ai_scale.cache_put('s', 1, '{"k": 2}', '{"v": 2}');
\\! $failover
SELECT pg_sleep(1.1);
SELECT ai_scale.cache_put('s', 1, '{"k": 3}', '{"v": 3}');
-- From the primary: the old primary, a replica now, may not have the put yet.
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_get('s', 1, '{"k": 3}');
SELECT primary_at FROM (SELECT endpoint AS primary_at, configured_as FROM ai_scale.redis_status()) s
 WHERE configured_as = 'primary (named by sentinel)';
});
like(sentinel_says('get-master-addr-by-name'), qr/^127\.0\.0\.1\n$r_port$/m,
    'the sentinel promoted the replica');
like($after, qr/\{"v": 3\}\n127\.0\.0\.1:$r_port$/,
    'the open session wrote to and read from the new primary');
like(`redis-cli -p $r_port info replication`, qr/role:master/, 'which is a primary now');

# A master the sentinel does not monitor (one database's wrong redis_sentinel_master): its "ERR
# No such master with that name" is an answer, no failure of the sentinel. Counted as one, five
# such sessions opened the sentinel's breaker, which every database shares, and new sessions of
# the right master were told no primary.
$node->psql('postgres', q{SET ai_scale.redis_sentinel_master = 'nosuch';
SELECT ai_scale.cache_get('s', 1, '{"k": 9}');}) for 1 .. 6;
is($node->safe_psql('postgres', qq{SET ai_scale.redis_sentinel_master = 'nosuch';
SELECT reported_role || ' / ' || breaker FROM ai_scale.redis_status()
 WHERE endpoint = '127.0.0.1:$s_port'}),
    'sentinel (does not know "nosuch") / closed',
    'redis_status() says the sentinel does not know the master, its breaker closed');
my ($ret, $out, $err) = $node->psql('postgres', q{SET ai_scale.redis_sentinel_master = 'nosuch';
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('s', 1, '{"k": 9}');});
like($err,
    qr/DETAIL:  No Redis Sentinel in ai_scale\.redis_sentinels has named a primary for "nosuch"\. .*Sentinel 127\.0\.0\.1:$s_port: ERR No such master with that name\./,
    'a strict call says why, naming the sentinel that does not know the master');
like($node->safe_psql('postgres', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('s', 1, '{"k": 8}', '{"v": 8}');
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('s', 1, '{"k": 8}');}), qr/\{"v": 8\}$/,
    'a new session of the right master is told its primary');

# A sentinel with a password (not supported: ai_scale sends it no AUTH) is shown as refusing
# its login, as a data node is; it was shown as unreachable, as if it did not answer.
my $pw_port = PostgreSQL::Test::Cluster::get_free_port();
sentinel_start('sentinel_pw', $pw_port, 'tapmaster', $r_port, 'requirepass sentinelpw');
is($node->safe_psql('postgres', qq{SET ai_scale.redis_sentinels = '127.0.0.1:$pw_port';
SELECT reported_role FROM ai_scale.redis_status() WHERE configured_as = 'sentinel'}),
    'refusing authentication (sentinel passwords are not supported)',
    'redis_status() says a sentinel with a password refuses the login');
redis_stop('sentinel_pw');

# The sentinel stops: sessions keep the primary they were told of; a new one has none and
# misses, or fails with 08006 when strict, at once.
redis_stop('sentinel');
($ret, $out, $err) = $node->psql('postgres', q{
SET statement_timeout = '10s';
SELECT ai_scale.cache_get('s', 1, '{"k": 3}') IS NULL AS miss;
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('s', 1, '{"k": 3}');
}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
is($out, 't', 'no sentinel: a miss');
like($err, qr/08006: redis is unavailable for the L2 cache.*\n.*No Redis Sentinel in ai_scale.redis_sentinels has named a primary for "tapmaster"/,
    'strict: 08006, saying why');
like($err, qr/named a primary for "tapmaster"\. Sentinel 127\.0\.0\.1:\d+: connect: .*Sentinel 127\.0\.0\.1:$s_port: connect: /,
    '... with each sentinel\'s own error');

# A plain Redis named as a sentinel answers SENTINEL with an error, which its breaker counts as
# no failure: the 08006 said only that no sentinel had named a primary, and redis_status() that
# the endpoint was unreachable, while it answered.
($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.redis_sentinels = '127.0.0.1:$p_port';
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('s', 1, '{"k": 4}');
SELECT reported_role, breaker FROM ai_scale.redis_status() WHERE configured_as = 'sentinel';
});
like($err, qr/named a primary for "tapmaster"\. Sentinel 127\.0\.0\.1:$p_port: ERR unknown command .SENTINEL./,
    'a plain Redis as a sentinel: the 08006 gives its refusal');
$out = $node->safe_psql('postgres', qq{
SET ai_scale.redis_sentinels = '127.0.0.1:$p_port';
SELECT ai_scale.cache_get('s', 1, '{"k": 4}') IS NULL;
SELECT reported_role || ' / ' || breaker FROM ai_scale.redis_status() WHERE configured_as = 'sentinel';
});
like($out, qr/^not a sentinel \(SENTINEL refused\) \/ closed$/m,
    'and redis_status() says it is no sentinel, its breaker closed');
# The same with a Redis database of its own: the sentinel's breaker is keyed without it, the
# data endpoints' with it, and the status reads the sentinel's.
$out = $node->safe_psql('postgres', qq{
SET ai_scale.redis_sentinels = '127.0.0.1:$p_port';
SET ai_scale.redis_db = 1;
SELECT ai_scale.cache_get('s', 1, '{"k": 4}') IS NULL;
SELECT reported_role || ' / ' || breaker || ' / ' || (last_error LIKE '%SENTINEL%')
  FROM ai_scale.redis_status() WHERE configured_as = 'sentinel';
});
like($out, qr/^not a sentinel \(SENTINEL refused\) \/ closed \/ true$/m,
    'so it says so with ai_scale.redis_db set too, its row showing the sentinel breaker\'s error');

$node->stop;
redis_stop('replica');
redis_stop('primary');
done_testing();
