# A primary and a streaming hot standby, both preloading ai_scale: the extension created on the
# primary reaches the standby through WAL and its functions work there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$primary->start;
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
is($standby->safe_psql('postgres', 'SELECT ai_scale.version() = extversion FROM pg_extension WHERE extname = \'ai_scale\''),
    't', 'extension replicated to the standby and its library loads there');
is($standby->safe_psql('postgres', "SELECT ai_scale.build_info() ->> 'preloaded'"),
    'true', 'standby preloaded ai_scale');
is($primary->safe_psql('postgres', "SELECT ai_scale.build_info() ->> 'preloaded'"),
    'true', 'primary preloaded ai_scale');
is($standby->safe_psql('postgres', 'SELECT count(*) > 0 FROM ai_scale.stats'),
    't', 'shared-memory stats readable on the standby');

# The error bridge works on the standby too, and the session survives the error.
my ($ret, $stdout, $stderr) = $standby->psql('postgres',
    "SELECT ai_scale._bridge_selftest('runtime_error')");
isnt($ret, 0, 'C++ exception on the standby is an error');
like($stderr, qr/a C\+\+ exception thrown on purpose/, 'with the C++ message');
is($standby->safe_psql('postgres', "SELECT ai_scale._bridge_selftest('ok')"), 'ok',
    'standby serves the next call');

# DDL on the standby is refused by Postgres, as for any hot standby.
($ret, $stdout, $stderr) = $standby->psql('postgres', 'DROP EXTENSION ai_scale');
like($stderr, qr/read-only transaction/, 'standby refuses DROP EXTENSION');

$standby->stop;
$primary->stop;
done_testing();
