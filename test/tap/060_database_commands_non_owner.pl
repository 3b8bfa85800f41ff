# Database commands run by roles other than a superuser, while ai_scale's workers are connected
# to the database they act on (ai_scale stops its workers there first, as Postgres stops
# autovacuum):
# - DROP DATABASE ... WITH (FORCE) by the database's owner, not a superuser: Postgres signals
#   the sessions still there itself, and refuses to signal one of a role the owner is not a
#   member of (the workers run as the bootstrap superuser), so the drop failed unless the
#   workers had already gone;
# - CREATE DATABASE ... TEMPLATE of a database marked IS_TEMPLATE, by a role with CREATEDB that
#   does not own it (Postgres allows that copy);
# - CREATE DATABASE without TEMPLATE, which copies template1, while a worker is connected there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('database_commands');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_naptime = '1s'
});
$node->start;

$node->safe_psql('postgres', q{
CREATE ROLE owner_role LOGIN CREATEDB;
CREATE ROLE copier LOGIN CREATEDB;
CREATE DATABASE owned OWNER owner_role;
CREATE DATABASE golden;
});
$node->safe_psql('owned', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
});

sub workers_in {
    my ($db, $type, $count) = @_;
    return $node->poll_query_until('postgres', qq{
SELECT count(*) = $count FROM pg_stat_activity WHERE backend_type = '$type' AND datname = '$db'});
}

sub reload_databases {
    my ($list) = @_;
    $node->safe_psql('postgres', qq{
ALTER SYSTEM SET ai_scale.maintenance_databases = '$list';
SELECT pg_reload_conf();});
}

# DROP DATABASE ... WITH (FORCE) by its owner, with the maintenance worker and the store worker
# of async predict() connected to it.
reload_databases('owned');
ok(workers_in('owned', 'ai_scale maintenance', 1), 'the maintenance worker is connected');
$node->safe_psql('owned', q{SET ai_scale.store_mode = async;
                            SELECT ai_scale.predict('m', '{"a": 1}')});
ok(workers_in('owned', 'ai_scale store', 1), 'the store worker is connected');
my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE owned WITH (FORCE)',
    extra_params => ['-U', 'owner_role']);
is($rc, 0, 'DROP DATABASE ... WITH (FORCE) by the owner, not a superuser, succeeds')
    or diag($err);
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'owned'}),
    '0', 'the database is gone');

# The same while the store worker waits for a lock a session of the owner's holds on the store
# (the session FORCE is there to end): after its SIGTERM the worker waits up to 5 s more for the
# lock, and ai_scale's wait for the workers to leave ended first (5 s too): the drop failed,
# 'must be a member of the role whose process is being terminated', on the worker.
$node->safe_psql('postgres', 'CREATE DATABASE owned2 OWNER owner_role');
$node->safe_psql('owned2', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
ALTER TABLE model_predictions OWNER TO owner_role;
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
});
$node->safe_psql('owned2', q{SET ai_scale.store_mode = async;
                             SELECT ai_scale.predict('m', '{"a": 1}')});
ok(workers_in('owned2', 'ai_scale store', 1), 'a store worker is connected to owned2');
my $holder = $node->background_psql('owned2', extra_params => ['-U', 'owner_role']);
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE');
$node->safe_psql('owned2', q{SET ai_scale.store_mode = async;
                             SELECT ai_scale.predict('m', '{"a": 2}')});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale store' AND datname = 'owned2' AND wait_event_type = 'Lock'}),
    'the store worker waits for the lock on the store');
($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE owned2 WITH (FORCE)',
    extra_params => ['-U', 'owner_role']);
is($rc, 0, 'DROP DATABASE ... WITH (FORCE) by the owner succeeds, the store worker waiting')
    or diag($err);
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'owned2'}),
    '0', 'that database is gone too');
eval { $holder->quit };

# CREATE DATABASE ... TEMPLATE of a template database by a role that does not own it.
$node->safe_psql('postgres', 'ALTER DATABASE golden IS_TEMPLATE true');
reload_databases('golden');
ok(workers_in('golden', 'ai_scale maintenance', 1), 'a worker is connected to the template');
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE golden_copy TEMPLATE golden',
    extra_params => ['-U', 'copier']);
is($rc, 0, 'CREATE DATABASE ... TEMPLATE by a role with CREATEDB that does not own it')
    or diag($err);
# A database it may not copy: its workers are left alone, Postgres refuses.
$node->safe_psql('postgres', 'ALTER DATABASE golden IS_TEMPLATE false');
ok(workers_in('golden', 'ai_scale maintenance', 1), 'the template has its worker again');
my $pid = $node->safe_psql('postgres', q{
SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'});
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE golden_copy2 TEMPLATE golden',
    extra_params => ['-U', 'copier']);
like($err, qr/permission denied to copy database "golden"/, 'a non-template is not copied');
is($node->safe_psql('postgres', q{
SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'}), $pid,
    'and its worker was not stopped');

# CREATE DATABASE with no TEMPLATE copies template1: a worker there is stopped too.
reload_databases('template1');
ok(workers_in('template1', 'ai_scale maintenance', 1), 'a worker is connected to template1');
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE plain_new',
    extra_params => ['-U', 'copier']);
is($rc, 0, 'CREATE DATABASE (template1) succeeds while a worker is connected to template1')
    or diag($err);
ok(workers_in('template1', 'ai_scale maintenance', 1),
    'the launcher starts the template1 worker again');

# Statements Postgres refuses leave the workers alone: a rename, or a copy, by an owner without
# CREATEDB (a rename stopped the worker before the refusal, and repeated it kept the database's
# maintenance from running), a rename to a name taken, and a DROP DATABASE in a transaction
# block.
$node->safe_psql('postgres', q{
CREATE ROLE owner_nocreatedb LOGIN;
CREATE DATABASE owned3 OWNER owner_nocreatedb;});
reload_databases('owned3');
ok(workers_in('owned3', 'ai_scale maintenance', 1), 'a worker is connected to owned3');
my $worker = q{SELECT pid FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND datname = 'owned3'};
$pid = $node->safe_psql('postgres', $worker);
($rc, $out, $err) = $node->psql('postgres', 'ALTER DATABASE owned3 RENAME TO owned4',
    extra_params => ['-U', 'owner_nocreatedb']);
like($err, qr/permission denied to rename database/, 'an owner without CREATEDB may not rename');
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE owned3_copy TEMPLATE owned3',
    extra_params => ['-U', 'owner_nocreatedb']);
like($err, qr/permission denied to create database/, '... nor copy it');
($rc, $out, $err) = $node->psql('postgres', 'ALTER DATABASE owned3 RENAME TO postgres');
like($err, qr/database "postgres" already exists/, '... nor may anyone rename it to a name taken');
($rc, $out, $err) = $node->psql('postgres', 'BEGIN; DROP DATABASE owned3; COMMIT;');
like($err, qr/DROP DATABASE cannot run inside a transaction block/,
    'DROP DATABASE in a transaction block is refused');
is($node->safe_psql('postgres', $worker), $pid, 'and the worker was never stopped');

$node->stop;
done_testing();
