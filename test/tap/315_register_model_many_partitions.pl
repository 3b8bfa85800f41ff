# The first registration of a name looks for its versions in the prediction stores
# (_store_last_version), and a store partitioned by created_at is read a window of partitions at
# a time, each window's locks let go before the next. One query over the whole store locked
# every partition and its indexes until the registration ended: on a store of more partitions
# than the lock table holds (here a small one), every first registration failed with "out of
# shared memory". Every row counts wherever it lies: in a partition, in the default one (below
# the lowest bound, in a gap, above the highest, with a null created_at); as the store's owner
# and as a role that may only read it; and a store partitioned by something else is read as
# before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# The lock table holds max_locks_per_transaction * (max_connections + the background
# processes) locks, a few hundred here; a query over all of the store's partitions takes three
# a partition (it, and its two indexes).
my $partitions = 500;
my $node = PostgreSQL::Test::Cluster->new('many_partitions');
$node->init;
$node->append_conf('postgresql.conf', qq{shared_preload_libraries = 'ai_scale'
max_locks_per_transaction = 10
max_connections = 20
ai_scale.store_table = 'public.big_store'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE public.big_store (model_name text NOT NULL, model_version int NOT NULL,
                               input_hash bigint, created_at timestamptz)
    PARTITION BY RANGE (created_at);
CREATE INDEX ON public.big_store (model_name, model_version, input_hash, created_at);
CREATE INDEX ON public.big_store (created_at);
CREATE TABLE public.big_store_default PARTITION OF public.big_store DEFAULT;});
# Hourly from 2020-01-01, one partition a transaction (a transaction making many filled the
# lock table too), the hour after the 250th left out: rows in it go to the default partition.
$node->safe_psql('postgres', join("\n", map {
    my $from = $_ < 250 ? $_ : $_ + 1;
    qq{CREATE TABLE public.big_store_$_ PARTITION OF public.big_store
       FOR VALUES FROM (timestamptz '2020-01-01 00:00+00' + interval '$from hours')
                    TO (timestamptz '2020-01-01 00:00+00' + interval '@{[$from + 1]} hours');}
} 0 .. $partitions - 1));
$node->safe_psql('postgres', q{
INSERT INTO public.big_store (model_name, model_version, created_at) VALUES
    ('owner_m', 7, '2020-01-05 10:30+00'),
    ('owner_m', 3, '2020-01-20 10:30+00'),
    ('reader_m', 7, '2020-01-15 03:30+00'),
    ('below_m', 5, '2019-06-01 00:00+00'),
    ('gap_m', 4, timestamptz '2020-01-01 00:30+00' + interval '250 hours'),
    ('above_m', 6, '2200-01-01 00:00+00'),
    ('null_m', 9, NULL);
CREATE ROLE reader LOGIN;
GRANT SELECT ON public.big_store TO reader;
GRANT INSERT, UPDATE ON ai_scale.models, ai_scale.model_last_versions TO reader;});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits
                                   WHERE inhparent = 'public.big_store'::regclass}),
    $partitions + 1, 'the store has its partitions and a default one');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.big_store_default}), '4',
    'the rows below, between and above the partitions and the null one are in the default one');
my ($ret, $out, $err) = $node->psql('postgres',
    q{SELECT max(model_version) FROM public.big_store WHERE model_name = 'owner_m'});
like($err, qr/out of shared memory/,
    'control: one query over every partition fills the lock table');

