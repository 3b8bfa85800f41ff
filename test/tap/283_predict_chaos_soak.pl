# A randomized soak of predict() and predict_batch() (docs/predict.md) on one server with L1
# on, a Redis primary and a replica (reads go to the replica) and a store in minute
# partitions that the maintenance worker keeps, while a chaos loop registers new versions,
# registers one, predicts with it and rolls it back (its number then given again to other
# weights), sets an older version active, invalidates, hangs, restarts and flushes Redis,
# hangs the replica, terminates the store worker, drops the next minute's partition (rows
# then routed to the default, and rescued), kills a session's backend (the server
# reinitialises) and restarts the server (fast), and restarts its hot standby, which shares
# its Redis servers. Five sessions predict meanwhile over two linear models and eight inputs,
# and one input of their own per call (never asked before), a call or two per transaction, some
# rolled back, with the active version, the first or the newest: on the primary, one stores
# synchronously, one asynchronously, one not at all (store_mode off), one in a mode chosen per
# transaction and with a cache_ttl of 2 s; the fifth predicts on the standby, in a mode chosen
# per transaction. Then, with the store worker drained, what docs/predict.md promises:
#   1. every call succeeds, or its session ended under it (a restart), or it stored
#      synchronously and Postgres refused its row with 23514 (a partition being made from the
#      default's range: docs/predict.md, Errors);
#   2. every answer's score is the model's for the version the answer names (as score() computes
#      it from the catalog at the end), that version was committed, and a call that asked for
#      a version got it: never the score of weights a rolled-back registration gave the same
#      number, nor another version's; on the standby as on the primary;
#   3. every row of the store holds its version's score for its input;
#   4. an input never asked before is answered by scoring it ("cpu"), and stored exactly once
#      when its transaction committed storing it (sync, or async, whose worker writes the queue
#      out at a fast shutdown too; an async one may be lost in a crash, and is excused when the
#      call ended in the 5 s before one), and not at all when it stored synchronously and
#      rolled back, or did not store (off), or was asked on the standby (which never stores);
#      such a rolled-back input is not cached either: asked again at the end it is scored again;
#   5. no process crashed but those killed, nor hit an assertion.
# AI_SCALE_PREDICT_SOAK_SEED replays a seed's choices (the interleaving is the machine's);
# AI_SCALE_PREDICT_SOAK_OPS sets the calls per session, AI_SCALE_PREDICT_SOAK_ROUNDS the rounds
# of faults (each makes every kind once, in a random order).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use List::Util qw(shuffle);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $seed = $ENV{AI_SCALE_PREDICT_SOAK_SEED} // 283;
note "seed $seed (AI_SCALE_PREDICT_SOAK_SEED replays it)";
diag("predict soak seed $seed");
my $clients = 5;
my @modes = ('sync', 'async', 'off', 'any', 'any'); # by client
my $standby_client = 4; # the client on the standby
my $ops_per_client = $ENV{AI_SCALE_PREDICT_SOAK_OPS} // 1000;
my $fault_rounds = $ENV{AI_SCALE_PREDICT_SOAK_ROUNDS} // 3;
my @models = ('m0', 'm1');
my @inputs = map { sprintf('{"a": %d, "b": %d}', $_, 7 - $_) } 0 .. 7;

