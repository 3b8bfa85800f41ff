# An invalidation whose INCRBY a Redis failover lost: primary server S and hot standby T share
# Redis A (primary) and B (its replica); S puts a value and T reads it (into its L1); B is
# promoted (REPLICAOF NO ONE), S invalidates the model (the INCRBY reaches A only), A rejoins as
# B's replica (its resync drops the INCRBY) and both servers are pointed at B. T syncs the slot
# from B, which holds the counter from before the invalidation, and served the invalidated
# value until S next used that model. S now re-checks the slots it bumped, at its next cache
# call of any model, and raises B's counter again: T misses.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $a_port = PostgreSQL::Test::Cluster::get_free_port();
my $b_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('a', $a_port);
redis_start('b', $b_port, '--replicaof', '127.0.0.1', $a_port);

# Waits until the Redis on $port follows the one on $primary_port, in sync.
sub follows {
    my ($port, $primary_port) = @_;
    for (1 .. 200) {
        my $info = `redis-cli -p $port info replication`;
        return 1 if $info =~ /master_port:$primary_port\r?\n/
          && $info =~ /master_link_status:up/ && $info =~ /master_sync_in_progress:0/;
        usleep(50_000);
    }
    return 0;
}
ok(follows($b_port, $a_port), 'B replicates A');

sub point_at {
    my ($node, $primary_port, $replica_port) = @_;
    $node->append_conf('postgresql.conf', qq{
ai_scale.redis_primary = '127.0.0.1:$primary_port'
ai_scale.redis_replicas = '127.0.0.1:$replica_port'
});
}

my $s = PostgreSQL::Test::Cluster->new('inv_primary');
$s->init(allows_streaming => 1);
# (redis_timeout_ms: a Redis descheduled past the default 100 ms on a loaded machine timed out a
# call the test expects answered.)
$s->append_conf('postgresql.conf',
    "shared_preload_libraries = 'ai_scale'\nai_scale.redis_timeout_ms = 10000\n");
point_at($s, $a_port, $b_port);
$s->start;
$s->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$s->backup('base');
my $t = PostgreSQL::Test::Cluster->new('inv_standby');
$t->init_from_backup($s, 'base', has_streaming => 1);
$t->start;

my $get = q{SELECT ai_scale.cache_get('fo', 1, '{"a": 1}')};
$s->safe_psql('postgres', q{SELECT ai_scale.cache_put('fo', 1, '{"a": 1}', '{"v": "old"}')});
ok($t->poll_query_until('postgres', "SELECT ($get) IS NOT NULL"), 'T reads what S put');
is($t->safe_psql('postgres', $get), '{"v": "old"}', 'the value S put');
ok(follows($b_port, $a_port), 'B has everything A has');

# The failover by hand, with S's invalidation in between.
system("redis-cli -p $b_port replicaof no one >/dev/null") == 0 or die;
$s->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('fo')});
is($s->safe_psql('postgres', "SELECT ($get) IS NULL"), 't', 'S misses after its invalidation');
system("redis-cli -p $a_port replicaof 127.0.0.1 $b_port >/dev/null") == 0 or die;
ok(follows($a_port, $b_port), 'A rejoined as B\'s replica');
for my $node ($s, $t) {
    point_at($node, $b_port, $a_port);
    $node->reload;
}
ok($t->poll_query_until('postgres',
    q{SELECT setting = '127.0.0.1:} . $b_port . q{' FROM pg_settings WHERE name = 'ai_scale.redis_primary'}),
    'T uses B');
# Until S makes a cache call, nothing can tell Redis: T syncs the slot from B and still serves
# the invalidated value (the INCRBY is lost, this is the failover the test means).
is($t->safe_psql('postgres', $get), '{"v": "old"}',
    'before any cache call on S, T still has the invalidated value');

# S's next cache call, of another model, re-checks the slot S bumped and raises B's counter.
my $missed = 0;
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (time < $deadline) {
    $s->safe_psql('postgres', q{SELECT ai_scale.cache_get('unrelated', 1, '{"b": 2}')});
    if ($t->safe_psql('postgres', "SELECT ($get) IS NULL") eq 't') {
        $missed = 1;
        last;
    }
    usleep(100_000);
}
ok($missed, 'after a cache call of another model on S, T misses the invalidated value');
$s->safe_psql('postgres', q{SELECT ai_scale.cache_put('fo', 1, '{"a": 1}', '{"v": "new"}')});
ok($t->poll_query_until('postgres', qq{SELECT ($get)::text = '{"v": "new"}'}),
    'a new put on S reaches T');

$t->stop;
$s->stop;
done_testing();
