# A Redis failover, as the sentinels name it, while a session holds the old primary: the write
# that meets the old primary turned replica (READONLY) asks the sentinels again and is made on
# the new primary in the same call. Before, it was dropped (a put: a later miss) or, with
# cache_strict, raised 08006 although the sentinels named a primary; an invalidation was kept
# on this server only, so a standby went on serving what it had invalidated. A sentinel of the
# test's own (fake_sentinel.py) names the primary, so that the switch happens within the second
# a session keeps what the sentinels told it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

plan skip_all => 'python3 not found'
  unless system('sh', '-c', 'command -v python3 >/dev/null') == 0;

my $a_port = PostgreSQL::Test::Cluster::get_free_port();
my $b_port = PostgreSQL::Test::Cluster::get_free_port();
# No delay before a full sync (Redis 7 waits 5 s for more replicas by default).
redis_start('failover_a', $a_port, '--repl-diskless-sync-delay', '0');
redis_start('failover_b', $b_port, '--repl-diskless-sync-delay', '0', '--replicaof', '127.0.0.1',
    $a_port);

# Waits until the Redis on $port is a replica in sync with its primary.
sub wait_for_redis_sync {
    my ($port) = @_;
    for (1 .. 200) {
        my $info = `redis-cli -p $port info replication`;
        return 1
          if $info =~ /master_link_status:up/ && $info =~ /master_sync_in_progress:0/;
        usleep(50_000);
    }
    return 0;
}

# The fake sentinel names the first line of $names as the primary, the others as replicas.
my $names = PostgreSQL::Test::Utils::tempdir() . '/names';
sub name_primary {
    my ($primary, $replica) = @_;
    open(my $fh, '>', "$names.new") or die "$names: $!";
    print $fh "127.0.0.1:$primary\n127.0.0.1:$replica\n";
    close $fh;
    rename("$names.new", $names) or die "$names: $!";
}
name_primary($a_port, $b_port);
my $s_port = fake_sentinel_start($names);

my $primary = PostgreSQL::Test::Cluster->new('failover_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.cache_use_l1 = off
ai_scale.redis_sentinels = '127.0.0.1:$s_port'
ai_scale.redis_sentinel_master = 'tapmaster'
});
$primary->start;
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('failover_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->wait_for_catchup($standby);

# Promotes the replica and turns the primary into its replica, then has the sentinel say so
# (a shell command, run from psql between two calls of one session).
sub switch_to {
    my ($new, $old) = @_;
    return "\\! redis-cli -p $new replicaof no one >/dev/null && "
      . "redis-cli -p $old replicaof 127.0.0.1 $new >/dev/null && "
      . "printf '127.0.0.1:$new\\n127.0.0.1:$old\\n' > $names.new && mv $names.new $names";
}

sub standby_get {
    my ($input) = @_;
    return $standby->safe_psql('postgres',
        "SELECT coalesce(ai_scale.cache_get('m', 1, '$input')::text, 'miss')");
}

ok(wait_for_redis_sync($b_port), 'the replica is in sync');
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"k": 1}', '{"v": 1}')});
ok($standby->poll_query_until('postgres',
        q{SELECT ai_scale.cache_get('m', 1, '{"k": 1}') = '{"v": 1}'}),
    'the standby reads what the primary put');

# A session learns the primary (a), which is then replaced (b) before it asks again, and
# invalidates the model: the INCRBY meets a READONLY replica.
my ($ret, $out, $err) = $primary->psql('postgres', qq{
SELECT ai_scale.cache_get('m', 1, '{"k": 1}');
${\ switch_to($b_port, $a_port)}
SELECT ai_scale.cache_invalidate('m');
SELECT endpoint FROM ai_scale.redis_status() WHERE configured_as = 'primary (named by sentinel)';
});
is($ret, 0, 'the invalidation during the failover succeeds') or diag($err);
like($out, qr/^127\.0\.0\.1:$b_port$/m, 'and the session now names the new primary');
like(`redis-cli -p $a_port info replication`, qr/role:slave/, 'the old primary is a replica');
ok(wait_for_redis_sync($a_port), 'in sync with the new one');
# The standby syncs a slot's generation from Redis at most once a second.
sleep 2;
is(standby_get('{"k": 1}'), 'miss', 'the standby no longer serves the invalidated entry');

# The same with cache_strict: a put during the failover is made on the new primary, not
# refused with 08006.
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"k": 2}', '{"v": 2}')});
($ret, $out, $err) = $primary->psql('postgres', qq{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('m', 1, '{"k": 2}');
${\ switch_to($a_port, $b_port)}
SELECT ai_scale.cache_put('m', 1, '{"k": 3}', '{"v": 3}');
SELECT ai_scale.cache_get('m', 1, '{"k": 3}');
});
is($ret, 0, 'a strict put during the failover succeeds') or diag($err);
like($out, qr/^\{"v": 3\}$/m, 'and is read back');
like(`redis-cli -p $b_port info replication`, qr/role:slave/, 'the old primary is a replica');
ok(wait_for_redis_sync($b_port), 'in sync with the new one');
# In sync is not caught up: the put may still be on its way to the replica the standby reads.
ok(redis_replica_caught_up("127.0.0.1:$a_port", "127.0.0.1:$b_port"),
    'the replica has every write of the new primary');
is(standby_get('{"k": 3}'), '{"v": 3}', 'the standby reads the put from the new primary');

# The old primary's breaker saw one READONLY error per failover, and stays closed.
is($primary->safe_psql('postgres',
        "SELECT string_agg(breaker, ',') FROM ai_scale.redis_status() WHERE configured_as <> 'sentinel'"),
    'closed,closed', 'both breakers closed');

# The new primary refuses the INCRBY the old one failed (its default user lacks the command):
# that refusal is the new primary's, warned of as it is without a failover. Before, the retry
# on the newly named primary kept no refusal, and the session said nothing.
like(`redis-cli -p $b_port ACL SETUSER default -incrby`, qr/OK/,
    'the next primary refuses INCRBY');
($ret, $out, $err) = $primary->psql('postgres', qq{
SELECT ai_scale.cache_get('m', 1, '{"k": 2}');
${\ switch_to($b_port, $a_port)}
SELECT ai_scale.cache_invalidate('m');
});
is($ret, 0, 'an invalidation the new primary refuses') or diag($err);
like($err,
    qr/WARNING:  redis refused to increment a generation counter of the L2 cache\nDETAIL:  Endpoint 127\.0\.0\.1:$b_port: NOPERM/,
    '... warns, naming the new primary and its refusal');

$standby->stop;
$primary->stop;
redis_stop('failover_b');
redis_stop('failover_a');
done_testing();
