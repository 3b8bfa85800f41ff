# A maintenance worker whose database is not in ai_scale.maintenance_databases as it starts
# exits before a run. The launcher asked for it while the list named the database, and the list
# changed before the worker started: here the postmaster, held (SIGSTOP) while the launcher
# reloads a list naming a new database, starts its worker with the list it had before. The worker
# ran (made partitions in a database no longer listed) and stayed, its launcher having let it be.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_started_unlisted', maintenance_naptime => 3600);
managed_database($node, 'other');

# Opened now, it serves while the postmaster is held (which could start no session).
my $session = $node->background_psql('postgres');
$session->query_safe(q{ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres, other'});
my $log_offset = -s $node->logfile;
kill 'STOP', $node->{_pid};
ok(launcher_reloaded($session),
    'the launcher reloads and reconciles with the postmaster held');
kill 'CONT', $node->{_pid};

ok($node->wait_for_log(
        qr/ai_scale maintenance worker in database "other" exits: no longer in ai_scale\.maintenance_databases/,
        $log_offset),
    'started with a list not naming its database, the worker exits');
is($node->safe_psql('other', made_ahead(4)), 'f', 'without a run');

# Once the postmaster has the list too, the launcher's next start of the worker serves the
# database (after its restart interval of 10 s).
$node->reload;
ok($node->poll_query_until('other', made_ahead(4)), 'the worker started again maintains it');

$session->quit;
$node->stop;
done_testing();
