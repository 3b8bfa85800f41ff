# redis_status() shows the role a data node reports in INFO replication, and its link status,
# as text of the database. They are bytes from the node: a role outside ASCII (here a fake
# Redis's "m\xe4ster", and a link status that is no UTF-8) was returned as it came, invalid in
# the database's encoding (convert_to(reported_role, 'UTF8'): invalid byte sequence for
# encoding "UTF8": 0xe4 0x73 0x74). They are shown in ASCII now, other bytes written \xNN.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

plan skip_all => 'python3 not found'
  unless system('sh', '-c', 'command -v python3 >/dev/null') == 0;

my $port = PostgreSQL::Test::Cluster::get_free_port();
python_server_start($port, 'fake_redis.py', 'odd_info', $port);

my $node = cache_node('redis_status_text', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', q{
CREATE DATABASE utf8 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;});
$node->safe_psql('utf8', 'CREATE EXTENSION ai_scale');

my ($ret, $out, $err) = $node->psql('utf8', q{
SELECT convert_from(convert_to(reported_role, 'UTF8'), 'UTF8') FROM ai_scale.redis_status()});
is($ret, 0, 'the reported role is valid text in the database') or diag $err;
is($out, 'm\xe4ster (link \xe6\x97)', 'written in ASCII, the other bytes escaped');

$node->stop;
done_testing();
