# A run that makes partitions and drops one: each attach of a new partition locks the default
# partition ACCESS EXCLUSIVE to the end of the run's transaction, and a drop (or a detach) locks
# the parent ACCESS EXCLUSIVE. Taken in that order, against a writer that holds the parent (as
# every query of the table does, first) and then needs the default partition (a row no
# partition holds), the two waited for each other, and the deadlock detector cancelled one:
# the writer's INSERT failed with 40P01, or the run's drop did (found by the soak of
# 274_partition_chaos_soak.pl, where writers' inserts failed so). Retention now goes first,
# before the creations, and the writer only waits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('retention_after_creations');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE t_old PARTITION OF t FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1, time_zone => 'UTC');
-- The next run makes two partitions ahead and drops t_old.
UPDATE ai_scale.partition_config SET premake = 3, retention = '3 days';});

# The writer holds the parent (a row of today, its transaction open).
my $writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe(q{SET deadlock_timeout = '100ms'; BEGIN;
INSERT INTO t VALUES (1, now());});
# The run waits for the parent as long as it takes, and leaves the deadlock check to the writer.
my $run = $node->background_psql('postgres', on_error_stop => 0);
$run->query_until(qr/sent/, q{SET deadlock_timeout = '10min';
SET ai_scale.maintenance_lock_timeout = '10min';
\echo sent
SELECT string_agg(action, ',' ORDER BY action) FROM ai_scale.run_maintenance('t');
});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE '%run_maintenance%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()}),
    'the run waits for the writer');

# The writer's next row belongs in no partition: it goes to the default.
$writer->{stderr} = '';
$writer->query(q{INSERT INTO t VALUES (2, now() + interval '30 days');});
is($writer->{stderr}, '', 'the writer\'s row for the default partition is stored');
$writer->query('COMMIT');
$writer->quit;
# Two creations; three when UTC's midnight passed since manage_partitions.
like($run->query('SELECT 1'), qr/^created,created(,created)?,dropped(,rescued)?\n1$/,
    'the run makes the partitions and drops t_old');
$run->quit;
is($node->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'), '1,2',
    'both rows are stored');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 't_old'}), '0',
    't_old is dropped');

$node->stop;
done_testing();
