# The maintenance launcher looks at pg_database in READ COMMITTED, whatever the server's
# default_transaction_isolation (it connects to no database, so only the server's settings
# reach it). With default_transaction_isolation = serializable, default_transaction_read_only =
# on and default_transaction_deferrable = on, each look took a SERIALIZABLE READ ONLY
# DEFERRABLE snapshot, which waits (SafeSnapshot) until every serializable transaction writing
# at the time has ended: a long one held the launcher, and a database listed meanwhile got no
# worker (nor would a worker that exited come back) until it ended.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('launcher_serializable_deferrable');
$node->init;
$node->append_conf('postgresql.conf',
    "shared_preload_libraries = 'ai_scale'\nai_scale.maintenance_naptime = 1\n");
$node->start;
# The test's own sessions keep the defaults (a database's setting is over the server's): theirs
# would wait for the writer below too.
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
ALTER DATABASE postgres SET default_transaction_isolation = 'read committed';
ALTER DATABASE postgres SET default_transaction_read_only = off;});
$node->append_conf('postgresql.conf', q{
default_transaction_isolation = 'serializable'
default_transaction_read_only = on
default_transaction_deferrable = on
});
$node->restart;

# A serializable transaction that writes, left open.
my $writer = $node->background_psql('postgres');
$writer->query_safe(q{BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE; SELECT 1;});

# The database is listed now: the launcher's next look starts its worker.
$node->safe_psql('postgres', q{
ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres';
SELECT pg_reload_conf();});
ok( $node->poll_query_until('postgres', q{
SELECT count(*) > 0 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance'
    OR (backend_type = 'ai_scale maintenance launcher' AND wait_event = 'SafeSnapshot')}),
    'the launcher started the worker, or waits');
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE backend_type = 'ai_scale maintenance launcher'
                          AND wait_event = 'SafeSnapshot'),
       count(*) FILTER (WHERE backend_type = 'ai_scale maintenance')
  FROM pg_stat_activity}),
    '0|1', 'the launcher does not wait for the serializable writer: the worker runs');

$writer->query_safe('COMMIT');
$writer->quit;
$node->stop;
done_testing();
