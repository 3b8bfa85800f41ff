# The Redis password is never written to the server log. Postgres logs every setting a reload
# changes with its new value ("parameter ... changed to ..."), and so wrote the password each
# time it was set or changed in postgresql.conf; the setting now holds a mask that never
# changes, and the password works as before. Nor does a LOG line of ai_scale's that a client's
# call causes (its circuit breaker opening) bring the client's statement with it: Postgres wrote
# the whole query string under it (log_min_error_statement counts LOG above ERROR), a password
# SET in the same string and the call's inputs included.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('password', $port, '--requirepass', 'second-pw-9f3');
my $node = cache_node('password_log', redis_primary => "127.0.0.1:$port", breaker_failures => 1000);

# A reload that sets a password, then one that changes it, each with a setting whose change is
# logged, to know when the postmaster has taken the new file.
my $ttl = 100;
for my $password ('first-pw-5c1', 'second-pw-9f3') {
    $ttl++;
    $node->append_conf('postgresql.conf',
        "ai_scale.redis_password = '$password'\nai_scale.cache_ttl = '${ttl}s'\n");
    $node->reload;
    $node->poll_query_until('postgres', "SELECT current_setting('ai_scale.cache_ttl') = '${ttl}s'")
      or die "reload not taken";
}
my $log = slurp_file($node->logfile);
like($log, qr/parameter "ai_scale.cache_ttl" changed to "${ttl}s"/,
    'the log has the reloads\' changed settings');
unlike($log, qr/first-pw-5c1|second-pw-9f3/, '... never the password');

# The password in use is the one set last: AUTH succeeds, and a value goes round trip.
is( $node->safe_psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('pw', 1, '{"a": 1}', '{"p": 1}');
SELECT ai_scale.cache_get('pw', 1, '{"a": 1}');}),
    "\n" . '{"p": 1}', 'the password set last is sent with AUTH');
# SHOW (superusers only) says that one is set, not what it is.
is($node->safe_psql('postgres', 'SHOW ai_scale.redis_password'), '********',
    'SHOW masks the password');

# One query string (psql -c) that sets a password and calls cache_get on an endpoint that
# refuses connections: the breaker opens at the first failure, and its LOG line comes alone.
# (log_statement = none, the default, for this session: the test cluster logs every statement.)
my $closed = PostgreSQL::Test::Cluster::get_free_port();
my $offset = -s $node->logfile;
{
    local $ENV{PGOPTIONS} = '-c log_statement=none';
    PostgreSQL::Test::Utils::run_command([
        'psql', '-X', '-d', $node->connstr('postgres'), '-c',
        "SET ai_scale.redis_password = 'third-pw-2d7'; SET ai_scale.breaker_failures = 1; "
          . "SET ai_scale.redis_primary = '127.0.0.1:$closed'; "
          . q{SELECT ai_scale.cache_get('pw', 1, '{"ssn": "078-05-1120"}')}
    ]);
}
$log = slurp_file($node->logfile, $offset);
like($log, qr/ai_scale: Redis endpoint 127\.0\.0\.1:$closed skipped: its circuit breaker opened/,
    'the breaker\'s opening is logged');
unlike($log, qr/third-pw-2d7|078-05-1120|STATEMENT:/,
    '... without the statement that caused it: no password, no input');

$node->stop;
redis_stop('password');
done_testing();
