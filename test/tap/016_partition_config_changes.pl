# A maintenance run that waited for another run of the same table (on the advisory lock) goes
# on with the table's settings as they are once it holds the lock, not as they were when it
# started: a manage_partitions that took retention away while the run waited must keep the
# partitions it said to keep, and an unmanage_partitions must stop the run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('config_changes');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE r (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE r_old PARTITION OF r FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
INSERT INTO r VALUES (now()::date - 10 + interval '1 hour', 1);
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 2);
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass;});

my $waiting_run = q{SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted};

# The change holds the table's maintenance lock until it commits; the run waits for it.
# (Its NOTICE, that the retention is removed, is what the change means.)
my $changer = $node->background_psql('postgres');
$changer->query_safe(q{SET client_min_messages = warning;
BEGIN; SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 2, retention => NULL);});
my $run = $node->background_psql('postgres');
$run->query_until(qr/sent/, "\\echo sent\n"
      . q{SELECT 'run:' || count(*) FILTER (WHERE action = 'dropped') FROM ai_scale.run_maintenance('r');}
      . "\n");
ok($node->poll_query_until('postgres', $waiting_run), 'the run waits for the change');
$changer->query_safe('COMMIT');
like($run->query_until(qr/run:\d+/, ''), qr/run:0/, 'the run dropped nothing');
is($node->safe_psql('postgres', 'SELECT count(*) FROM r'), '1',
    'the row of the partition retention no longer covers is still there');

# The same with unmanage_partitions: the waiting run finds the table no longer managed.
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});
$changer->query_safe(q{BEGIN; SELECT ai_scale.unmanage_partitions('r');});
$run->query_until(qr/sent/, "\\echo sent\n"
      . q{SELECT 'run:' || count(*) FROM ai_scale.run_maintenance();} . "\n");
ok($node->poll_query_until('postgres', $waiting_run), 'a run waits for unmanage_partitions');
$changer->query_safe('COMMIT');
like($run->query_until(qr/run:\d+/, ''), qr/run:0/, 'and then does nothing to the table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM r'), '1', 'whose row is still there');

# Two first manage_partitions of one table at once: the second waits for the first and adopts
# the table as the first left it (it used to try to add a second default partition, 42P07).
$node->safe_psql('postgres', 'CREATE TABLE fresh (at timestamptz NOT NULL) PARTITION BY RANGE (at)');
$changer->query_safe(
    q{BEGIN; SELECT count(*) FROM ai_scale.manage_partitions('fresh', '1 day', 2);});
$run->query_until(qr/sent/, "\\echo sent\n"
      . q{SELECT 'second:' || count(*) FROM ai_scale.manage_partitions('fresh', '1 day', 3);}
      . "\n");
ok($node->poll_query_until('postgres', $waiting_run), 'the second waits for the first');
$changer->query_safe('COMMIT');
like($run->query_until(qr/second:\d+/, ''), qr/second:1/,
    'and only adds the partition its premake asks for');
is($node->safe_psql('postgres', q{SELECT premake FROM ai_scale.partition_config
                                  WHERE parent = 'fresh'::regclass}), '3', 'with its settings');

$run->quit;
$changer->quit;
$node->stop;
done_testing();
