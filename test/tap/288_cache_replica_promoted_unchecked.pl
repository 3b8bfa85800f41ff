# A replica that stops following the primary (REPLICAOF NO ONE, or promoted by a failover the
# configuration did not follow) reports role:master and no master_link_status. The sync check
# compares its replication ID with the primary's; without the primary's INFO (refused to the
# ACL user here, or not asked with redis_replica_max_lag = -1) it judged such a server in sync,
# and reads went on to a Redis that no longer took the primary's writes: a value put after the
# detach read back as the one before it. Now a server listed as a replica that says it is a
# primary is read only when it is the primary itself.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $pport = PostgreSQL::Test::Cluster::get_free_port();
my $rport = PostgreSQL::Test::Cluster::get_free_port();
redis_start('detach_primary', $pport);
redis_start('detach_replica', $rport, '--replicaof', '127.0.0.1', $pport);
# The extension's user may not ask the primary for INFO; it may ask the replica. (ACL users
# are each server's own; redis-cli's default user may do anything on both.)
like(`redis-cli -p $pport ACL SETUSER cacheuser on '>cachepw' '~ai_scale:*' +\@all -info`,
    qr/OK/, 'a user the primary refuses INFO');
like(`redis-cli -p $rport ACL SETUSER cacheuser on '>cachepw' '~ai_scale:*' +\@all`,
    qr/OK/, '... and the replica does not');
ok(redis_replica_caught_up("127.0.0.1:$pport", "127.0.0.1:$rport"), 'the replica is linked');

my $node = cache_node('cache_detached', redis_primary => "127.0.0.1:$pport",
    redis_replicas => "127.0.0.1:$rport", redis_user => 'cacheuser',
    redis_password => 'cachepw');

# L1 is off (cache_node): every read below goes to Redis.
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('dp', 1, '{"a": 1}', '{"v": "before"}');});
is($ret, 0, 'a put before the detach') or diag($err);
ok(redis_replica_caught_up("127.0.0.1:$pport", "127.0.0.1:$rport"),
    'the replica has it');
# While it follows the primary, the replica serves the read.
like(`redis-cli -p $rport CONFIG RESETSTAT`, qr/OK/, 'the replica\'s command counts reset');
($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'read', ai_scale.cache_get('dp', 1, '{"a": 1}');});
like($out, qr/^read\|\{"v": "before"\}$/m, 'read while linked') or diag($err);
like(`redis-cli -p $rport INFO commandstats`, qr/^cmdstat_get:calls=1,/m,
    '... from the replica');

like(`redis-cli -p $rport REPLICAOF NO ONE`, qr/OK/, 'the replica is detached');
($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('dp', 1, '{"a": 1}', '{"v": "after"}');});
is($ret, 0, 'a put after the detach, to the primary alone') or diag($err);
like(`redis-cli -p $rport CONFIG RESETSTAT`, qr/OK/, 'the replica\'s command counts reset');
($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'read', ai_scale.cache_get('dp', 1, '{"a": 1}');
SELECT 'many', ai_scale.cache_get_many('dp', 1, ARRAY['{"a": 1}']::jsonb[]);
SELECT 'status', configured_as, reported_role FROM ai_scale.redis_status()
 WHERE configured_as = 'replica';});
is($ret, 0, 'reads after the detach') or diag($err);
like($out, qr/^read\|\{"v": "after"\}$/m, 'the read has the value put after the detach');
like($out, qr/^many\|\{"\{\\"v\\": \\"after\\"\}"\}$/m, '... and so has the batch read');
unlike(`redis-cli -p $rport INFO commandstats`, qr/^cmdstat_(get|mget):/m,
    'the detached replica was not read');
like($out, qr/^status\|replica\|primary \(not a replica\)$/m,
    'redis_status says the replica is one no longer');

# Without the lag checks (redis_replica_max_lag = -1) the primary's INFO is not asked for at
# all: the same.
$node->append_conf('postgresql.conf', "ai_scale.redis_replica_max_lag = -1\n");
$node->reload;
($ret, $out, $err) = $node->psql('postgres', q{
SELECT 'read', ai_scale.cache_get('dp', 1, '{"a": 1}');});
like($out, qr/^read\|\{"v": "after"\}$/m, 'with max_lag -1, the primary\'s value too')
  or diag($err);
unlike(`redis-cli -p $rport INFO commandstats`, qr/^cmdstat_(get|mget):/m,
    '... and the detached replica still not read');

$node->stop;
redis_stop('detach_replica');
redis_stop('detach_primary');
done_testing();
