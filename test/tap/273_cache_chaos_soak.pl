# A randomized soak of the cache's read and invalidation guarantees on one server (L1 on) with
# a Redis primary and a replica (reads go to the replica) that a chaos loop keeps breaking: the
# primary stopped and continued (a hung Redis), restarted without persistence (values and
# generation counters lost; the replica then syncs again), FLUSHALL, a tiny maxmemory with
# noeviction (every write refused with OOM), DEBUG SLEEP, CLIENT KILL (every connection), the
# replica stopped and continued; and the server restarted (L1 lost), with Redis hung across
# the restart too (invalidations carried as unsent in the file), reinitialised after a
# backend was killed, or its postmaster killed (SIGKILL) while Redis hung. Meanwhile four sessions make random puts, gets, get_manys and
# invalidations (of a model or of one version) over three models, two versions and five
# inputs, every value put unique (model, version, input, writer, sequence), each session made
# again when a restart ends it. One has cache_use_l1 off (its reads ask Redis, its puts remove
# L1's value); one has cache_strict on and a statement_timeout of 60 ms (its calls fail while
# Redis does not answer, or are cancelled; a put that fails removes L1's value). Each operation
# is timed on the monotonic clock, shared by the test's processes, and the history is checked
# afterwards against what docs/cache.md promises whatever Redis does:
#   1. every call succeeds, or its session ended under it (a restart), or it is the strict
#      session's and failed with 08006 or 57014: such a call may or may not have taken effect,
#      so such a put's value may be read, and such an invalidation is none;
#   2. a value read is one a put of that very model, version and input wrote, begun before the
#      read ended (never another key's, never a torn or invented one);
#   3. a read begun after an invalidation of its model (or of its version) ended never answers
#      a value whose put ended before that invalidation began, across restarts too;
#   4. a read with L1 on, begun after a put with L1 on of its key ended, never answers a value
#      whose put ended before that put began (L1 keeps the newest put, and a fill from Redis
#      never replaces a value there), unless since that put began a put of the key with L1 off,
#      or one that failed or was cut off, removed L1's value, or, since the older put, the
#      server restarted (L1 emptied; a put made after the start while Redis did not answer is
#      made in L1 alone under a generation not learned yet, which the reads no longer use once
#      Redis answers): Redis's write of the newer value may have failed, or the replica may
#      not have it yet, and Redis then answers an older value, which L1 then keeps
#      (docs/cache.md: Functions; L2, a replica within the lag limit).
# The faults are a fixed number (AI_SCALE_CHAOS_ROUNDS rounds of each kind), in a shuffled order,
# each made once the sessions have made its share of their operations (a fixed number each,
# AI_SCALE_CHAOS_OPS). AI_SCALE_CHAOS_SEED replays a seed's choices (the interleaving is the
# machine's). Made to fail (each in some of a few seeds) by an invalidation made without Redis
# that did not bump the slot here, by the unsent bumps not carried across a restart, nor written
# by the backend for a killed postmaster, by a fill from Redis replacing L1's value, and by
# MGET's answers misassigned.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep clock_gettime CLOCK_MONOTONIC);
use List::Util qw(shuffle);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $seed = $ENV{AI_SCALE_CHAOS_SEED} // 273;
note "seed $seed (AI_SCALE_CHAOS_SEED replays it)";
my $clients = 4;
my $l1_off = $clients - 1; # the client with ai_scale.cache_use_l1 off
my $strict = $clients - 2; # the client with cache_strict on and a statement_timeout
my $ops_per_client = $ENV{AI_SCALE_CHAOS_OPS} // 1500;
my $fault_rounds = $ENV{AI_SCALE_CHAOS_ROUNDS} // 4; # each round makes every kind of fault once, in a random order
my @models = (0 .. 2);
my @versions = (1, 2);
my @inputs = (0 .. 4);

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $replica_port = PostgreSQL::Test::Cluster::get_free_port();
my @redis_args = ('--enable-debug-command', 'local');
redis_start('chaos', $port, @redis_args);
redis_start('chaos_replica', $replica_port, '--replicaof', '127.0.0.1', $port);
ok(redis_replica_caught_up("127.0.0.1:$port", "127.0.0.1:$replica_port"), 'the replica follows');
my $node = cache_node('chaos',
    redis_primary => "127.0.0.1:$port", redis_replicas => "127.0.0.1:$replica_port",
    cache_use_l1 => 'on', l1_entries => 65536,
    l1_max_value_bytes => 256, redis_timeout_ms => 100, breaker_failures => 3,
    breaker_reset_ms => 100);
