# Moving tables from pg_partman 4.7.2 to ai_scale, step by step as docs/partitioning.md ("Moving
# from pg_partman") gives them, on tables pg_partman's create_parent made: its partitions are
# kept under their names, only the days they do not cover are made, retention takes the
# partitions pg_partman's own retention takes, the rows pg_partman left in the default are moved
# home, and the background worker then does it alone beside pg_partman's; several tables at
# once, their settings read from part_config. Also what surprises: the template table is not
# read, a row of the default older than retention is moved home and then goes by retention,
# partitions pg_partman made as another role than the table's owner must be given to the owner
# first, a zone or interval other than pg_partman's leaves a partition cut to fit, and the way
# back to pg_partman. Skipped where pg_partman is not installed (scripts/setup.sh installs it,
# so CI runs this test).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('from_pg_partman');
plan skip_all => 'pg_partman is not installed'
  unless -f $node->config_data('--sharedir') . '/extension/pg_partman.control';
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale,pg_partman_bgw'
timezone = 'UTC'
ai_scale.maintenance_naptime = '1s'
pg_partman_bgw.interval = 1
});
$node->start;

# What a pg_partman user has: daily partitions from ten days back to four ahead, a template
# table with an index of its own, grants copied to new partitions, retention of a week keeping
# the tables, and rows in its default partition (a day before its first partition, two days
# three weeks ahead, one forty days back). "twin" is the same table, left to pg_partman.
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE ROLE reader;
CREATE TABLE public.events (id bigint NOT NULL, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
CREATE INDEX ON public.events (created_at);
GRANT SELECT ON public.events TO reader;
CREATE TABLE public.twin (LIKE public.events) PARTITION BY RANGE (created_at);
SELECT partman.create_parent(t, 'created_at', 'native', 'daily', p_premake := 4,
                             p_start_partition := (now() - interval '10 days')::text)
  FROM unnest(ARRAY['public.events', 'public.twin']) t;
CREATE UNIQUE INDEX ON partman.template_public_events (id);
UPDATE partman.part_config SET retention = '7 days', inherit_privileges = true;
INSERT INTO public.events
SELECT g, now() - (g % 11) * interval '1 day' FROM generate_series(1, 110) g;
INSERT INTO public.events VALUES
    (1001, now() - interval '11 days'), (1002, now() + interval '20 days'),
    (1003, now() + interval '21 days'), (1004, now() - interval '40 days');});

is( $node->safe_psql('postgres', q{
SELECT default_table || ' ' || count FROM partman.check_default() ORDER BY 1;}),
    'public.events_default 4', "pg_partman's check_default counts the rows in the default");

# pg_partman's retention on the twin: with retention_keep_table (on by default) it detaches,
# and leaves a row of its default older than retention where it is.
$node->safe_psql('postgres', q{
INSERT INTO public.twin VALUES (1004, now() - interval '40 days');
SELECT partman.run_maintenance('public.twin');});
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.twin_default;}),
    '1', "pg_partman's retention leaves the rows of its default alone");
my $partman_kept = $node->safe_psql('postgres', q{
SELECT string_agg(substr(c.relname, 6), ',' ORDER BY c.relname) FROM pg_class c
 WHERE c.relname ~ '^twin_p' AND c.relkind = 'r' AND NOT c.relispartition;});
isnt($partman_kept, '', "pg_partman's retention detached partitions of the twin");

# The move: pg_partman lets go of the table (its row deleted), ai_scale takes it.
$node->safe_psql('postgres', q{
DELETE FROM partman.part_config WHERE parent_table = 'public.events';
CREATE TABLE run1 AS
SELECT * FROM ai_scale.manage_partitions('public.events', '1 day', premake => 7,
                                         retention => '7 days', retention_mode => 'detach',
                                         inherit_privileges => true);});

is( $node->safe_psql('postgres', q{
SELECT string_agg(substr(partition, 15), ',' ORDER BY partition) FROM run1
 WHERE action = 'detached';}),
    $partman_kept, 'retention detaches the partitions pg_partman detached of its twin');

