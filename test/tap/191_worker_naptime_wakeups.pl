# The maintenance worker runs at start, then once per ai_scale.maintenance_naptime, and at once
# on a reload; any other wake-up between runs (here a request to log its memory contexts, a
# signal it serves while it waits, as it serves those Postgres sends every backend) starts no
# run. Before, every wake-up started one: a freshly started worker ran two to five times within
# half a second of its start.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# The worker starts once the extension is there, so that its first run is a run of the table.
my $node = worker_node('worker_naptime_wakeups',
    maintenance_naptime => '10min', maintenance_databases => '');
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'; SELECT pg_reload_conf();");

sub poll_until
{
    my ($done) = @_;
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    usleep(50_000) while !$done->() && time < $deadline;
    return $done->();
}

ok(poll_until(sub { maintenance_runs($node) >= 1 }), 'the worker ran at start');
my $pid = $node->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'ai_scale maintenance'");
like($pid, qr/^\d+$/, 'the worker is in pg_stat_activity');

sub logged_contexts
{
    my @hits = slurp_file($node->logfile) =~ /logging memory contexts of PID $pid\b/g;
    return scalar @hits;
}

# Wake-ups the worker is seen to serve: had one started a run, it would have ended before the
# worker waited again and served the next.
sub wake_and_serve
{
    my ($n) = @_;
    $node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
    ok(poll_until(sub { logged_contexts() >= $n }), "wake-up $n served");
}
wake_and_serve($_) for 1, 2;
is(maintenance_runs($node), 1, 'no run but the first within the naptime');

$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok(poll_until(sub { maintenance_runs($node) >= 2 }), 'a reload starts a run');
wake_and_serve($_) for 3, 4;
is(maintenance_runs($node), 2, 'and the wake-ups after it none');

# The naptime is waited in full: at 5 s, no run within 2 s of the reload's own run, and one
# after. A loaded machine makes runs later, never sooner, but it makes the test's own looks late
# too: a look at the count taken more than 5 s after that run (three psql round trips after the
# poll that saw it, on two busy cores) saw the next run, due then. So the reload, the wait for
# its run and both looks go in one psql script, timed there: the run ended after the later of
# the reload and the last look that did not see it (bound), and the next one starts at least
# 5 s after it ended. A try whose last look came 5 s or more after that bound (the backend
# itself stalled) proves nothing and is made again, five at most. The bound starts at a time
# taken before the reload, not at the DO block's start: the run may end before the block begins,
# and a backend stalled there for 3.5 s looked at the next run, due then, and took the try for
# conclusive. A try made again first lets the naptime's own run pass (due every 5 s now), so that
# the next one does not come between the count read here and the reload.
my ($conclusive, $ran_within, $tries) = (0, '', 0);
while (!$conclusive && $tries < 5) {
    $tries++;
    if ($tries > 1) {
        my $runs_now = maintenance_runs($node);
        poll_until(sub { maintenance_runs($node) > $runs_now });
    }
    my $before = maintenance_runs($node);
    my $out = $node->safe_psql('postgres', qq{
ALTER SYSTEM SET ai_scale.maintenance_naptime = '5s';
CREATE TEMP TABLE look (bound timestamptz, seen bigint, last_look timestamptz, last bigint);
SELECT set_config('test.before_reload', clock_timestamp()::text, false) IS NOT NULL;
SELECT pg_reload_conf();
DO \$\$
DECLARE
    bound timestamptz := current_setting('test.before_reload')::timestamptz;
    look_start timestamptz;
    n bigint;
BEGIN
    LOOP
        look_start := clock_timestamp();
        n := $maintenance_runs_sql;
        EXIT WHEN n > $before;
        bound := look_start;
        PERFORM pg_sleep(0.01);
    END LOOP;
    INSERT INTO look (bound, seen) VALUES (bound, n);
    PERFORM pg_sleep(2);
    n := $maintenance_runs_sql;
    UPDATE look SET last = n, last_look = clock_timestamp();
END \$\$;
SELECT last_look < bound + interval '5 s', last - seen FROM look;});
    ($conclusive, $ran_within) = $out =~ /^(t|f)\|(\d+)$/m or die "unexpected output: $out";
    $conclusive = $conclusive eq 't';
    note("try $tries: within 5 s of the run: " . ($conclusive ? 'yes' : 'no') . ", runs since: $ran_within");
}
ok($conclusive, "the looks came within the naptime (tries: $tries)");
is($ran_within, '0', 'no run within 2 s of the reload\'s run');
my $after_reload = maintenance_runs($node);
ok(poll_until(sub { maintenance_runs($node) > $after_reload }),
    'the next run comes once the naptime has passed');

$node->stop;
done_testing();
