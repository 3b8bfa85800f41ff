# An invalidation made while Redis was unreachable is marked in shared memory (unsent), and the
# next sync raises Redis's counter past it. A server restarted before that sync lost the mark with
# its shared memory: at its first sync it took Redis's counter, the generation the values cached
# before the invalidation were written under, and served them again. The postmaster now writes
# the marks to a file of the data directory when it exits (any shutdown mode) or reinitialises
# after a crash, and marks those slots again when it makes shared memory; a file it cannot read
# marks every slot. A mark carried so is sent at the first cache call of any model, not left to
# the next use of the model invalidated (which the other servers went on serving until then).
# And a bump Redis took in the last 5 minutes is carried as a mark too: a failover may yet lose
# it, which the server rechecks for while it runs, and which after a restart it could no longer
# tell (it took Redis's counter, the generation before the bump); so is a mark Redis took in the
# last 5 minutes, whatever the age of the bump (a mark carried from before the start, sent at once).
# Such a slot is carried with the generation the server used, and Redis's counter raised past it
# only where it is found below: marked unsent instead, it was bumped again at every restart, and
# what was cached since the bump missed (test/tap/090_crash_restart.pl).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dead = PostgreSQL::Test::Cluster::get_free_port(); # nothing listens there
redis_start('unsent_restart', $port);
my $node = cache_node('cache_unsent_restart', redis_primary => "127.0.0.1:$port");
$node->append_conf('postgresql.conf', "restart_after_crash = on\nlog_line_prefix = '%m [%p] %e '\n");
$node->restart;
my $file = $node->data_dir . '/ai_scale_cache_unsent_bumps';

my $get = q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}')::text, 'miss')};
sub put {
    my ($value) = @_;
    $node->safe_psql('postgres',
        qq{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "$value"}')});
    is($node->safe_psql('postgres', $get), qq({"v": "$value"}), "'$value' is a hit from Redis");
}
# The generation counters in Redis: key => value.
sub counters {
    my @keys = map { chomp; $_ } `redis-cli -p $port --scan --pattern 'ai_scale:gen:*'`;
    return map { my $v = `redis-cli -p $port GET '$_'`; chomp $v; ($_ => $v) } @keys;
}
# Invalidates the version in a session whose Redis is an address nothing listens at.
sub invalidate_unreachable {
    my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('m', 1);});
    is($ret, 0, 'the invalidation without Redis succeeds') or diag($err);
}

# 1. A clean restart.
put('before the restart');
invalidate_unreachable();
$node->stop;
like(-e $file ? slurp_file($file) : '(no file)', qr/\Aai_scale unsent generation bumps 2\n\d+\nend\n\z/,
    'the stopped server left the one slot it bumped without Redis in the file');
my %before_start = counters();
my $offset = -s $node->logfile;
$node->start;
$node->safe_psql('postgres', q{SELECT ai_scale.cache_get('other', 1, '{"a": 1}')});
my %after_call = counters();
is(scalar(grep { $after_call{$_} > $before_start{$_} } keys %before_start), 1,
    'a cache call of another model sends the carried mark to Redis (one counter raised)');
is($node->safe_psql('postgres', $get), 'miss',
    'after the restart, the value put before the invalidation is a miss');
like(slurp_file($node->logfile, $offset),
    qr/LOG:  ai_scale: cache invalidations carried from before this start are sent to Redis again where it lacks them\n.*DETAIL:  1 generation slot was carried: bumped while Redis was unreachable/,
    'the start says it carried the invalidation');
# Redis took the carried bump just now, which a failover may yet lose: it is carried again, with
# the generation it took the counter to.
put('after the restart');
$node->stop('immediate');
like(-e $file ? slurp_file($file) : '(no file)', qr/\Aai_scale unsent generation bumps 2\n\d+ \d+\nend\n\z/,
    'the carried mark Redis took after the start is in the file again, with its generation (an immediate shutdown too)');
system('redis-cli', '-p', $port, 'SET', $_, $before_start{$_}) == 0 or die 'SET'
  for keys %before_start; # a failover lost it during the restart
$node->start;
is($node->safe_psql('postgres', $get), 'miss',
    'after a restart during which Redis lost the carried bump, the value put before it is a miss');
# Where Redis kept the bump, the restart bumps nothing again.
put('after the loss');
$node->restart;
is($node->safe_psql('postgres', $get), '{"v": "after the loss"}',
    'a value put after the invalidation is still a hit after another restart');

# 2. A crash: the postmaster reinitialises shared memory without exiting.
put('before the crash');
invalidate_unreachable();
my $other = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $other->query_safe('SELECT pg_backend_pid()');
$offset = -s $node->logfile;
kill 'KILL', $pid;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
eval { $other->quit };
ok($node->poll_query_until('postgres', 'SELECT true'), 'the server is back after the crash');
is($node->safe_psql('postgres', $get), 'miss',
    'after the crash, the value put before the invalidation is a miss');