# The input of an input id: the pool's index, or u<client>.<seq>, a client's own input.
sub input_of {
    my ($id) = @_;
    return $inputs[$id] if $id =~ /^\d+$/;
    my ($w, $seq) = $id =~ /^u(\d+)\.(\d+)$/ or die "bad input id $id";
    return sprintf('{"a": %d, "b": %d}', 100 + $w, $seq);
}

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $replica_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('predict_soak', $port);
redis_start('predict_soak_replica', $replica_port, '--replicaof', '127.0.0.1', $port);
ok(redis_replica_caught_up("127.0.0.1:$port", "127.0.0.1:$replica_port"), 'the replica follows');
my $node = AiScaleTest::worker_node_with('predict_soak',
    [ "timezone = 'UTC'", "log_line_prefix = '%m [%p] %a: '",
      'restart_after_crash = on', # a backend killed makes it reinitialise, not stop
      'wal_level = replica', 'max_wal_senders = 4' ], # for the standby
    redis_primary => "127.0.0.1:$port", redis_replicas => "127.0.0.1:$replica_port",
    cache_use_l1 => 'on', redis_timeout_ms => 100, breaker_failures => 3,
    breaker_reset_ms => 100, partition_time_zone => 'UTC');
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store('public.model_predictions', '1 minute', 2);
SELECT ai_scale.register_model('m0', 'linear', ARRAY['a', 'b'], '{"weights": [2, 3]}');
SELECT ai_scale.register_model('m1', 'linear', ARRAY['a', 'b'], '{"weights": [5, -1]}');
});
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('predict_soak_standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT ai_scale.node_role()'), 'standby', 'the standby is one');
my $log_offset = -s $node->logfile;
my $dir = PostgreSQL::Test::Utils::tempdir();

# One client: its own psql session and ops_per_client transactions, each of one or two calls,
# logged a line per answer: "op seq mode txn model asked input_id status version score source"
# (input_id as input_of takes it).
sub client {
    my ($w) = @_;
    srand($seed * 100 + $w);
    my $session = AiScaleTest::SoakSession->new($w == $standby_client ? $standby : $node);
    # Sends $sql, returns (status, output lines): status 'lost' when the session ended under it
    # (the server restarted), 'error SQLSTATE' for the first error, else 'ok'.
    my $send = sub {
        my ($sql) = @_;
        my ($answer, $err) = $session->run($sql);
        return ('lost') unless defined $answer;
        return ('error ' . ($err =~ /^ERROR:  ([0-9A-Z]{5}):/m ? $1 : 'unknown') . " $err")
          if $err =~ /^(ERROR|PANIC)/m;
        return ('ok', split /\n/, $answer);
    };
    # The fourth session's values expire in Redis and L1 after 2 s, and it reads the store back
    # that far.
    my $setup = "\\set VERBOSITY verbose\n" . ($w == 3 ? "SET ai_scale.cache_ttl = '2s';" : '');
    my $connect = sub { $session->reopen($setup) };
    $connect->();
    open(my $log, '>', "$dir/client$w.log") or die;
    $log->autoflush(1);
    my $seq = 0;
    for (my $n = 0; $n < $ops_per_client; $n++) {
        my $mode = $modes[$w] eq 'any' ? $modes[ int(rand(3)) ] : $modes[$w];
        my $r = rand();
        my $txn = $r < 0.25 ? 'rollback' : $r < 0.45 ? 'commit' : 'auto';
        my @calls; # [op, model, asked version or '', input ids]
        for (1 .. ($txn eq 'auto' ? 1 : 1 + int(rand(2)))) {
            my $m = $models[ int(rand(@models)) ];
            # A version asked for: the first (never dropped), or the newest committed.
            my $v = rand();
            my $asked = $v < 0.15 ? 1 : $v < 0.25 ? 'newest' : '';
            $seq++;
            my @ids = rand() < 0.5
              ? (int(rand(@inputs)))
              : ((map { int(rand(@inputs)) } 1 .. 2 + int(rand(3))), "u$w.$seq");
            @ids = ("u$w.$seq") if @ids == 1 && rand() < 0.3;
            push @calls, [ @ids > 1 ? 'batch' : 'one', $m, $asked, $seq, @ids ];
        }
        my $sql = "SET ai_scale.store_mode = $mode;\n";
        $sql .= "BEGIN;\n" if $txn ne 'auto';
        for my $c (@calls) {
            my ($op, $m, $asked, $cseq, @ids) = @$c;
            my $version =
                $asked eq 'newest'
              ? ", (SELECT max(model_version) FROM ai_scale.models WHERE model_name = '$m')"
              : $asked eq '' ? ''
              : ", $asked";
            if ($op eq 'one') {
                $sql .= "SELECT concat_ws(' ', p->>'version', p->>'score', p->>'source') FROM "
                  . "ai_scale.predict('$m', '" . input_of($ids[0]) . "'$version) p;\n";
            } else {
                my $arr = join(', ', map { "'" . input_of($_) . "'" } @ids);
                $sql .= "SELECT concat_ws(' ', p->>'version', p->>'score', p->>'source') FROM "
                  . "unnest(ai_scale.predict_batch('$m', ARRAY[$arr]::jsonb[]$version)) "
                  . "WITH ORDINALITY t(p, o) ORDER BY o;\n";
            }
        }
        $sql .= ($txn eq 'rollback' ? 'ROLLBACK' : 'COMMIT') . ";\n" if $txn ne 'auto';
        my ($status, @lines) = $send->($sql);
        my $done = time;
        my $asked_for = 0;
        $asked_for += @$_ - 4 for @calls;
        $status = "error garbled: " . scalar(@lines) . " answers to $asked_for inputs"
          if $status eq 'ok' && @lines != $asked_for;
        if ($status =~ /^error/) {
            # The transaction is over either way: an aborted one ends at its COMMIT or ROLLBACK.
            $send->('ROLLBACK;') if $txn ne 'auto';
        }
        $connect->() if $status eq 'lost';
        (my $short = $status) =~ s/\n.*//s;
        $short =~ s/\s+/_/g;
        my $i = 0;
        for my $c (@calls) {
            my ($op, $m, $asked, $cseq, @ids) = @$c;
            for my $id (@ids) {
                my $answer = $status eq 'ok' ? $lines[ $i++ ] : '- - -';
                printf $log "%.3f %s %d %s %s %s %s %s %s %s\n", $done, $op, $cseq, $mode, $txn, $m,
                  $asked eq '1' ? 1 : '-', $id, $short, $answer;
            }
        }
        (my $flat = $status) =~ s/\n/ | /g;
        print $log "#error $mode $flat\n" if $status =~ /^error/;
    }
    close $log;
    $session->close;
}

