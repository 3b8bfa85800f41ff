# A database with two maintenance workers at once: a launcher was replaced (terminated, so the
# postmaster started another) while the worker of the one before it was in a run that lasts (a
# concurrent detach waiting for a session left in a transaction), and the new launcher started
# its own. The registry of workers (worker_registry.cpp) answered one pid per database, so DROP
# DATABASE ... WITH (FORCE) by the database's owner, not a superuser, stopped only the newer
# worker: Postgres then refused to signal the other (it runs as the bootstrap superuser) and the
# drop failed. The registry also held only 32 workers, one per listable database, while a
# replaced launcher's workers and the new one's may be more: a worker that found it full was
# never stopped by such a command. It now holds as many as there are background-worker slots,
# and every worker of the database is stopped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('worker_two_in_one_database');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_naptime = 1
ai_scale.maintenance_databases = 'owned'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE ROLE owner_role LOGIN;
CREATE DATABASE owned OWNER owner_role;});
$node->safe_psql('owned', 'CREATE EXTENSION ai_scale;' . old_partition_table('a')
      . ' GRANT SELECT ON a TO owner_role;');

sub maintenance_workers {
    my ($count) = @_;
    return $node->poll_query_until('postgres', qq{
SELECT count(*) = $count FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND datname = 'owned'});
}
my $waiting = q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'ALTER TABLE public.a DETACH PARTITION public.a_old CONCURRENTLY%'
   AND wait_event_type = 'Lock'};

ok(maintenance_workers(1), 'the database has its worker');
# The owner's session holds the table; the worker's detach waits for it.
my $reader = $node->background_psql('owned', on_error_stop => 0,
    extra_params => ['-U', 'owner_role']);
$reader->query_safe('BEGIN; SELECT count(*) FROM a;');
$node->safe_psql('owned',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'a'::regclass});
ok($node->poll_query_until('postgres', $waiting), 'the worker waits in its detach');

$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance launcher'});
ok(maintenance_workers(2), 'the next launcher starts a worker beside the one still in its run');
ok($node->poll_query_until('postgres', $waiting), 'the older worker still waits');

my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE owned WITH (FORCE)',
    extra_params => ['-U', 'owner_role']);
is($rc, 0, 'DROP DATABASE ... WITH (FORCE) by the owner stops both workers') or diag($err);
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'owned'}),
    '0', 'the database is gone');
eval { $reader->quit };
$node->stop;
done_testing();