# 3. A damaged file marks every slot: a value of another model put before the restart is missed.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('other', 1, '{"a": 1}', '{"v": 1}')});
put('before the damage');
$node->stop;
append_to_file($file, "damaged\n"); # a file the server wrote, with something after its end
$offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $offset),
    qr/XX001 WARNING:  ai_scale: file "ai_scale_cache_unsent_bumps" does not hold the cache invalidations/,
    'the damaged file is named in a warning');
is($node->safe_psql('postgres', $get), 'miss', 'the model is missed once');
is($node->safe_psql('postgres',
        q{SELECT coalesce(ai_scale.cache_get('other', 1, '{"a": 1}')::text, 'miss')}),
    'miss', 'and so is any other');
put('after the damage');

# 4. A file that cannot be written is a LOG line at the exit, and nothing else.
invalidate_unreachable();
$node->stop;
unlink $file;
mkdir $file or die "mkdir $file: $!";
$offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $offset),
    qr/42809 WARNING:  ai_scale: file "ai_scale_cache_unsent_bumps" does not hold.*\n.*DETAIL:  It could not be read: Is a directory/,
    'a file that cannot be read is a warning with the SQLSTATE of its error, not XX001');
invalidate_unreachable();
$offset = -s $node->logfile;
$node->stop;
like(slurp_file($node->logfile, $offset),
    qr/LOG:  ai_scale: cache invalidations Redis may lack are not carried to the next start\n.*DETAIL:  \d+ generation slots were to be carried: bumped while Redis was unreachable, or in the last 5 minutes, a bump a Redis failover may yet lose\.\n.*HINT:  Once Redis answers, call ai_scale\.cache_invalidate again for the models invalidated while it did not, and in the 5 minutes before the stop\./,
    'a file that cannot be written is logged at the stop');
rmdir $file or die "rmdir $file: $!";

# 5. A shutdown while a call sends a carried mark to Redis: the backend, terminated while it
# waits for Redis's answer to the INCRBY, exits by FATAL, which runs no C++ handler, and the
# mark it took to send is carried all the same (Redis, paused for writes, drops the INCRBY of a
# client that went). Sent by the first sync after a start, then by a bump.
sub stopped_while_sending {
    my ($sql, $what) = @_;
    $node->start;
    put("before the shutdown $what");
    invalidate_unreachable();
    $node->restart;
    system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '60000', 'WRITE') == 0 or die 'pause';
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(q{SET application_name = 'sending'; SET ai_scale.redis_timeout_ms = 60000});
    $s->query_until(qr/sent/, "\\echo sent\n$sql;\n");
    $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'sending' AND wait_event_type = 'Extension'}) or die 'no wait';
    $node->stop('fast');
    eval { $s->quit };
    system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'unpause';
    ok(-e $file, "the mark being sent $what at the shutdown is in the file");
    $node->start;
    is($node->safe_psql('postgres', $get), 'miss',
        "after a shutdown $what, the value put before the invalidation is a miss");
    $node->stop;
}
stopped_while_sending($get, 'during the sync');
stopped_while_sending(q{SELECT ai_scale.cache_invalidate('m', 1)}, 'during a bump');
$node->start;

# 6. A bump Redis took, lost while the server restarted (a failover to a replica it had not
# reached; here the counters set back by hand): carried as a mark, it is made again.
put('before the lost bump');
my %held = counters();
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m', 1)});
is($node->safe_psql('postgres', $get), 'miss', 'the invalidation, Redis reachable, is a miss');
$node->stop;
system('redis-cli', '-p', $port, 'SET', $_, $held{$_}) == 0 or die 'SET' for keys %held;
$node->start;
is($node->safe_psql('postgres', $get), 'miss',
    'after a restart during which Redis lost the bump, the value put before it is still a miss');

# 7. Many slots carried with their generations (a line of up to 27 bytes each): the file is read
# whole, where the reader stopped at 6 bytes a slot, took the file for damaged and marked every
# slot, a miss for every model.
$node->safe_psql('postgres',
    q{SELECT count(ai_scale.cache_invalidate('many' || i)) FROM generate_series(1, 30000) i});
$node->stop;
ok(-s $file > 64 + 65536 * 6, 'the file of many carried slots is larger than 6 bytes a slot');
my $lines = () = slurp_file($file) =~ /\n/g;
$offset = -s $node->logfile;
$node->start;
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/WARNING:  ai_scale: file/, 'it is read, without a warning');
like($log, qr/DETAIL:  @{[$lines - 2]} generation slots were carried/, '... every slot in it');

redis_stop('unsent_restart');
done_testing();