# A backend killed makes the postmaster reinitialise, not stop (the tests' default).
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->reload;
# What check 4 allows for, shown once: a put Redis refuses (maxmemory) is no error without
# cache_strict, and is made in this server's L1 alone, or, with L1 off, not at all (it removes
# L1's value); Redis keeps the older value, which a session with L1 off reads, and then every
# session (docs/cache.md, Functions).
my $get = q{SELECT ai_scale.cache_get('refused', 1, '{"k": 1}')};
my $l1_off_get = "SET ai_scale.cache_use_l1 = off; $get";
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('refused', 1, '{"k": 1}', '{"v": 1}')});
ok(redis_replica_caught_up("127.0.0.1:$port", "127.0.0.1:$replica_port"), 'the replica has it');
system("redis-cli -p $port config set maxmemory-policy noeviction >/dev/null") == 0 or die;
system("redis-cli -p $port config set maxmemory 1 >/dev/null") == 0 or die;
my ($ret, $out, $err) = $node->psql('postgres',
    q{SELECT ai_scale.cache_put('refused', 1, '{"k": 1}', '{"v": 2}')});
is("$ret [$err]", '0 []', 'a put Redis refuses is no error');
is($node->safe_psql('postgres', $get), '{"v": 2}', 'L1 answers it');
is($node->safe_psql('postgres', $l1_off_get), '{"v": 1}', 'Redis the value it replaced');
$node->safe_psql('postgres',
    q{SET ai_scale.cache_use_l1 = off; SELECT ai_scale.cache_put('refused', 1, '{"k": 1}', '{"v": 3}')});
is($node->safe_psql('postgres', $get), '{"v": 1}',
    'after a put with L1 off that Redis refuses, L1 answers the older value too');
system("redis-cli -p $port config set maxmemory 0 >/dev/null") == 0 or die;

# And a put made after a restart, before Redis answers: under the generation not learned yet, in
# L1 alone; once Redis answers, the reads use the generation learned, and Redis's older value.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('refused', 1, '{"k": 1}', '{"v": 4}')});
ok(redis_replica_caught_up("127.0.0.1:$port", "127.0.0.1:$replica_port"), 'the replica has it');
kill 'STOP', redis_pid('chaos');
$node->restart;
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('refused', 1, '{"k": 1}', '{"v": 5}')});
is($node->safe_psql('postgres', $get), '{"v": 5}', 'a put before Redis answers is read back');
kill 'CONT', redis_pid('chaos');
# (Polled: the failed reads of the slot may have opened Redis's breaker for a moment.)
ok($node->poll_query_until('postgres', $get, '{"v": 4}'),
    'once Redis answers, the value put before the restart is read again');

my $dir = PostgreSQL::Test::Utils::tempdir();

sub now { return clock_gettime(CLOCK_MONOTONIC); }

