# AiScaleTest's redis_start fails when the port is held by another server (taken after
# get_free_port chose it): the server it started exits ("Failed listening on port"), and it
# took the answer of the one holding the port for its own. Now the pid file of the one it
# started must name a live process (Redis 7.0 writes it only once it listens) before a PONG
# counts. (test/run.sh's redis_start: test/harness/check.sh.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('holder', $port);
ok(!eval { redis_start('second', $port); 1 }, 'a second redis_start on the port fails');
like($@, qr/redis on port $port/, 'saying which port');
is(`redis-cli -p $port ping`, "PONG\n", 'the first server still answers');
redis_stop('holder');
done_testing();