# Made: the days from pg_partman's last partition to 7 ahead, under ai_scale's names; none of
# pg_partman's partitions renamed or made again; every day from 7 back to 7 ahead covered once.
is( $node->safe_psql('postgres', q{
SELECT string_agg(substr(partition, 15), ',' ORDER BY partition) FROM run1
 WHERE action = 'created';}),
    $node->safe_psql('postgres', q{
SELECT string_agg(to_char(d, 'YYYYMMDD'), ',' ORDER BY d)
  FROM generate_series(date_trunc('day', now()) + interval '5 days',
                       date_trunc('day', now()) + interval '7 days', '1 day') d;}),
    'only the days after the last partition pg_partman made are made');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM generate_series(date_trunc('day', now()) - interval '6 days',
                                     date_trunc('day', now()) + interval '7 days', '1 day') d
 WHERE (SELECT count(*) FROM ai_scale.partitions('public.events') p
         WHERE p.lower::timestamptz <= d AND p.upper::timestamptz > d) <> 1;}),
    '0', '... every day from a week back to a week ahead in one partition');
is( $node->safe_psql('postgres', q{
SELECT string_agg(partition::text, ',' ORDER BY lower) FROM ai_scale.partitions('public.events')
 WHERE partition::text ~ '^events_p';}),
    $node->safe_psql('postgres', q{
SELECT string_agg('events_p' || to_char(d, 'YYYY_MM_DD'), ',' ORDER BY d)
  FROM generate_series(date_trunc('day', now() - interval '7 days'),
                       date_trunc('day', now()) + interval '4 days', '1 day') d;}),
    "... pg_partman's partitions inside retention kept, under its names");

# The rows pg_partman left in the default are moved home, the one older than retention too.
is( $node->safe_psql('postgres', q{
SELECT string_agg(substr(partition, 15) || ':' || split_part(detail, ' ', 2), ','
                  ORDER BY partition) FROM run1 WHERE action = 'rescued';}),
    $node->safe_psql('postgres', q{
SELECT string_agg(to_char(now() + d, 'YYYYMMDD') || ':' || n, ',' ORDER BY d)
  FROM (VALUES (interval '-40 days', 1), (interval '-11 days', 1),
               (interval '20 days', 1), (interval '21 days', 1)) v(d, n);}),
    "the rows of pg_partman's default are moved into partitions made for them");
is($node->safe_psql('postgres', q{SELECT rows FROM ai_scale.check_default('public.events');}),
    '0', '... and the default is empty');

# The partitions ai_scale made get the parent's grants (inherit_privileges, as pg_partman's),
# not the index of pg_partman's template table, which ai_scale does not read.
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE has_table_privilege('reader', p.partition::regclass, 'SELECT'))
       || '/' || count(*)
       || ' ' || count(*) FILTER (WHERE EXISTS (
              SELECT FROM pg_index i WHERE i.indrelid = p.partition::regclass
                 AND i.indisunique))
  FROM ai_scale.partitions('public.events') p WHERE p.partition::text ~ '^events_[0-9]';}),
    '7/7 0', "new partitions get the parent's grants, not the template table's index");

# The rows moved out of the default older than retention go at the next run (detached here).
is( $node->safe_psql('postgres', q{
SELECT string_agg(action || ' ' || substr(partition, 15), ',' ORDER BY partition)
  FROM ai_scale.run_maintenance('public.events');}),
    $node->safe_psql('postgres', q{
SELECT 'detached ' || to_char(now() - interval '40 days', 'YYYYMMDD')
    || ',detached ' || to_char(now() - interval '11 days', 'YYYYMMDD');}),
    '... the partitions made for rows older than retention are detached at the next run');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ai_scale.run_maintenance('public.events');}),
    '0', '... and the run after has nothing to do');

