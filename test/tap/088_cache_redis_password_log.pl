# The Redis password is never written to the server log. Postgres logs every setting a reload
# changes with its new value ("parameter ... changed to ..."), and so wrote the password each
# time it was set or changed in postgresql.conf; the setting now holds a mask that never
# changes, and the password works as before.
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

$node->stop;
redis_stop('password');
done_testing();
