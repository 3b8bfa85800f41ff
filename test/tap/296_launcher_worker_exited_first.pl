# A database taken out of ai_scale.maintenance_databases while its worker waits between runs:
# the worker sees the reload first and exits, and the launcher, reconciling before the
# postmaster has reaped it, leaves it be. It took the exited worker for one not connected yet,
# sent it SIGTERM and logged that it had stopped it, beside the worker's own line saying it
# exits. The postmaster is held (SIGSTOP) to keep that window open: the worker exits unreaped,
# the launcher reconciles, then the postmaster goes on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('launcher_worker_exited_first', maintenance_naptime => 3600);
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION ai_scale');
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'
   AND wait_event_type = 'Extension' AND wait_event = 'Extension'}),
    'the worker waits between runs');
my $worker_pid = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'});

# Opened now, it serves while the postmaster is held (which could start no session).
my $session = $node->background_psql('postgres');
$session->query_safe(q{ALTER SYSTEM SET ai_scale.maintenance_databases = 'other'});

my $log_offset = -s $node->logfile;
kill 'STOP', $node->{_pid};
kill 'HUP', $worker_pid;
ok($node->wait_for_log(
        qr/ai_scale maintenance worker in database "postgres" exits: no longer in ai_scale\.maintenance_databases/,
        $log_offset),
    'the worker sees the reload and exits');
ok(launcher_reloaded($session),
    'the launcher reloads and reconciles with the postmaster held');
# The postmaster reloads too before it goes on (Linux hands a process its pending signals
# lowest first: SIGHUP before the SIGUSR1 asking for the new worker), so that the worker it
# starts reads the new list.
kill 'HUP', $node->{_pid};
kill 'CONT', $node->{_pid};

ok($node->wait_for_log(qr/ai_scale maintenance worker started in database "other"/, $log_offset),
    'the database put in the list gets its worker');
ok(!$node->log_contains(qr/launcher stopped the worker for database "postgres"/, $log_offset),
    'the launcher did not take the exited worker for one not connected yet');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'}),
    '1', 'one worker is left, in the other database');

$session->quit;
$node->stop;
done_testing();
