# A rescue of the default partition locked the default partition (EXCLUSIVE) and then, for its
# attaches, the parent (SHARE UPDATE EXCLUSIVE): the other way round from Postgres's own DDL
# (ATTACH, DETACH, CREATE TABLE ... PARTITION OF lock the parent, then the default). A session
# holding the parent so (here as an ATTACH PARTITION takes it, in a transaction that then
# writes a row for the default; in the soak of 274_partition_chaos_soak.pl a DBA's ATTACH
# PARTITION waiting for the default) and the rescue waited for each
# other, and the deadlock detector cancelled one of them. The rescue now locks the parent
# first, and only waits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rescue_parent_first');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1, time_zone => 'UTC');
INSERT INTO t VALUES (1, now() + interval '30 days');});

# The DBA's session holds the parent, as an ATTACH PARTITION does first.
my $dba = $node->background_psql('postgres', on_error_stop => 0);
$dba->query_safe(q{SET deadlock_timeout = '100ms'; BEGIN;
LOCK TABLE ONLY t IN SHARE UPDATE EXCLUSIVE MODE;});
# The rescue waits for it as long as it takes, and leaves the deadlock check to the DBA.
my $rescue = $node->background_psql('postgres', on_error_stop => 0);
$rescue->query_until(qr/sent/, q{SET deadlock_timeout = '10min';
SET ai_scale.maintenance_lock_timeout = '10min';
\echo sent
SELECT count(*) FROM ai_scale.rescue_default('t');
});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE '%rescue_default%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()}),
    'the rescue waits for the DBA');

# The DBA's next statement needs the default partition.
$dba->{stderr} = '';
$dba->query(q{INSERT INTO t VALUES (2, now() + interval '40 days');});
is($dba->{stderr}, '', 'the DBA\'s row for the default partition is stored');
$dba->query('COMMIT');
$dba->quit;
like($rescue->query('SELECT 1'), qr/^[12]\n1$/, 'the rescue moves the rows');
$rescue->quit;
is($node->safe_psql('postgres', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM t}), '1,2',
    'both rows are stored');

$node->stop;
done_testing();