# One client: its own psql session, ops_per_client random operations, each logged as "op model
# version inputs start end answer".
sub client {
    my ($w) = @_;
    srand($seed * 100 + $w);
    my $session = AiScaleTest::SoakSession->new($node);
    # Sends $sql and reads its answer: (start, end, answer), the answer "LOST" when the session
    # ended under it (the server restarted or crashed).
    my $send = sub {
        my ($sql) = @_;
        my $start = now();
        my ($answer, $err) = $session->run("$sql;");
        my $end = now();
        return ($start, $end, 'LOST') unless defined $answer;
        chomp $answer;
        $answer =~ s/\n/ /g;
        # (A WARNING, such as Redis refusing an INCRBY, is no failure.)
        return ($start, $end, $answer) unless $err =~ /^(ERROR|PANIC)/m;
        my @lines = split /\n/, $err;
        return ($start, $end,
            join(' ', 'ERROR', (grep { /^(ERROR|PANIC)/ } @lines), grep { /^DETAIL/ } @lines));
    };
    # The session's settings, made again with it after a restart. The last client keeps L1
    # off: its reads ask Redis, and its puts remove L1's value.
    my $set =
        $w == $l1_off ? 'SET ai_scale.cache_use_l1 = off; '
      : $w == $strict
      ? "SET ai_scale.cache_strict = on; SET statement_timeout = 60; \\set VERBOSITY verbose\n"
      : '';
    my $connect = sub { $session->reopen($set) };
    $connect->();
    open(my $log, '>', "$dir/client$w.log") or die;
    $log->autoflush(1);
    my $seq = 0;
    my $run = sub {
        my @r = $send->(@_);
        $connect->() if $r[2] eq 'LOST';
        return @r;
    };
    for (my $n = 0; $n < $ops_per_client; $n++) {
        my $m = $models[ int(rand(@models)) ];
        my $v = $versions[ int(rand(@versions)) ];
        my $k = $inputs[ int(rand(@inputs)) ];
        my $r = rand();
        my ($op, $keys, $sql);
        if ($r < 0.4) {
            $seq++;
            ($op, $keys) = ('put', $k);
            $sql = qq{SELECT ai_scale.cache_put('m$m', $v, '{"k": $k}', '{"v": "m$m.$v.k$k.w$w.s$seq"}')};
        } elsif ($r < 0.75) {
            ($op, $keys) = ('get', $k);
            $sql = qq{SELECT coalesce(ai_scale.cache_get('m$m', $v, '{"k": $k}')::text, 'NULL')};
        } elsif ($r < 0.92) {
            my @ks = map { $inputs[ int(rand(@inputs)) ] } 1 .. 3;
            ($op, $keys) = ('get', join(',', @ks));
            my $arr = join(', ', map { qq{'{"k": $_}'} } @ks);
            $sql = qq{SELECT string_agg(coalesce(x::text, 'NULL'), '|' ORDER BY o)
FROM unnest(ai_scale.cache_get_many('m$m', $v, ARRAY[$arr]::jsonb[])) WITH ORDINALITY t(x, o)};
        } elsif ($r < 0.97) {
            ($op, $keys) = ('inv', '-');
            $sql = qq{SELECT ai_scale.cache_invalidate('m$m', $v)};
        } else {
            ($op, $keys, $v) = ('inv', '-', 0);
            $sql = qq{SELECT ai_scale.cache_invalidate('m$m')};
        }
        my ($start, $end, $answer) = $run->($sql);
        # The strict client's calls fail while Redis does not answer (08006), and are cancelled
        # by its statement_timeout (57014): either may have taken effect, or part of it.
        my $status =
            $answer eq 'LOST' ? 'lost'
          : $w == $strict && $answer =~ /^ERROR ERROR:  (08006|57014):/
          && (() = $answer =~ /ERROR:/g) == 1 ? 'failed'
          : $answer =~ /^ERROR/ ? 'error'
          : 'ok';
        # A put is logged with its value, whatever became of it.
        $answer = "m$m.$v.k$k.w$w.s$seq" if $op eq 'put' && $status ne 'error';
        printf $log "%s %d %d %s %.9f %.9f %s %s\n", $op, $m, $v, $keys, $start, $end, $status,
          $answer;
    }
    close $log;
    $session->close;
}

my @pids = fork_clients($clients, \&client);