# pg_partman's run_maintenance() goes on for its other tables, leaving this one alone.
my $before = $node->safe_psql('postgres', q{
SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass;});
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT partman.run_maintenance();});
is($ret, 0, "pg_partman's run_maintenance() succeeds") or diag($err);
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass;}),
    $before, '... and makes no partition of the table ai_scale took');

# A table of a role other than the one pg_partman ran as (a superuser): pg_partman's partitions
# and default belong to that role, and ai_scale maintains as the table's owner, which may not
# read them. manage_partitions says so and how to fix it; with the partitions given to the
# owner, the table is taken.
$node->safe_psql('postgres', q{
CREATE ROLE app_owner;
CREATE SCHEMA app;
GRANT USAGE, CREATE ON SCHEMA app TO app_owner;
CREATE TABLE app.events (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
ALTER TABLE app.events OWNER TO app_owner;
SELECT partman.create_parent('app.events', 'created_at', 'native', 'daily', p_premake := 2);
DELETE FROM partman.part_config WHERE parent_table = 'app.events';});
($ret, $out, $err) = $node->psql('postgres', q{
SELECT count(*) FROM ai_scale.manage_partitions('app.events', '1 day', premake => 4);});
like($err,
    qr/HINT:  Maintenance acts as the table's owner, and partition app\.events_default of table app\.events belongs to \w+, not to the table's owner app_owner\. Give them to the table's owner: ALTER TABLE app\.events_default OWNER TO app_owner; ALTER TABLE app\.events_p\S+ OWNER TO app_owner;/,
    "partitions pg_partman made as another role: manage_partitions names them and the fix");
$node->safe_psql('postgres', q{
SELECT format('ALTER TABLE %s OWNER TO app_owner', inhrelid::regclass)
  FROM pg_inherits WHERE inhparent = 'app.events'::regclass \gexec});
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM ai_scale.manage_partitions('app.events', '1 day', premake => 4)
 WHERE action = 'created';}),
    '2', '... and once they are given to the table\'s owner, takes the table');

