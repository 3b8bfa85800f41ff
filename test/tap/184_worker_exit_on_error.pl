# The maintenance worker goes on past a table it must skip whatever exit_on_error the server,
# database or role sets: a run catches its errors (a lock not free in time makes a 'skipped'
# row). With exit_on_error on, the first one was a FATAL: the worker exited at the table a
# long query held, and every run after it did the same, so the tables after that one were
# never maintained while the query ran.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_exit_on_error');
$node->append_conf('postgresql.conf', "exit_on_error = on\n");
$node->restart;
# Two tables, a first (the worker maintains them in OID order).
$node->safe_psql('postgres', q{
CREATE TABLE a (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE b (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('a', '1 day', 1);
SELECT count(*) FROM ai_scale.manage_partitions('b', '1 day', 1);});

# A long query holds a, and both tables want more partitions.
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN; LOCK TABLE a IN SHARE MODE;');
$node->safe_psql('postgres', 'UPDATE ai_scale.partition_config SET premake = 3');

ok($node->wait_for_log(qr/(?:FATAL:  canceling statement due to lock timeout|${worker_line}created public\.b )/),
    'the worker reaches a verdict');
unlike(slurp_file($node->logfile), qr/FATAL:  canceling statement due to lock timeout/,
    'the lock timeout on a did not end the worker');
ok($node->poll_query_until('postgres', made_ahead(3, 'b')),
    'b got its partitions while a was held');
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres', made_ahead(3, 'a')),
    'and a once it was free');

$holder->quit;
$node->stop;
done_testing();