my @pids = fork_clients($clients, \&client);

# The chaos loop, with a DBA session made again after each restart.
srand($seed);
my $cli = "redis-cli -p $port";
my $dba;
# (Tried again for a while: once, in a seed's run, the psql started just after a restart with
# nothing else amiss ended before it answered, and the server logged no failed connection.)
my $dba_up = sub {
    for my $try (1 .. 100) {
        last if eval {
            $dba = $node->background_psql('postgres', on_error_stop => 0);
            $dba->query_safe("SET application_name = 'chaos'; SET client_min_messages = error;");
            1;
        };
        die "no DBA session: $@" if $try == 100;
        note "DBA session not made: $@";
        usleep(100_000);
    }
};
$dba_up->();
my $weights = sub { return sprintf('{"weights": [%d, %d]}', 1 + int(rand(40)), -20 + int(rand(41))); };
my $register = sub {
    my ($m) = @_;
    return qq{SELECT ai_scale.register_model('$m', 'linear', ARRAY['a', 'b'], '} . $weights->() . q{')};
};
my @crashes; # [start, end] of each reinitialisation, on the wall clock (time)
my %faults = (
    register => sub { $dba->query_safe($register->($models[ int(rand(@models)) ])); },
    # A version registered, predicted with (cached at once with store_mode off; stored and
    # cached at commit with sync; with async, inserted synchronously, as a version of its own
    # transaction), and rolled back; mostly its number is then given again at once to other
    # weights, else at the next registration of the model.
    register_rolled_back => sub {
        my $m = $models[ int(rand(@models)) ];
        my $mode = (qw(sync async off))[ int(rand(3)) ];
        my $arr = join(', ', map { "'$_'" } @inputs);
        # (A synchronous store may be refused with 23514, as the clients' may.)
        my (undef, $failed) = $dba->query("SET ai_scale.store_mode = $mode; BEGIN; "
              . $register->($m) . ';'
              . qq{SELECT ai_scale.predict('$m', '$inputs[int(rand(@inputs))]');}
              . qq{SELECT ai_scale.predict_batch('$m', ARRAY[$arr]::jsonb[]); ROLLBACK;});
        if ($failed) {
            die $dba->{stderr} if $dba->{stderr} !~ /violates partition constraint/;
            $dba->query_safe('ROLLBACK');
        }
        $dba->query_safe('RESET ai_scale.store_mode');
        $dba->query_safe($register->($m)) if rand() < 0.75;
    },
    activate_older => sub {
        my $m = $models[ int(rand(@models)) ];
        $dba->query_safe(qq{SELECT ai_scale.set_active_version('$m', v) FROM
(SELECT model_version v FROM ai_scale.models WHERE model_name = '$m' ORDER BY random() LIMIT 1) s});
    },
    invalidate => sub {
        my $m = $models[ int(rand(@models)) ];
        $dba->query_safe(rand() < 0.5
            ? "SELECT ai_scale.cache_invalidate('$m')"
            : "SELECT ai_scale.cache_invalidate('$m', 1)");
    },
    redis_hung => sub { redis_paused('predict_soak') },
    redis_restart => sub {
        redis_stop('predict_soak');
        usleep(int(rand(200_000)));
        redis_start('predict_soak', $port);
    },
    flushall => sub { system("$cli flushall >/dev/null") == 0 or die 'flushall failed'; },
    replica_hung => sub { redis_paused('predict_soak_replica') },
    store_worker_terminated => sub {
        $dba->query_safe(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE application_name = 'ai_scale store'});
    },
    # The next minute's partition dropped while empty (locked first, so that no insert into it
    # is under way): rows of that minute go to the default until the worker makes it again,
    # moving them out.
    next_partition_dropped => sub {
        $dba->query_safe(q{SET lock_timeout = '200ms'; DO $$
DECLARE
    p regclass;
    empty boolean;
BEGIN
    SELECT partition INTO p FROM ai_scale.partitions('public.model_predictions')
     WHERE lower::timestamptz > now() ORDER BY lower LIMIT 1;
    IF p IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p);
    EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', p) INTO empty;
    IF empty THEN
        EXECUTE format('DROP TABLE %s', p);
    END IF;
EXCEPTION WHEN lock_not_available THEN NULL;
END $$; RESET lock_timeout;});
    },
    maintenance_by_hand => sub {
        $dba->query_safe(q{SELECT count(*) FROM ai_scale.run_maintenance('public.model_predictions')});
    },
    # A client's backend killed: the server reinitialises, losing L1 and what the store queue
    # held (docs/predict.md, What can be lost).
    backend_killed => sub {
        my $t = time;
        my $pids = $dba->query_safe(q{SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
WHERE backend_type = 'client backend' AND application_name <> 'chaos'});
        my @pids = split / /, $pids;
        kill_backend($pids[ int(rand(@pids)) ]) if @pids;
        eval { $dba->quit };
        for (my $i = 0; !eval { $node->safe_psql('postgres', 'SELECT 1'); 1 }; $i++) {
            die 'the server did not come back' if $i > 2400;
            usleep(25_000);
        }
        push @crashes, [ $t, time ];
        $dba_up->();
    },
    pg_restart => sub {
        $dba->quit;
        $node->restart;
        $dba_up->();
    },
    # The standby restarted, fast or after a crash (its L1 lost, its slots synced again).
    standby_restart => sub {
        $standby->stop(rand() < 0.5 ? 'fast' : 'immediate');
        $standby->start;
    },
);
my @order;
# A rolled-back registration three times a round: its number given again is what the cache
# must never answer the old weights for.
push @order, shuffle((sort keys %faults), ('register_rolled_back') x 2) for 1 .. $fault_rounds;
note 'faults: ' . join(' ', @order);
my %status; # of each client that exited, by pid
# About three answers a transaction: fault i is made once the clients have logged
# i / (faults + 1) of that many.
my @fault_errors;
for my $i (1 .. @order) {
    my $due = int($i * $clients * $ops_per_client * 3 / (@order + 1));
    usleep(5_000) while lines_logged($dir, $clients) < $due && !clients_exited(\@pids, \%status);
    my $f = $order[ $i - 1 ];
    next if eval { $faults{$f}->(); 1 };
    push @fault_errors, "$f: $@";
    eval { kill 'CONT', redis_pid($_) } for ('predict_soak', 'predict_soak_replica');
    eval { $dba->quit };
    $dba_up->();
}
for my $pid (@pids) {
    $status{$pid} = $? if !exists $status{$pid} && waitpid($pid, 0) == $pid;
    is($status{$pid}, 0, "client pid $pid ran to its end");
}
is(join('; ', @fault_errors), '', 'every fault was made');
$dba->quit;