# The version register_model gives $model in a new session, after the statements in $before
# (settings), as $role (the superuser by default); the error when it fails.
sub register {
    my ($model, $before, $role) = @_;
    my ($ret, $out, $err) = $node->psql('postgres',
        ($before // '')
          . qq{SELECT ai_scale.register_model('$model', 'linear', ARRAY['a'], '{"weights": [1]}')},
        extra_params => [ '-U', $role // 'postgres' ]);
    return $ret == 0 ? $out : "failed: $err";
}

# As the superuser: as the store's owner.
is(register('owner_m'), '8', 'as the owner: past the highest version in the store');
# Under exit_on_error: nothing is raised and caught on the way.
is(register('reader_m', 'SET exit_on_error = on;', 'reader'), '8',
    'as a role with SELECT on the store alone');
is(register('below_m'), '6', 'a row below every partition\'s range counts');
is(register('gap_m'), '5', 'a row in a gap between partitions counts');
is(register('above_m'), '7', 'a row above every partition\'s range counts');
is(register('null_m'), '10', 'a row with a null created_at counts');
is(register('nowhere_m'), '1', 'a name the store has no row of starts at 1');

# The locks a registration holds to its end: the store and few besides, not its partitions.
($ret, $out, $err) = $node->psql('postgres', q{BEGIN;
SELECT ai_scale.register_model('held_m', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'big\_store%';
COMMIT;});
is($out, "1\n1", 'the registration holds a lock on the store alone, none on its partitions')
  or diag $err;

# As the owner only for a role with the owner's rights.
($ret, $out, $err) = $node->psql('postgres',
    q{SELECT ai_scale._store_highest_version('public.big_store', 'owner_m', true)},
    extra_params => [ '-U', 'reader' ]);
like($err, qr/permission denied to act as the owner of table (public\.)?big_store/,
    'a role without the owner\'s rights does not read the store as its owner');

# A store partitioned by model_name is read in one query, as before.
$node->safe_psql('postgres', q{
CREATE TABLE public.by_name (model_name text, model_version int, created_at timestamptz)
    PARTITION BY LIST (model_name);
CREATE TABLE public.by_name_m PARTITION OF public.by_name FOR VALUES IN ('named_m');
CREATE TABLE public.by_name_rest PARTITION OF public.by_name DEFAULT;
INSERT INTO public.by_name VALUES ('named_m', 11, now()), ('other_m', 2, now());});
is(register('named_m', "SET ai_scale.store_table = 'public.by_name';"), '12',
    'a store partitioned by model_name');
is(register('other_m', "SET ai_scale.store_table = 'public.by_name';"), '3',
    '... in its default partition too');

# Read in windows, the store is still read as its owner: planning each window's query folds
# the constant parts of its index expressions, code of the owner's.
$node->safe_psql('postgres', q{
CREATE ROLE store_owner;
GRANT CREATE ON SCHEMA public TO store_owner;
CREATE FUNCTION public.owner_code() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'owner code ran as %', current_user;
    RETURN 0;
END $$;
SET ROLE store_owner;
CREATE TABLE public.owned (model_name text, model_version int, created_at timestamptz)
    PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE public.owned_%s PARTITION OF public.owned FOR VALUES FROM (%L) TO (%L)',
              i, date '2020-01-01' + i, date '2020-01-01' + i + 1)
  FROM generate_series(0, 69) i \gexec
INSERT INTO public.owned VALUES ('owned_m', 4, '2020-02-10');
CREATE INDEX ON public.owned ((model_version + public.owner_code()));
RESET ROLE;});
($ret, $out, $err) = $node->psql('postgres', q{SET ai_scale.store_table = 'public.owned';
SELECT ai_scale.register_model('owned_m', 'linear', ARRAY['a'], '{"weights": [1]}')});
is($out, '5', 'past the version in a store read in windows as its owner');
like($err, qr/WARNING:  owner code ran as store_owner/, 'the store\'s index code ran as its owner');
unlike($err, qr/owner code ran as postgres/, '... not as the registering superuser');

# A key of an extension's type: the windows compare it with its own operators (in the
# extension's schema, which the pinned search_path does not look in: "operator does not exist"
# failed every first registration).
$node->safe_psql('postgres', q{
CREATE EXTENSION ltree;
CREATE TABLE public.by_path (model_name text, model_version int, created_at ltree)
    PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE public.by_path_%s PARTITION OF public.by_path FOR VALUES FROM (%L) TO (%L)',
              i, 'a.' || lpad(i::text, 3, '0'), 'a.' || lpad((i + 1)::text, 3, '0'))
  FROM generate_series(0, 69) i \gexec
INSERT INTO public.by_path VALUES ('path_m', 6, 'a.050.x');});
is(register('path_m', "SET ai_scale.store_table = 'public.by_path';"), '7',
    'a store keyed by ltree is read in windows with ltree\'s operators');

$node->stop;
done_testing();