# The chaos loop.
srand($seed);
my $cli = "redis-cli -p $port";
my @pg_windows; # [start, end] of each restart of the server, which empties L1
my %faults = (
    stop => sub { redis_paused('chaos') },
    restart => sub {
        redis_stop('chaos');
        usleep(int(rand(200_000)));
        redis_start('chaos', $port, @redis_args);
    },
    flushall => sub { system("$cli flushall >/dev/null") == 0 or die 'flushall failed'; },
    maxmemory => sub {
        system("$cli config set maxmemory-policy noeviction >/dev/null") == 0 or die;
        system("$cli config set maxmemory 1 >/dev/null") == 0 or die;
        usleep(50_000 + int(rand(300_000)));
        system("$cli config set maxmemory 0 >/dev/null") == 0 or die;
    },
    sleep => sub {
        my $s = sprintf('%.2f', 0.05 + rand(0.3));
        system("$cli debug sleep $s >/dev/null") == 0 or die 'debug sleep failed';
    },
    replica_stop => sub { redis_paused('chaos_replica') },
    # The server restarted (a fast shutdown: L1 lost, the unsent bumps carried in a file), or
    # reinitialised after a backend crashed (killed): every session ends and connects again.
    pg_restart => sub {
        my $t = now();
        $node->restart;
        push @pg_windows, [ $t, now() ];
    },
    pg_crash => sub {
        my $t = now();
        my $pids = $node->safe_psql('postgres', q{SELECT string_agg(pid::text, ' ')
FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()});
        my @pids = split / /, $pids;
        kill_backend($pids[ int(rand(@pids)) ]) if @pids;
        for (my $i = 0; !eval { $node->safe_psql('postgres', 'SELECT 1'); 1 }; $i++) {
            die 'the server did not come back' if $i > 2400;
            usleep(25_000);
        }
        push @pg_windows, [ $t, now() ];
    },
    # Redis hung across a restart of the server: invalidations made meanwhile are marked
    # unsent, carried in the file across the restart, and sent once Redis answers.
    pg_restart_redis_hung => sub {
        my $pid = redis_pid('chaos');
        kill 'STOP', $pid;
        usleep(50_000 + int(rand(300_000)));
        my $t = now();
        $node->restart;
        push @pg_windows, [ $t, now() ];
        usleep(int(rand(300_000)));
        kill 'CONT', $pid;
    },
    # The postmaster killed (SIGKILL, as when the machine is lost) while Redis hangs: the
    # invalidations Redis did not take are in the file the backend wrote, not the exit.
    pg_kill_redis_hung => sub {
        my $pid = redis_pid('chaos');
        kill 'STOP', $pid;
        usleep(300_000 + int(rand(400_000))); # past the breaker's opening: bumps not sent
        my $t = now();
        my @procs = split / /,
          $node->safe_psql('postgres', q{SELECT string_agg(pid::text, ' ') FROM pg_stat_activity});
        $node->kill9;
        # Its children end once they see it gone; a backend forked since the list may hold the
        # shared memory a little longer, which fails a start.
        usleep(25_000) while grep { AiScaleTest::process_runs($_) } @procs;
        for (my $i = 0; !$node->start(fail_ok => 1); $i++) {
            die 'the server did not start again' if $i > 400;
            $node->{_pid} = undef; # read from the killed postmaster's pid file
            usleep(100_000);
        }
        push @pg_windows, [ $t, now() ];
        usleep(int(rand(300_000)));
        kill 'CONT', $pid;
    },
    kill => sub {
        system("$cli client kill type normal >/dev/null") == 0 or die 'client kill failed';
    },
);
my @order;
push @order, shuffle(sort keys %faults) for 1 .. $fault_rounds;
note 'faults: ' . join(' ', @order);
# Fault i is made once the clients have made i / (faults + 1) of their operations: spread over
# the run by its operations, not by the clock.
my %status; # of each client that exited, by pid
my (@fault_errors, @timeline);
my $chaos_start = now();
for my $i (1 .. @order) {
    my $due = int($i * $clients * $ops_per_client / (@order + 1));
    usleep(5_000) while lines_logged($dir, $clients) < $due && !clients_exited(\@pids, \%status);
    my $f = $order[ $i - 1 ];
    my $t = now();
    my $made = eval { $faults{$f}->(); 1 };
    push @timeline, sprintf('%s %.3f-%.3f', $f, $t, now());
    next if $made;
    push @fault_errors, "$f: $@";
    eval { kill 'CONT', redis_pid($_) } for ('chaos', 'chaos_replica');
}
note sprintf('faults made in %.1f s: %s', now() - $chaos_start, join(', ', @timeline));
for my $pid (@pids) {
    $status{$pid} = $? if !exists $status{$pid} && waitpid($pid, 0) == $pid;
    is($status{$pid}, 0, "client pid $pid ran to its end");
}

is(join('; ', @fault_errors), '', 'every fault was made');