# The history, into a table.
my (@errors, %count);
open(my $all, '>', "$dir/answers.tsv") or die;
for my $w (0 .. $clients - 1) {
    open(my $fh, '<', "$dir/client$w.log") or die;
    while (<$fh>) {
        chomp;
        if (/^#error (.*)/) {
            push @errors, "client$w: $1";
            next;
        }
        my ($done, $op, $cseq, $mode, $txn, $m, $asked, $id, $status, $version, $score, $source) =
          split / /;
        $count{$status =~ /^error/ ? 'error' : $status}++;
        print $all join("\t", $done, $w, $w == $standby_client ? 't' : 'f', $cseq, $mode, $txn,
            $m, $asked eq '-' ? '\N' : $asked, input_of($id), $id =~ /^u/ ? 't' : 'f', $status,
            map { $_ eq '-' ? '\N' : $_ } $version, $score, $source), "\n";
    }
}
close $all;
note join(', ', map { "$_ $count{$_}" } sort keys %count);
# Allowed: a store refused by the default partition's constraint (23514), in sync mode, or in
# async mode where the call inserted synchronously (its database's share of the queue full,
# no worker running). On the standby, a recovery conflict, as for any query there reading the
# store (docs/predict.md, Hot standbys): the chaos locks the next minute's partition before its
# DROP TABLE locks the store, the replay takes the two locks in that order, and a call that
# holds the store's lock and waits for the partition's is a deadlock's victim (40P01; seen
# once in 60 seeds); or it is cancelled (40001).
my @unexpected = grep {
    !/^client\d+: (sync|async) error 23514 / && !/^client$standby_client: \w+ error 40(P01|001) /
} @errors;
is(scalar(@unexpected), 0, 'no call failed but as documented') or diag join("\n", @unexpected[0 .. 4]);
ok($count{ok} > $clients * $ops_per_client / 2, 'most calls answered');

