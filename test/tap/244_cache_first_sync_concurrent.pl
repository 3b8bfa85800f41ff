# A server learns each generation slot from Redis at its first use (docs/cache.md, Invalidation);
# until then the slot is 0. A backend that used the slot while another backend's first read of it
# was still waiting for Redis made its key with generation 0: its cache_put was lost as soon as the
# slot took Redis's generation (the next cache_get missed), and it wrote Redis under generation
# 0, which every start of the server uses again. Seen through a connection pooler: after a
# start, many server connections use a model at once (test/tap/243_pooler_transaction_mode.pl
# lost the first values put). Now such a backend waits for that read.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('first_sync', $port);
# L1 off: the value is read back from Redis.
my $node = cache_node('first_sync', redis_primary => "127.0.0.1:$port", redis_timeout_ms => 60000);

# Session a's cache_get is the first use of a model: it claims the read of the model's slots,
# which waits while Redis is stopped. Session b puts a value for the model meanwhile.
#
# b waits for a's read only while a's claim is less than a second old; past it, b reads the
# slots itself, both reads start the counters, and the value put is lost at the next sync. So
# a's call, b's put and Redis's restart must fall within a second, which psql round trips
# between them (three, with polls of pg_stat_activity) did not on a loaded machine. Now b's put
# is made in the statement that sees a wait, Redis runs again 0.3 s after a's call was sent,
# and b notes when a's call and its put began; a try that did not fit in 0.9 s (a stalled
# backend) proves nothing and is made again with another model, five at most. The value is read
# back at once and after the next sync.
my $redis = redis_pid('first_sync');
my ($in_time, $tries) = (0, 0);
while (!$in_time && $tries < 5) {
    $tries++;
    my $model = "z$tries";
    my $a = $node->background_psql('postgres');
    my $b = $node->background_psql('postgres');
    $a->query_safe(q{SET application_name = 'a'});
    $b->query_safe(q{SET application_name = 'b'});
    kill 'STOP', $redis;
    $b->query_until(qr/sent/, qq{\\echo sent
DO \$\$
DECLARE
    a_start timestamptz;
BEGIN
    LOOP
        SELECT query_start INTO a_start FROM pg_stat_activity
         WHERE application_name = 'a' AND wait_event_type = 'Extension';
        EXIT WHEN a_start IS NOT NULL;
        PERFORM pg_sleep(0.01);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
    PERFORM set_config('test.a_start', extract(epoch FROM a_start)::text, false);
    PERFORM set_config('test.put_start', extract(epoch FROM clock_timestamp())::text, false);
    PERFORM ai_scale.cache_put('$model', 1, '{"k": 1}', '{"v": 1}');
END \$\$;
});
    # (a_end: when a's call ended, read in the same statement, after it.)
    $a->query_until(qr/sent/, qq{\\echo sent\nSELECT ai_scale.cache_get('$model', 1, '{"k": 0}') AS got,
    'a_end: ' || extract(epoch FROM clock_timestamp()) AS a_end;\n});
    usleep(300_000);
    kill 'CONT', $redis;
    my $cont_at = Time::HiRes::time();
    my $a_out = $a->query_safe(q{SELECT 'a done'});
    like($a_out, qr/a done/, "try $tries: the first call ends once Redis answers");
    my ($a_end) = $a_out =~ /a_end: ([\d.]+)/;
    my $b_out = $b->query_safe(
        q{SELECT 'times: ' || current_setting('test.a_start') || ' ' || current_setting('test.put_start')});
    my ($a_start, $put_start) = $b_out =~ /times: ([\d.]+) ([\d.]+)/;
    ok(defined $put_start, "try $tries: and so does the put") or diag($b_out);
    $a->quit;
    $b->quit;
    # The first call's read must also have ended within its second, a's claim still held: a
    # backend a descheduled for 1.2 s as Redis ran again (a SIGSTOP put in to confirm) let b read
    # the slots itself, and the value put was lost, in a try the checks on b and Redis passed.
    $in_time = defined $put_start && defined $a_end && $put_start < $cont_at
      && $cont_at - $a_start < 0.9 && $a_end - $a_start < 0.9;
    note(sprintf('try %d: the put %.3f s, Redis\'s restart %.3f s and the first call\'s end %.3f s after its start',
        $tries, ($put_start // 0) - ($a_start // 0), $cont_at - ($a_start // 0), ($a_end // 0) - ($a_start // 0)));
    next unless $in_time;
    is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('$model', 1, '{"k": 1}');
SELECT pg_sleep(1.1);
SELECT ai_scale.cache_get('$model', 1, '{"k": 1}');}),
        qq({"v": 1}\n\n{"v": 1}), 'the value put is read back, also after the next sync');
}
ok($in_time, "a put waited for the first read within its second (tries: $tries)");

redis_stop('first_sync');
$node->stop;
done_testing();
