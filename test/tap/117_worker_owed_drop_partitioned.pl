# A partition that is partitioned itself, which the worker detaches concurrently to drop, is
# dropped by a later run when its drop did not follow the detach (here a view uses it, so the
# DROP fails after the detach committed). The runs looked for marked plain tables only: such a
# table stayed for good, its rows past retention.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_owed_drop_partitioned');
# No default partition (the worker detaches concurrently only then), an old partition
# partitioned by list, with a row, that a view uses, and no retention yet.
$node->safe_psql('postgres', q{
CREATE TABLE r (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE r_old PARTITION OF r FOR VALUES FROM (now()::date - 10) TO (now()::date - 9)
    PARTITION BY LIST (v);
CREATE TABLE r_old_1 PARTITION OF r_old FOR VALUES IN (1);
INSERT INTO r VALUES (now()::date - 10 + interval '1 hour', 1);
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 2);
DROP TABLE r_default;
CREATE VIEW v_old AS SELECT * FROM r_old;});

$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});
ok($node->wait_for_log(qr/${worker_line}detached public\.r public\.r_old/),
    'the worker detaches the partition retention chose');
ok($node->wait_for_log(qr/cannot drop table public\.r_old because other objects depend on it/),
    'its drop fails: a view uses the table');

# Once the view is gone, a later run drops it.
$node->safe_psql('postgres', 'DROP VIEW v_old');
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.r_old') IS NULL}),
    'a later run of the worker drops the detached table');
is($node->safe_psql('postgres', q{SELECT to_regclass('public.r_old_1') IS NULL}), 't',
    '... with its partition');

$node->stop;
done_testing();
