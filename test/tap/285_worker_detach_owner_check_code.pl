# A table owner's code must not run with the worker's rights. The worker's ALTER TABLE ...
# DETACH PARTITION ... CONCURRENTLY runs as the worker's role (the bootstrap superuser here): it
# commits inside, which a security-restricted operation as the owner cannot span. Postgres folds
# the constant parts of the partition's CHECK constraints in it, to see whether one implies the
# partition constraint, and so called a function the owner declared IMMUTABLE there as the
# superuser: the owner of a managed table without a default partition made itself a superuser
# with a CHECK constraint on an old partition and a retention (found by a security probe). A run
# now drops or detaches such a partition itself, as the owner; and the worker, under its locks,
# leaves attached one given such a constraint after the run chose it (the next run, as the
# owner, detaches it). The same for the two other ways the concurrent detach runs the owner's
# code: a foreign key that references the table, and a table above it partitioned by an
# expression.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_owner_code', maintenance_lock_timeout => '5min');
$node->safe_psql('postgres', q{
CREATE ROLE mallory LOGIN;
GRANT CREATE ON SCHEMA public TO mallory;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO mallory;
});
# callers: each role evil() ran as; evil() makes mallory a superuser when it runs as one.
$node->safe_psql('postgres', q{
SET ROLE mallory;
CREATE TABLE callers (who name, superuser boolean);
GRANT INSERT ON callers TO PUBLIC;
CREATE FUNCTION note_caller() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO public.callers
    SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE mallory SUPERUSER';
    END IF;
END $$;
CREATE FUNCTION evil() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.note_caller();
    RETURN 1;
END $$;
});
my $superuser = q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'};
my $superuser_calls = q{SELECT count(*) FROM callers WHERE superuser};

# a: the constraint is there when the run chooses the partition, and the run detaches it as
# mallory (no 'detach_pending' for the worker).
$node->safe_psql('postgres', 'SET ROLE mallory;' . old_partition_table('a') . q{
ALTER TABLE a_old ADD CONSTRAINT c CHECK (public.evil() IS NOT NULL);
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent = 'a'::regclass;});
ok($node->poll_query_until('postgres',
        q{SELECT NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = 'a_old'::regclass)}),
    'a_old is detached');
is($node->safe_psql('postgres', $superuser), 'f', 'mallory is no superuser');
is($node->safe_psql('postgres', $superuser_calls), '0', 'evil() never ran as a superuser');

# b: the run chooses b_old for the worker's concurrent detach, which waits for the lock on
# b_old mallory's session holds; in that transaction mallory gives b_old the constraint.
my $log_offset = -s $node->logfile;
my $mallory = $node->background_psql('postgres');
$mallory->query_safe('SET ROLE mallory;' . old_partition_table('b'));
$mallory->query_safe('BEGIN; LOCK TABLE b_old IN SHARE UPDATE EXCLUSIVE MODE;');
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent = 'b'::regclass;});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE a.backend_type = 'ai_scale maintenance' AND l.relation = 'b_old'::regclass
   AND NOT l.granted}),
    'the worker\'s detach of b_old waits for mallory\'s lock');
$mallory->query_safe(
    'ALTER TABLE b_old ADD CONSTRAINT c CHECK (public.evil() IS NOT NULL); COMMIT;');
my $left = qr/left partition public\.b_old of public\.b attached: a CHECK constraint of it calls a function that is not built in/;
ok($node->wait_for_log($left, $log_offset), 'the worker left b_old attached, and said why');
ok($node->poll_query_until('postgres',
        q{SELECT NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = 'b_old'::regclass)}),
    'a later run detaches b_old');
is($node->safe_psql('postgres', $superuser), 'f', 'mallory is still no superuser');
is($node->safe_psql('postgres', $superuser_calls), '0', 'evil() still never ran as a superuser');
# The run's row is logged with its detail; the worker's own detach has none.
my $log = substr(slurp_file($node->logfile), $log_offset);
my @detached = $log =~ /${worker_line}detached public\.b public\.b_old\n(.*)/g;
is(scalar(@detached), 1, 'b_old was detached once');
like($detached[0] // '', qr/DETAIL:  older than retention 3 days/,
    'by the run, as mallory, not by the worker\'s concurrent detach');
$mallory->quit;

# Cases d and e: from a mallory who is no superuser and no call of evil() as one (so that each
# tells its own outcome), mallory runs $setup, which gives table $t an old partition ${t}_old
# and a retention; the run, as mallory, detaches it ($what: the shape of the table).
sub detached_by_run_as_mallory {
    my ($t, $what, $setup) = @_;
    $node->safe_psql('postgres',
        q{ALTER ROLE mallory NOSUPERUSER; DELETE FROM callers WHERE superuser;});
    my $offset = -s $node->logfile;
    $node->safe_psql('postgres', "SET ROLE mallory; $setup");
    ok($node->poll_query_until('postgres',
            "SELECT NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = '${t}_old'::regclass)"),
        "${t}_old, $what, is detached");
    like(substr(slurp_file($node->logfile), $offset),
        qr/${worker_line}detached public\.$t public\.${t}_old\n.*DETAIL:  older than retention 3 days/,
        "$t: by the run, as mallory");
    is($node->safe_psql('postgres', $superuser), 'f', "$t: mallory is no superuser");
    is($node->safe_psql('postgres', $superuser_calls), '0', "$t: evil() never ran as a superuser");
}

# d: a foreign key references the table (with an index expression calling evil() on the
# referencing table): the concurrent detach plans a query over both tables to look for
# referencing rows, and planning folded the index expression as the superuser (found by a
# second security probe). The run detaches d_old itself, as mallory.
detached_by_run_as_mallory('d', 'which a foreign key references through d',
    old_partition_table('d') . q{
ALTER TABLE d ADD PRIMARY KEY (v, at);
CREATE TABLE d_refs (v int, at timestamptz, FOREIGN KEY (v, at) REFERENCES d);
CREATE INDEX ON d_refs ((v + public.evil()));
CREATE INDEX ON d_old ((v + public.evil()));
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent = 'd'::regclass;});

# e: the table is a partition of a table partitioned by an expression calling evil(): the
# concurrent detach builds the partition constraint, ancestors' included, and folded that key
# as the superuser. The run detaches e_old itself, as mallory.
detached_by_run_as_mallory('e', 'of a table partitioned by an expression of mallory\'s', q{
CREATE TABLE e_top (at timestamptz NOT NULL, v int) PARTITION BY LIST ((v + public.evil()));
CREATE TABLE e PARTITION OF e_top FOR VALUES IN (2) PARTITION BY RANGE (at);
CREATE TABLE e_old PARTITION OF e FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
INSERT INTO e VALUES (now()::date - 10 + interval '1 hour', 1);
SELECT count(*) FROM ai_scale.manage_partitions('e', '1 day', 2);
DROP TABLE e_default;
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent = 'e'::regclass;});

# A constraint of built-in code alone leaves the concurrent detach to the worker.
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', 'SET ROLE mallory;' . old_partition_table('c') . q{
ALTER TABLE c_old ADD CONSTRAINT v CHECK (abs(v) < 1000 AND at > '2000-01-01');
UPDATE ai_scale.partition_config SET retention = '3 days', retention_mode = 'detach'
 WHERE parent = 'c'::regclass;});
ok($node->wait_for_log(qr/${worker_line}detached public\.c public\.c_old/, $log_offset),
    'the worker detaches c_old concurrently');

$node->stop;
done_testing();
