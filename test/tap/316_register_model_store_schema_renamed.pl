# The first registration of a name reads a store of many partitions a window at a time, as the
# store's owner (a superuser here). Each window's query named the store by the name it had when
# the read began: renaming a schema takes no lock on its tables, so the schema's owner (for a
# store in public, the database's owner) could rename it while a registration waited and put a
# table of its own under the old name, and the later windows planned that table as the
# superuser, running its index code with the superuser's rights. Each window now names the store
# afresh from its OID, and reads nothing but the store.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('schema_renamed');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
# The store, the superuser's, in a schema role own owns; 200 daily partitions (more than one
# window); a sequence own's code sets to 1 when it runs as a superuser (a sequence: the
# window's subtransaction is rolled back, and its writes with it).
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE ROLE own;
GRANT CREATE ON DATABASE postgres TO own;
CREATE SCHEMA sz AUTHORIZATION own;
CREATE TABLE sz.s (model_name text, model_version int, created_at timestamptz)
    PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE sz.s_%s PARTITION OF sz.s FOR VALUES FROM (%L) TO (%L)',
              i, date '2020-01-01' + i, date '2020-01-01' + i + 1)
  FROM generate_series(0, 199) i \gexec
INSERT INTO sz.s VALUES ('renamed_m', 4, '2020-05-01');
CREATE SEQUENCE public.own_ran_as_superuser;
GRANT USAGE, UPDATE ON SEQUENCE public.own_ran_as_superuser TO PUBLIC;});

# The body of a PL/pgSQL function of own's that sets the sequence when it runs as a superuser,
# then returns $result.
sub flags_superuser {
    my ($result) = @_;
    return qq{BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        PERFORM setval('public.own_ran_as_superuser', 1);
    END IF;
    RETURN $result;
END};
}

# Registers $model as the superuser with $store as its store, held in the middle of its read
# by a lock on $partition (of a later window): the holding session and the registering one,
# once the registration waits for the lock.
sub register_held {
    my ($store, $partition, $model, $name) = @_;
    my $holder = $node->background_psql('postgres');
    $holder->query_safe("BEGIN; LOCK TABLE $partition IN ACCESS EXCLUSIVE MODE;");
    my $registering = $node->background_psql('postgres', on_error_stop => 0);
    $registering->query_until(qr/started/, qq{
\\echo started
SET ai_scale.store_table = '$store';
SELECT ai_scale.register_model('$model', 'linear', ARRAY['a'], '{"weights": [1]}') AS version;
});
    (my $relname = $partition) =~ s/.*\.//;
    ok( $node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE c.relname = '$relname' AND NOT l.granted}),
        $name);
    return ($holder, $registering);
}

my ($holder, $registering) = register_held('sz.s', 'sz.s_150', 'renamed_m',
    'the registration waits in the middle of its read');

# own swaps in a table of its own under the store's name.
$node->safe_psql('postgres', q{
SET ROLE own;
ALTER SCHEMA sz RENAME TO sz_old;
CREATE SCHEMA sz;
CREATE FUNCTION sz.own_code() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
} . flags_superuser('0') . q{ $$;
CREATE TABLE sz.s (model_name text, model_version int, created_at timestamptz);
INSERT INTO sz.s VALUES ('renamed_m', 99, '2020-05-01');
CREATE INDEX ON sz.s ((model_version + sz.own_code()));});
$holder->query_safe('COMMIT');
$holder->quit;
my $out = $registering->query('SELECT 1 AS done');
$registering->quit;
like($out, qr/^5\n/m, 'the registration numbers from the store it began with, renamed');
is( $node->safe_psql('postgres',
        'SELECT is_called FROM public.own_ran_as_superuser'),
    'f', "the table put under the store's old name was never planned as the superuser");