# The store worker drained: nothing queued waits (a worker runs while anything does).
ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'ai_scale store'}),
    'the store worker is done');
my $crash_rows = join(', ', '(0, 0)', map { "($_->[0], $_->[1])" } @crashes);
$node->safe_psql('postgres', qq{
CREATE TABLE answers (done float8, w int, on_standby boolean, seq int, mode text, txn text,
                      model text, asked int, input jsonb, fresh boolean, status text,
                      version int, score float8, source text);
COPY answers FROM '$dir/answers.tsv';
CREATE TABLE stored AS SELECT * FROM public.model_predictions;
CREATE INDEX ON stored (input_data);
CREATE TABLE crashes (lo float8, hi float8);
INSERT INTO crashes VALUES $crash_rows;
});
# Every level answered some calls, or the checks below would say little.
my %by_source = split /[|\n]/, $node->safe_psql('postgres',
    q{SELECT source, count(*) FROM answers WHERE status = 'ok' GROUP BY source ORDER BY source});
note join(', ', map { "$_ $by_source{$_}" } sort keys %by_source);
ok(!(grep { !$by_source{$_} } qw(cpu l1 l2 l3)), 'answers came from every level and from scoring');
my %standby_by_source = split /[|\n]/, $node->safe_psql('postgres', q{SELECT source, count(*)
  FROM answers WHERE status = 'ok' AND on_standby GROUP BY source ORDER BY source});
note 'on the standby: '
  . join(', ', map { "$_ $standby_by_source{$_}" } sort keys %standby_by_source);
ok(!(grep { !$standby_by_source{$_} } qw(cpu l1 l2 l3)),
    'the standby answered from every level and from scoring');
