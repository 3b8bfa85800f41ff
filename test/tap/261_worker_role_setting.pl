# The maintenance worker acts as the role it connects as (ai_scale.maintenance_role), whatever
# role a session of that role takes on by a setting (ALTER ROLE ... SET role, which makes a
# DBA's logins act as an owner or group role; a client session of the role still does). With
# one set, the worker ran as that other role: every table of an owner it is not a member of got
# an error row at each run ("role ... does not own table"), and no partition was made.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_role_setting');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_naptime = 1
ai_scale.maintenance_role = 'maint'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE ROLE maint LOGIN SUPERUSER;
CREATE ROLE other NOLOGIN;
ALTER ROLE maint SET role = 'other';
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);
UPDATE ai_scale.partition_config SET premake = 3;});
my ($ret, $out) = $node->psql('postgres', 'SELECT current_user', extra_params => [ '-U', 'maint' ]);
is($out, 'other', "a client session of maint acts as the role its setting names");

# The database is listed: its worker connects as maint.
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{
ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres';
SELECT pg_reload_conf();});
ok($node->wait_for_log(qr/${worker_line}(?:created|error) public\.t\b/, $offset),
    'the worker ran on the table');
my $log = substr(slurp_file($node->logfile), $offset);
unlike($log, qr/does not own table/, 'as maint, not as the role of its setting');
like($log, qr/${worker_line}created public\.t /, 'and made the partitions premake asks for');
is( $node->safe_psql('postgres', q{
SELECT usename FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'}),
    'maint', 'it connected as maint');

# Nor session_replication_role = replica set for the role (a replication or loading tool's
# role, which may be the one maintenance connects as): with it, the rows the worker moved out of
# the default partition skipped the table's triggers, which a rescue by hand fires.
# Nor jit = on (the default, or set for the role): each of a run's small queries was compiled
# anew at each call; nor force_parallel_mode = on, with which each started a parallel worker.
$node->safe_psql('postgres', q{
ALTER ROLE maint SET session_replication_role = 'replica';
ALTER ROLE maint SET jit = on;
ALTER ROLE maint SET force_parallel_mode = on;
CREATE TABLE moved (id int, at timestamptz, tbl text, jit text);
CREATE FUNCTION note_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.moved
        VALUES (NEW.id, NEW.at, TG_TABLE_NAME,
                current_setting('jit') || '/' || current_setting('force_parallel_mode'));
    RETURN NEW;
END $$;
CREATE TABLE r (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 1, time_zone => 'UTC');
CREATE TRIGGER note_moved AFTER INSERT ON r FOR EACH ROW EXECUTE FUNCTION note_moved();
INSERT INTO r VALUES (1, now() + interval '5 days');
TRUNCATE moved;});
$offset = -s $node->logfile;
$node->restart;
ok($node->wait_for_log(qr/${worker_line}(?:created|rescued) public\.r public\.r_\d+\n.*\b1 row/,
        $offset),
    'the worker moves the row out of the default partition');
is($node->safe_psql('postgres', q{SELECT string_agg(id || ':' || tbl || ':' || jit, ' ') FROM moved}),
    '1:r_' . $node->safe_psql('postgres',
        q{SELECT to_char(now() AT TIME ZONE 'UTC' + interval '5 days', 'YYYYMMDD')}) . ':off/off',
    'firing the table\'s trigger, as a rescue by hand does, with jit and force_parallel_mode off');

$node->stop;
done_testing();
