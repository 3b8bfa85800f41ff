# An invalidation that Redis took, seen by a server whose next use of the model comes while the
# Redis primary hangs: primary server P and hot standby S share Redis A (primary) and B (its
# replica); S reads a value into its L1, P invalidates the model (A takes the INCRBY, B
# replicates it), then A hangs (SIGSTOP). S synced the model's slots from A only: with no
# answer it kept the slots it had, and answered the invalidated value from its L1, and from B
# (whose link to A stays up for repl-timeout), for as long as A hung. It now reads the counters
# from B when A does not answer: S misses, as P does.
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
my ($a, $b) = ("127.0.0.1:$a_port", "127.0.0.1:$b_port");
ok(redis_replica_caught_up($a, $b), 'B replicates A');

my ($primary, $standby) = primary_and_standby('sync_from_replica', qq{
ai_scale.redis_primary = '$a'
ai_scale.redis_replicas = '$b'
ai_scale.redis_timeout_ms = 300
});
$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->wait_for_catchup($standby);

my $get = q{SELECT coalesce(ai_scale.cache_get('inv', 1, '{"a": 1}')::text, 'miss')};
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('inv', 1, '{"a": 1}', '{"v": "before"}')});
ok(redis_replica_caught_up($a, $b), 'B has the value');
is($standby->safe_psql('postgres', $get), '{"v": "before"}', 'S reads the value');
is($standby->safe_psql('postgres', $get), '{"v": "before"}', 'and again (from its L1)');

# A second on, S syncs the model's slots again at its next use of it.
usleep(1_200_000);
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('inv')});
is($primary->safe_psql('postgres', $get), 'miss', 'P misses after its invalidation');
ok(redis_replica_caught_up($a, $b), 'B has the invalidation');

my $a_pid = redis_pid('a');
kill 'STOP', $a_pid;
is($standby->safe_psql('postgres', $get), 'miss',
    'with A hung, S misses: its L1 answers no invalidated value');
is($standby->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get"), 'miss',
    'nor does B, read with L1 off');
kill 'CONT', $a_pid;
is($standby->safe_psql('postgres', $get), 'miss', 'S misses once A answers again');

# A slot S has not learned yet is not learned from B: with A silent, B's lag cannot be checked,
# and a B behind an invalidation (here one made straight in A's counters, as another server's
# INCRBY) gave the counters from before it, under which S read the invalidated value from B.
# (A learned slot only rises, never below what S had.)
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('inv2', 1, '{"a": 1}', '{"v": "before"}')});
ok(redis_replica_caught_up($a, $b), 'B has the second value');
$standby->restart; # its slots unlearned, its L1 empty
system("redis-cli -p $b_port client pause 30000 write >/dev/null") == 0
  or die 'CLIENT PAUSE failed';
for my $counter (split /\n/, `redis-cli -p $a_port --scan --pattern 'ai_scale:gen:*'`) {
    system("redis-cli -p $a_port incrby $counter 1000 >/dev/null") == 0 or die 'INCRBY failed';
}
kill 'STOP', $a_pid;
is($standby->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get" =~ s/inv/inv2/r),
    'miss', 'with A hung and B behind, S misses a slot it has not learned');
kill 'CONT', $a_pid;
system("redis-cli -p $b_port client unpause >/dev/null");

# Nor is a slot S bumped itself while A hung (its invalidation unsent), to a counter B holds from
# another server's invalidation before it: raised to that, S read from B what that server had
# put since, its own invalidation undone. (The other server's bump is made straight in A's
# counters, 2^30, past any step of S's own.)
sub gen_keys { return map { $_ => 1 } split /\n/, `redis-cli -p $a_port --scan --pattern 'ai_scale:gen:*'`; }
my %before = gen_keys();
my $get3 = q{SELECT coalesce(ai_scale.cache_get('inv3', 1, '{"a": 1}')::text, 'miss')};
is($standby->safe_psql('postgres', $get3), 'miss', 'S learns the slots of a third model');
my %after = gen_keys();
my @made = grep { !$before{$_} } keys %after;
is(scalar @made, 2, 'its counters are made');
usleep(1_200_000);
system("redis-cli -p $a_port incrby $_ 1073741824 >/dev/null") == 0 or die 'INCRBY failed'
  for @made;
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('inv3', 1, '{"a": 1}', '{"v": "put by P"}')});
ok(redis_replica_caught_up($a, $b), 'B has the counters and the value');
kill 'STOP', $a_pid;
$standby->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('inv3')});
is($standby->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get3"), 'miss',
    'with A hung, S misses after its own invalidation');
kill 'CONT', $a_pid;

# A cache_strict call reads the counters from the primary alone: with A hung it fails with 08006,
# as docs/cache.md says, rather than answering with counters read from B, whose lag it cannot
# check. (A second after S's last sync of the first model's slots, so that they are due.)
is($standby->safe_psql('postgres', $get), 'miss', 'S syncs the first model\'s slots with A back');
usleep(1_200_000);
kill 'STOP', $a_pid;
my ($ret, $out, $err) = $standby->psql('postgres', "SET ai_scale.cache_strict = on; $get",
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
kill 'CONT', $a_pid;
like($err, qr/ERROR:  08006: redis is unavailable for the L2 cache/,
    'with A hung, a strict call fails with 08006');

# Nor is a slot raised while a bump of this server's is owed to it: a transaction that invalidated
# a model commits, and its bump at commit (for what was put between the call and the commit)
# waits for A, hung. P's here, as a standby's transactions write nothing and owe none. Raised
# meanwhile to the counter B holds from another server's invalidation (S's), under which that
# server put a value before the commit, P answered that value while the bump waited.
my $get4 = q{SELECT coalesce(ai_scale.cache_get('inv4', 1, '{"a": 1}')::text, 'miss')};
is($primary->safe_psql('postgres', $get4), 'miss', 'P learns the slots of a fourth model');
my $committer = $primary->background_psql('postgres');
$committer->query_safe(q{SET application_name = 'committer';
SET ai_scale.redis_timeout_ms = 60000;
BEGIN;
SELECT pg_current_xact_id();
SELECT ai_scale.cache_invalidate('inv4');});
$standby->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('inv4');
SELECT ai_scale.cache_put('inv4', 1, '{"a": 1}', '{"v": "put by S"}');});
ok(redis_replica_caught_up($a, $b), 'B has S\'s invalidation and value');
kill 'STOP', $a_pid;
$committer->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
ok($primary->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
 WHERE application_name = 'committer' AND query = 'COMMIT;' AND wait_event_type = 'Extension'}),
    'the commit\'s bump waits for A');
# (A second on, the model's slots are due: the bump may first recheck the slots P bumped lately,
# this model's among them, and wait for A there, its claim on them good for a second.)
usleep(1_200_000);
is($primary->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get4"), 'miss',
    'with A hung and a bump owed, P misses');
kill 'CONT', $a_pid;
$committer->quit;

$standby->stop;
$primary->stop;
done_testing();
