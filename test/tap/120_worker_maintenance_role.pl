# The maintenance worker connecting as a role that is not a superuser
# (ai_scale.maintenance_role), set up as docs/partitioning.md describes: a LOGIN role that is a
# member of the tables' owner, the owner with CREATE on the table's schema and the grant on
# partition_config. A role without LOGIN ends the worker with FATAL (its CONTEXT naming the
# setting), again every 10 s, until ALTER ROLE ... LOGIN (no restart). The worker then maintains the owner's store (rescue, drop
# by retention); a table of a role it is not a member of gets an error row, and so does one
# whose owner may no longer create in its schema, with the hint to grant it (it was never
# given: the run's hint was added only when PG_EXCEPTION_HINT was NULL, which it never is).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_maintenance_role');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'app'
ai_scale.maintenance_naptime = 1
ai_scale.maintenance_role = 'maint'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE ROLE maint;
CREATE ROLE app_owner LOGIN;
CREATE ROLE stranger LOGIN;
GRANT app_owner TO maint;
CREATE DATABASE app OWNER app_owner;});
$node->safe_psql('app', q{
CREATE EXTENSION ai_scale;
CREATE SCHEMA events AUTHORIZATION postgres;
GRANT USAGE, CREATE ON SCHEMA events TO app_owner, stranger;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO app_owner, stranger;});

# Without LOGIN: FATAL at each start, and started again.
my $offset = -s $node->logfile;
ok($node->wait_for_log(qr/FATAL:  role "maint" is not permitted to log in/, $offset),
    'a maintenance role without LOGIN: the worker cannot connect');
like(slurp_file($node->logfile, $offset),
    qr/FATAL:  role "maint" is not permitted to log in\n.*CONTEXT:  ai_scale maintenance worker connecting to database "app" as role "maint" \(ai_scale.maintenance_role\)/,
    '... which the log says is the role of ai_scale.maintenance_role');
$offset = -s $node->logfile;
ok($node->wait_for_log(qr/FATAL:  role "maint" is not permitted to log in/, $offset),
    'and is started again, and fails again');
$node->safe_psql('postgres', 'ALTER ROLE maint LOGIN');
ok($node->wait_for_log(qr/ai_scale maintenance worker started in database "app"/, $offset),
    'ALTER ROLE maint LOGIN: the next start connects, without a restart');
is($node->safe_psql('app', q{
SELECT string_agg(DISTINCT r.rolname || ' ' || r.rolsuper, ',') FROM pg_stat_activity a
  JOIN pg_roles r ON r.oid = a.usesysid WHERE a.backend_type = 'ai_scale maintenance'}),
    'maint false', 'the worker runs as maint, not a superuser');

# The owner's store: a row 20 days old is rescued from the default partition into a partition
# of its own, which retention (2 days) then drops.
$node->safe_psql('app', q{
SELECT ai_scale.create_prediction_store('events.preds', retention => '2 days');
INSERT INTO events.preds (model_name, model_version, created_at)
    VALUES ('m', 1, now() - interval '20 days');}, extra_params => [ '-U', 'app_owner' ]);
ok($node->wait_for_log(qr/${worker_line}rescued events\.preds events\.preds_\d+/,
        $offset), 'the worker rescues the owner\'s row from the default partition');
ok($node->wait_for_log(qr/${worker_line}dropped events\.preds events\.preds_\d+/,
        $offset), 'and drops its partition by retention');
is($node->safe_psql('app', 'SELECT count(*) FROM events.preds', extra_params => [ '-U', 'app_owner' ]),
    '0', 'the row is gone with it');

# A table of a role maint is not a member of: an error row at every run, nothing done.
$node->safe_psql('app', q{
CREATE TABLE events.theirs (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('events.theirs', '1 day', 1);},
    extra_params => [ '-U', 'stranger' ]);
ok($node->wait_for_log(qr/role maint does not own table events\.theirs \(its owner is stranger\)/,
        $offset), 'a table maint has not the owner\'s rights of: an error row');

# The owner loses CREATE on the schema: the run says what to grant.
$node->safe_psql('app', 'REVOKE CREATE ON SCHEMA events FROM app_owner');
$node->safe_psql('app',
    q{UPDATE ai_scale.partition_config SET premake = 10 WHERE parent = 'events.preds'::regclass},
    extra_params => [ '-U', 'app_owner' ]);
ok($node->wait_for_log(
        qr/permission denied for schema events \(hint: Maintenance acts as the table's owner \(app_owner\), who needs CREATE on its schema/,
        $offset), 'the owner without CREATE on the schema: the error row names the grant');
$node->safe_psql('app', 'GRANT CREATE ON SCHEMA events TO app_owner');
ok($node->poll_query_until('app', q{
SELECT count(*) >= 12 FROM ai_scale.partitions('events.preds')}),
    'granted again: the worker premakes the partitions');

$node->stop;
done_testing();
