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

sub runs
{
    return $node->safe_psql('postgres',
        "SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'runs'");
}

sub poll_until
{
    my ($done) = @_;
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    usleep(50_000) while !$done->() && time < $deadline;
    return $done->();
}

ok(poll_until(sub { runs() >= 1 }), 'the worker ran at start');
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
is(runs(), 1, 'no run but the first within the naptime');

$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok(poll_until(sub { runs() >= 2 }), 'a reload starts a run');
wake_and_serve($_) for 3, 4;
is(runs(), 2, 'and the wake-ups after it none');

# The naptime is waited in full: at 5 s (the reload's own run first), no run in the next 2 s, and
# one after. (A loaded machine only makes runs later, never sooner: this cannot fail for want of
# time.)
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_naptime = '5s'; SELECT pg_reload_conf();");
ok(poll_until(sub { runs() >= 3 }), 'the reload to a naptime of 5 s starts a run');
my $after_reload = runs();
sleep 2;
is(runs(), $after_reload, 'no run within 2 s of it');
ok(poll_until(sub { runs() > $after_reload }), 'the next run comes once the naptime has passed');

$node->stop;
done_testing();