my $check = sub {
    my ($sql, $name) = @_;
    my $found = $node->safe_psql('postgres', $sql);
    is($found, '', $name);
};
$check->(q{SELECT format('%s', a) FROM answers a
 WHERE status = 'ok' AND NOT EXISTS (SELECT 1 FROM ai_scale.models m
                                      WHERE m.model_name = a.model AND m.model_version = a.version)
 LIMIT 5}, 'every answer names a committed version');
$check->(q{SELECT format('%s expected %s', a, ai_scale.score(a.model, a.input, a.version)) FROM answers a
 WHERE status = 'ok' AND EXISTS (SELECT 1 FROM ai_scale.models m
                                 WHERE m.model_name = a.model AND m.model_version = a.version)
   AND a.score IS DISTINCT FROM ai_scale.score(a.model, a.input, a.version)
 LIMIT 5}, "every answer holds its version's score");
$check->(q{SELECT format('%s', a) FROM answers a WHERE status = 'ok' AND asked <> version LIMIT 5},
    'a call that asked for a version got it');
$check->(q{SELECT format('%s %s %s %s', model_name, model_version, input_data, output_data)
  FROM public.model_predictions p
 WHERE (output_data->>'score')::float8
       IS DISTINCT FROM ai_scale.score(model_name, input_data, model_version)
 LIMIT 5}, "every stored row holds its version's score");
$check->(q{SELECT format('%s', a) FROM answers a WHERE status = 'ok' AND fresh AND source <> 'cpu'
 LIMIT 5}, 'an input never asked before is scored');
$check->(q{SELECT format('%s: %s rows', a, (SELECT count(*) FROM stored p
                                          WHERE p.input_data = a.input))
  FROM answers a
 WHERE status = 'ok' AND fresh AND txn <> 'rollback' AND mode IN ('sync', 'async')
   AND NOT on_standby
   AND (SELECT count(*) FROM stored p WHERE p.input_data = a.input) <> 1
   AND NOT (mode = 'async' AND NOT EXISTS (SELECT FROM stored p WHERE p.input_data = a.input)
            AND EXISTS (SELECT FROM crashes c WHERE a.done BETWEEN c.lo - 5 AND c.hi))
 LIMIT 5}, 'an input stored by a committed call is stored once (async: unless a crash came within 5 s)');
$check->(q{SELECT format('%s: %s rows', a, (SELECT count(*) FROM stored p
                                          WHERE p.input_data = a.input))
  FROM answers a
 WHERE status = 'ok' AND fresh
   AND (mode = 'off' OR mode = 'sync' AND txn = 'rollback' OR on_standby)
   AND EXISTS (SELECT 1 FROM stored p WHERE p.input_data = a.input)
 LIMIT 5}, 'an input of a call that rolled back, did not store or was on the standby is not stored');
my $rolled_back = $node->safe_psql('postgres', q{SELECT count(*) FROM answers
 WHERE status = 'ok' AND fresh AND mode = 'sync' AND txn = 'rollback' AND NOT on_standby});
ok($rolled_back > 0, "some fresh inputs were stored and rolled back ($rolled_back)");
$check->(q{SET ai_scale.store_mode = off;
SELECT format('%s: now %s', a, p) FROM answers a,
       LATERAL ai_scale.predict(a.model, a.input, a.version) p
 WHERE status = 'ok' AND fresh AND mode = 'sync' AND txn = 'rollback' AND NOT on_standby
   AND p->>'source' <> 'cpu'
 LIMIT 5}, 'an input stored and rolled back is not cached');
my $log = slurp_file($node->logfile, $log_offset) . slurp_file($standby->logfile);
# (The backends killed on purpose end by SIGKILL.)
my @crashed = grep { /terminated by signal (?!9:)|TRAP:|PANIC/ } split /\n/, $log;
is(scalar(@crashed), 0, 'no process crashed') or diag join("\n", @crashed[0 .. 4]);

redis_stop('predict_soak_replica');
redis_stop('predict_soak');
done_testing();
