# The server log says when a Redis endpoint's circuit breaker opens and when it closes again,
# once each per outage, however many calls and failed probes the outage sees. Before, an outage
# left nothing in the log: an operator learned of it only from ai_scale.stats or redis_status().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Nothing listens on the port yet; probes every 50 ms, so that the outage sees failed ones.
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = cache_node('breaker_logged', redis_primary => "127.0.0.1:$port",
    breaker_failures => 3, breaker_reset_ms => 50);
my $endpoint = qr/Redis endpoint 127\.0\.0\.1:$port/;

sub count_in_log
{
    my ($pattern) = @_;
    my @hits = slurp_file($node->logfile) =~ /$pattern/g;
    return scalar @hits;
}

sub trips
{
    return $node->safe_psql('postgres',
        "SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'breaker_trips'");
}

# Calls until the breaker has opened again after a failed probe (a second trip), in separate
# sessions, as an application's would be.
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (trips() < 2 && time < $deadline) {
    $node->safe_psql('postgres', q{SELECT ai_scale.cache_get('bl', 1, '{"a": 1}')}) for 1 .. 5;
    usleep(20_000);
}
cmp_ok(trips(), '>=', 2, 'the breaker opened, and opened again after a failed probe');
is(count_in_log(qr/$endpoint skipped: its circuit breaker opened after 3 failures in a row/),
    1, 'the log says once that it opened');
like(slurp_file($node->logfile), qr/DETAIL:  Last error: .*\n.*HINT:  It is probed again every/,
    'with the last error and when it is probed');

redis_start('back', $port);
sub closed_after_a_call
{
    $node->safe_psql('postgres', q{SELECT ai_scale.cache_get('bl', 1, '{"a": 1}')});
    return $node->safe_psql('postgres',
        q{SELECT breaker FROM ai_scale.redis_status() WHERE configured_as = 'primary'}) eq 'closed';
}
$deadline = time + $PostgreSQL::Test::Utils::timeout_default;
usleep(20_000) while !closed_after_a_call() && time < $deadline;
ok(closed_after_a_call(), 'once Redis answers, the breaker closes');
is(count_in_log(qr/$endpoint answers again: its circuit breaker closed/), 1,
    'the log says once that it closed');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_get('bl', 1, '{"a": 1}')}) for 1 .. 5;
is(count_in_log(qr/$endpoint answers again/), 1, 'and nothing more while it answers');

# With ai_scale.breaker_failures = 1 the first failure opens the breaker, and the log words it
# in the singular.
my $port1 = PostgreSQL::Test::Cluster::get_free_port();
$node->safe_psql('postgres', qq{SET ai_scale.redis_primary = '127.0.0.1:$port1';
SET ai_scale.breaker_failures = 1;
SELECT ai_scale.cache_get('bl', 1, '{"a": 1}')});
is(count_in_log(qr/Redis endpoint 127\.0\.0\.1:$port1 skipped: its circuit breaker opened after 1 failure$/m),
    1, 'one failure is one failure in the log');

redis_stop('back');
$node->stop;
done_testing();