# Every table pg_partman maintains in a schema moved at once, its settings read from part_config
# (the query docs/partitioning.md gives).
$node->safe_psql('postgres', q{
CREATE SCHEMA bulk;
CREATE TABLE bulk.daily (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
CREATE TABLE bulk.monthly (LIKE bulk.daily) PARTITION BY RANGE (created_at);
SELECT partman.create_parent('bulk.daily', 'created_at', 'native', 'daily', p_premake := 3,
                             p_start_partition := (now() - interval '9 days')::text);
SELECT partman.create_parent('bulk.monthly', 'created_at', 'native', 'monthly', p_premake := 2);
UPDATE partman.part_config SET retention = '5 days', retention_keep_table = false
 WHERE parent_table = 'bulk.daily';
UPDATE partman.part_config SET automatic_maintenance = 'off' WHERE parent_table LIKE 'bulk.%';
CREATE TABLE bulk_moved AS
SELECT m.* FROM partman.part_config p,
       ai_scale.manage_partitions(p.parent_table::regclass, p.partition_interval::interval,
           premake => p.premake, retention => p.retention::interval,
           retention_mode => CASE WHEN p.retention_keep_table THEN 'detach' ELSE 'drop' END,
           time_zone => current_setting('TimeZone'),
           inherit_privileges => p.inherit_privileges) m
 WHERE p.parent_table LIKE 'bulk.%';
DELETE FROM partman.part_config WHERE parent_table LIKE 'bulk.%';});
is( $node->safe_psql('postgres', q{
SELECT string_agg(format('%s %s %s %s %s', parent, partition_interval, premake, retention,
                         retention_mode), ',' ORDER BY parent::text)
  FROM ai_scale.partition_config WHERE parent::text LIKE 'bulk.%';
SELECT string_agg(DISTINCT action, ',') FROM bulk_moved;}),
    "bulk.daily 1 day 3 5 days drop,bulk.monthly 1 mon 2  detach\ndropped",
    "pg_partman's settings read from part_config: its partitions past retention dropped, "
      . 'none made (its premake already met)');

# pg_partman makes its days in the session's zone (the server's, for its worker); ai_scale in
# ai_scale.partition_time_zone (UTC) unless told. Given a zone other than pg_partman's, the first
# partition after pg_partman's last is cut to fit (05:00 UTC to midnight); given its zone, none.
$node->safe_psql('postgres', q{
SET timezone = 'America/New_York';
CREATE TABLE public.ny_utc (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
CREATE TABLE public.ny_ny (LIKE public.ny_utc) PARTITION BY RANGE (created_at);
SELECT partman.create_parent(t, 'created_at', 'native', 'daily', p_premake := 2)
  FROM unnest(ARRAY['public.ny_utc', 'public.ny_ny']) t;
DELETE FROM partman.part_config WHERE parent_table IN ('public.ny_utc', 'public.ny_ny');});
$node->safe_psql('postgres', q{
CREATE TABLE made_utc AS
SELECT * FROM ai_scale.manage_partitions('public.ny_utc', '1 day', premake => 4)
 WHERE action = 'created';
CREATE TABLE made_ny AS
SELECT * FROM ai_scale.manage_partitions('public.ny_ny', '1 day', premake => 4,
                                         time_zone => 'America/New_York')
 WHERE action = 'created';});
my $spans = q{
SELECT string_agg(CASE WHEN upper - lower < interval '1 day' THEN 'short' ELSE 'day' END
                  || CASE WHEN partition ~ '_[0-9]{8}$' THEN '' ELSE ' ' || partition END,
                  ',' ORDER BY lower)
  FROM (SELECT partition, (split_part(detail, ' ', 2) || ' ' || split_part(detail, ' ', 3))::timestamptz lower,
               (split_part(detail, ' ', 5) || ' ' || split_part(detail, ' ', 6))::timestamptz upper
          FROM %s) m;};
like($node->safe_psql('postgres', sprintf($spans, 'made_utc')),
    qr/^short public\.ny_utc_\d{8}_0[45]00(,day)+$/,
    "in UTC over pg_partman's New York days, the first partition made is cut short");
like($node->safe_psql('postgres', sprintf($spans, 'made_ny')), qr/^day(,day)+$/,
    "... in pg_partman's zone, whole days named by the day");

# Partitions of another interval than pg_partman's (monthly over its days) fill what its days
# leave uncovered: from its last day to the month's end, then whole months, and, when its first
# day (two days back) is past the month's start, the month before it. No error. pg_partman's
# days are read from the catalog, not from the date: either call may come after a midnight.
$node->safe_psql('postgres', q{
CREATE TABLE public.daily_to_monthly (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
SELECT partman.create_parent('public.daily_to_monthly', 'created_at', 'native', 'daily',
                             p_premake := 2);
DELETE FROM partman.part_config WHERE parent_table = 'public.daily_to_monthly';
CREATE TABLE partman_days AS
SELECT min(substring(b FROM $$FROM \('([^']+)'\)$$)::timestamptz) AS first,
       max(substring(b FROM $$TO \('([^']+)'\)$$)::timestamptz) AS last
  FROM (SELECT pg_get_expr(c.relpartbound, c.oid) b
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'public.daily_to_monthly'::regclass) d;});
like( $node->safe_psql('postgres', q{
SELECT string_agg(CASE WHEN lower = d.last THEN 'from their last day'
                       WHEN lower = date_trunc('month', lower) THEN 'from month start'
                       ELSE lower::text END
                  || CASE WHEN upper = d.first THEN ' to their first day'
                          WHEN upper = date_trunc('month', upper) THEN ' to month start'
                          ELSE ' to ' || upper END, ',' ORDER BY lower)
  FROM (SELECT (split_part(detail, ' ', 2) || ' ' || split_part(detail, ' ', 3))::timestamptz lower,
               (split_part(detail, ' ', 5) || ' ' || split_part(detail, ' ', 6))::timestamptz upper
          FROM ai_scale.manage_partitions('public.daily_to_monthly', '1 month', premake => 2)
         WHERE action = 'created') m, partman_days d;}),
    qr/^(from month start to their first day,)?from their last day to month start(,from month start to month start)+$/,
    "monthly over pg_partman's days: from its last day to the month's end, then months");
$node->safe_psql('postgres', 'DROP TABLE partman_days');

# Back to pg_partman: its create_parent refuses a table with partitions of other names ("would
# overlap") and with a default named as its own. Moving the default's rows home while ai_scale
# still manages the table, unmanaging it, renaming its partitions as pg_partman names them and
# dropping the (empty) default lets create_parent take the table.
$node->safe_psql('postgres', q{
CREATE TABLE public.back (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
SELECT count(*) FROM ai_scale.manage_partitions('public.back', '1 day', premake => 3);
INSERT INTO public.back VALUES (1, now()), (2, now() + interval '10 days');});
($ret, $out, $err) = $node->psql('postgres', q{
SELECT count(*) FROM ai_scale.rescue_default('public.back');
SELECT ai_scale.unmanage_partitions('public.back');
SELECT partman.create_parent('public.back', 'created_at', 'native', 'daily', p_premake := 4);});
like($err, qr/ERROR:  partition "back_p\d{4}_\d\d_\d\d" would overlap partition "back_\d{8}"/,
    "pg_partman's create_parent refuses ai_scale's partitions");
($ret, $out, $err) = $node->psql('postgres', q{
SELECT partman.create_parent('public.back', 'created_at', 'native', 'daily', p_premake := 4,
                             p_start_partition := (now() + interval '20 days')::text);});
like($err, qr/ERROR:  relation "back_default" already exists/,
    '... and the default partition ai_scale made, named as its own');
$node->safe_psql('postgres', q{
SELECT format('ALTER TABLE public.%I RENAME TO %I', c.relname,
              'back_p' || to_char(to_date(substr(c.relname, 6), 'YYYYMMDD'), 'YYYY_MM_DD'))
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'public.back'::regclass AND c.relname ~ '^back_[0-9]{8}$' \gexec
DROP TABLE public.back_default;
SELECT partman.create_parent('public.back', 'created_at', 'native', 'daily', p_premake := 4);
SELECT partman.run_maintenance('public.back');});
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE c.relname !~ '^back_p[0-9_]{10}$|^back_default$')
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'public.back'::regclass;
SELECT count(*) FROM public.back;
SELECT count(*) FROM partman.check_default() WHERE default_table = 'public.back_default';
SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'public.back_default'::regclass;
SELECT count(*) > 0 FROM partman.show_partitions('public.back');}),
    "0\n2\n0\nDEFAULT\nt",
    '... which takes the table, partitions and rows, with the default emptied and dropped and '
      . 'the partitions named as its own');

# Both background workers running: ai_scale's moves a row written to the default home alone.
$node->safe_psql('postgres', q{
ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres';
ALTER SYSTEM SET pg_partman_bgw.dbname = 'postgres';
SELECT format('ALTER SYSTEM SET pg_partman_bgw.role = %L', current_user) \gexec});
$node->restart;
my $log_offset = length(slurp_file($node->logfile));
$node->safe_psql('postgres', q{
INSERT INTO public.events VALUES (2001, now() + interval '30 days');});
ok( $node->poll_query_until('postgres', q{
SELECT rows = 0 FROM ai_scale.check_default('public.events');}),
    "ai_scale's worker moves a row of the default home, pg_partman's running beside it");
$node->wait_for_log(qr/pg_partman dynamic background worker.*run_maintenance/, $log_offset);
$node->wait_for_log(qr/pg_partman dynamic background worker.*run_maintenance/,
    length(slurp_file($node->logfile)));
unlike(substr(slurp_file($node->logfile), $log_offset), qr/ERROR/,
    "... and pg_partman's worker runs beside it without an error");

$node->stop;
done_testing();