# The history.
my (@ops, %put_of);
for my $w (0 .. $clients - 1) {
    open(my $fh, '<', "$dir/client$w.log") or die;
    while (<$fh>) {
        chomp;
        my ($op, $m, $v, $keys, $start, $end, $status, $answer) = split / /, $_, 8;
        my $o = { w => $w, op => $op, m => $m, v => $v, keys => $keys, start => $start,
            end => $end, status => $status, answer => $answer, line => "client$w: $_" };
        push @ops, $o;
        $put_of{$answer} = $o if $op eq 'put';
    }
}
# An invalidation whose session ended under it may or may not have been made, and a put so
# ended may or may not have been: neither counts as having replaced anything.
# (%puts_of: those made with L1 on.)
my (%invs_of, %puts_of); # by model and version (0: every version); by model, version, input
my %forgetting_puts_of; # the puts that may have removed L1's value, by model, version, input
for my $o (grep { $_->{status} eq 'ok' } @ops) {
    push @{ $invs_of{"$o->{m}.$o->{v}"} }, $o if $o->{op} eq 'inv';
    push @{ $puts_of{"$o->{m}.$o->{v}.$o->{keys}"} }, $o if $o->{op} eq 'put' && $o->{w} != $l1_off;
}
for my $o (grep { $_->{op} eq 'put' && ($_->{status} ne 'ok' || $_->{w} == $l1_off) } @ops) {
    push @{ $forgetting_puts_of{"$o->{m}.$o->{v}.$o->{keys}"} }, $o;
}
my %count;
$count{"$_->{op} $_->{status}"}++ for @ops;
my @errors = grep { $_->{status} eq 'error' } @ops;
is(scalar(@errors), 0, 'no call failed') or diag join("\n", map { $_->{line} } @errors[0 .. 4]);

my (@wrong, @stale, @replaced);
my ($hits, $misses) = (0, 0);
for my $g (grep { $_->{op} eq 'get' && $_->{status} eq 'ok' } @ops) {
    my @ks = split /,/, $g->{keys};
    my @answers = split /\|/, $g->{answer}, -1;
    if (@answers != @ks) {
        push @wrong, "$g->{line} (answers " . scalar(@answers) . " inputs)";
        next;
    }
    for my $i (0 .. $#ks) {
        my $a = $answers[$i];
        if ($a eq 'NULL') {
            $misses++;
            next;
        }
        $hits++;
        my ($value) = $a =~ /^\{"v": "([^"]*)"\}$/;
        my $p = defined $value ? $put_of{$value} : undef;
        if (!$p || $p->{m} != $g->{m} || $p->{v} != $g->{v} || $p->{keys} != $ks[$i]
            || $p->{start} > $g->{end}) {
            push @wrong, "$g->{line} (input $ks[$i])";
            next;
        }
        for my $inv (@{ $invs_of{"$g->{m}.0"} // [] }, @{ $invs_of{"$g->{m}.$g->{v}"} // [] }) {
            if ($p->{end} < $inv->{start} && $inv->{end} < $g->{start}) {
                push @stale, "$g->{line} (input $ks[$i]): answers $p->{line} invalidated by $inv->{line}";
                last;
            }
        }
        next if $g->{w} == $l1_off;
        my $key_puts = $puts_of{"$g->{m}.$g->{v}.$ks[$i]"} // [];
        for my $q (@$key_puts) {
            next unless $p->{end} < $q->{start} && $q->{end} < $g->{start};
            # Excused: since the newer put, a put with L1 off, or one that failed or was cut off,
            # removed L1's value; or since the older one the server restarted: it empties L1, and
            # a put made after it while Redis did not answer is in L1 alone, under a generation
            # not learned yet, which the reads after Redis answers no longer use.
            next if grep { $_->{end} > $q->{start} && $_->{start} < $g->{end} }
              @{ $forgetting_puts_of{"$g->{m}.$g->{v}.$ks[$i]"} // [] };
            next if grep { $_->[1] > $p->{start} && $_->[0] < $g->{end} } @pg_windows;
            push @replaced, "$g->{line} (input $ks[$i]): answers $p->{line} replaced by $q->{line}";
            last;
        }
    }
}
note sprintf('%d operations (%s), %d hits, %d misses', scalar(@ops),
    join(', ', map { "$_ $count{$_}" } sort keys %count), $hits, $misses);
ok($hits > 0 && $misses > 0, 'reads both hit and missed');
is(scalar(@wrong), 0, 'every value read was put under its own key, before the read ended')
  or diag join("\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);
is(scalar(@stale), 0, 'no read after an invalidation answered a value put before it')
  or diag join("\n", @stale[0 .. ($#stale < 9 ? $#stale : 9)]);
is(scalar(@replaced), 0, 'no read after a put answered a value that put replaced')
  or diag join("\n", @replaced[0 .. ($#replaced < 9 ? $#replaced : 9)]);

# The server is still whole and Redis usable after it all.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('after', 1, '{"k": 1}', '{"v": 1}')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('after', 1, '{"k": 1}')}), '{"v": 1}',
    'the cache works afterwards');
redis_stop('chaos_replica');
redis_stop('chaos');
done_testing();
