# The maintenance launcher's restart back-off is counted on the monotonic clock: a worker that
# exited just before the server's wall clock was stepped back an hour (NTP, a VM resumed, a
# clock set right) is started again 10 s after its exit, as without the step. Counted on the
# wall clock (GetCurrentTimestamp), the back-off lasted the step's hour more: the database was
# not maintained for that hour.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('launcher_clock_step');
$node->init;
# A role without LOGIN ends each worker at its start: the launcher starts one every 10 s, and
# at any moment (but the few milliseconds a worker lives) it is waiting out the back-off of a
# worker that exited.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
ai_scale.maintenance_role = 'maint'
});
start_clock_shifted($node);
$node->safe_psql('postgres', 'CREATE ROLE maint SUPERUSER');
ok($node->wait_for_log(qr/FATAL:  role "maint" is not permitted to log in/),
    'a worker exits at its start');

shift_clock($node, -3600);
cmp_ok($node->safe_psql('postgres', 'SELECT extract(epoch FROM now())') + 3000, '<', time(),
    'the server\'s wall clock is an hour behind');
$node->safe_psql('postgres', 'ALTER ROLE maint LOGIN');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    'the launcher starts the worker again within its back-off, not an hour later');

$node->stop;
done_testing();