# The same with the schema of the key's operators: a store keyed by citext (an extension in a
# schema own owns) is compared with citext's operators, named with their schema in each
# window's query. Swapped for one of own's under the same name, that operator ran as the
# superuser; the window's query is now checked to use the key's own operators before it is
# planned, and the registration fails instead.
$node->safe_psql('postgres', q{
SELECT setval('public.own_ran_as_superuser', 1, false);
CREATE SCHEMA ops AUTHORIZATION own;
CREATE EXTENSION citext SCHEMA ops;
CREATE TABLE public.by_text (model_name text, model_version int, created_at ops.citext)
    PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE public.by_text_%s PARTITION OF public.by_text FOR VALUES FROM (%L) TO (%L)',
              i, 'k' || lpad(i::text, 3, '0'), 'k' || lpad((i + 1)::text, 3, '0'))
  FROM generate_series(0, 199) i \gexec
INSERT INTO public.by_text VALUES ('op_m', 2, 'k050x');});
($holder, $registering) = register_held('public.by_text', 'public.by_text_150', 'op_m',
    'a registration on the citext store waits in the middle of its read');
$node->safe_psql('postgres', q{
SET ROLE own;
ALTER SCHEMA ops RENAME TO ops_old;
CREATE SCHEMA ops;
CREATE FUNCTION ops.own_ge(ops_old.citext, ops_old.citext) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
} . flags_superuser('true') . q{ $$;
CREATE OPERATOR ops.>= (LEFTARG = ops_old.citext, RIGHTARG = ops_old.citext,
                        FUNCTION = ops.own_ge);
CREATE OPERATOR ops.< (LEFTARG = ops_old.citext, RIGHTARG = ops_old.citext,
                       FUNCTION = ops.own_ge);});
$holder->query_safe('COMMIT');
$holder->quit;
$out = $registering->query('SELECT 1 AS done');
my $err = $registering->{stderr};
$registering->quit;
is( $node->safe_psql('postgres', 'SELECT is_called FROM public.own_ran_as_superuser'),
    'f', "the operator put under the key's operators' schema never ran as the superuser");
like($err, qr/renamed while its versions were read/,
    '... the registration fails, saying why');

# A store keyed by a domain over citext (the one above, in ops_old, own's schema): its windows
# compared the domain with citext's operators, a match found by coercing the domain, which the
# owner of citext's schema could beat with an exact match of its own on the domain. The check
# refused that operator, and every first registration on the store failed; the key is now cast
# to citext, matched exactly.
$node->safe_psql('postgres', q{
SELECT setval('public.own_ran_as_superuser', 1, false);
CREATE DOMAIN public.dcit AS ops_old.citext;
CREATE TABLE public.by_dom (model_name text, model_version int, created_at public.dcit)
    PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE public.by_dom_%s PARTITION OF public.by_dom FOR VALUES FROM (%L) TO (%L)',
              i, 'k' || lpad(i::text, 3, '0'), 'k' || lpad((i + 1)::text, 3, '0'))
  FROM generate_series(0, 199) i \gexec
INSERT INTO public.by_dom VALUES ('dom_m', 6, 'k150x');
SET ROLE own;
CREATE FUNCTION ops_old.own_cmp(public.dcit, public.dcit) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
} . flags_superuser('true') . q{ $$;
CREATE OPERATOR ops_old.>= (LEFTARG = public.dcit, RIGHTARG = public.dcit, FUNCTION = ops_old.own_cmp);
CREATE OPERATOR ops_old.< (LEFTARG = public.dcit, RIGHTARG = public.dcit, FUNCTION = ops_old.own_cmp);});
# In one transaction, to count the locks the read kept: the windows' were let go of.
$out = $node->safe_psql('postgres', q{
BEGIN;
SET LOCAL ai_scale.store_table = 'public.by_dom';
SELECT ai_scale.register_model('dom_m', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'by_dom%';
COMMIT;});
is($out, "7\n1", 'a store keyed by a domain over citext: numbered from the store, a window at a time');
is( $node->safe_psql('postgres', 'SELECT is_called FROM public.own_ran_as_superuser'),
    'f', "... and the operator on the domain never ran as the superuser");

$node->stop;
done_testing();
