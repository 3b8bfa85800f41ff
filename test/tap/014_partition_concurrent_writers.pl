# Writers beside maintenance and rescues: a rescue and a maintenance run of one table serialize;
# a writer whose row was routed to the default partition while a rescue moved that row's range
# gets SQLSTATE 23514 once the rescue commits (Postgres's rule for any partition attached beside
# a default one), and its retry lands in the new partition; writers into other ranges wait and
# succeed. Under a mix of writers, maintenance and rescues, every attempted row is either stored
# exactly once or reported with that error, and maintenance reports no error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

# Without shared_preload_libraries: nothing here needs the worker, and pgbench's sessions then
# start with PL/pgSQL calls before anything has loaded the library.
my $node = PostgreSQL::Test::Cluster->new('writers');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE "Writes" (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('"Writes"', '1 day', 0, time_zone => 'UTC');
INSERT INTO "Writes" SELECT i, timestamptz '2021-06-01 00:00 UTC' + (i % 3) * interval '1 day'
  FROM generate_series(1, 300) i;
});

my $waits_on_lock = sub {
    my ($pattern) = @_;
    $node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
      . "AND query LIKE '$pattern'");
};

# A rescue holds its batch open; a maintenance run of the same table waits for it.
my $rescue = $node->background_psql('postgres');
$rescue->query_safe('BEGIN');
is($rescue->query_safe(q{SELECT count(*) FROM ai_scale.rescue_default('"Writes"')}),
    '3', 'the rescue moved three days');
my $maint = $node->background_psql('postgres');
$maint->query_until(qr/sent/,
    qq{\\echo sent\nSELECT action FROM ai_scale.run_maintenance('"Writes"');\n});
ok($waits_on_lock->('%run_maintenance%'), 'maintenance of the table waits for the rescue');

# Two writers routed to the default partition wait for it too: one row in a moved day, one not.
my $moved_day = $node->background_psql('postgres', on_error_stop => 0);
$moved_day->query_until(qr/sent/,
    qq{\\echo sent\nINSERT INTO "Writes" VALUES (1001, '2021-06-02 05:00 UTC');\n});
ok($waits_on_lock->('%1001%'), 'a writer into a moved day waits');
my $other_day = $node->background_psql('postgres');
$other_day->query_until(qr/sent/,
    qq{\\echo sent\nINSERT INTO "Writes" VALUES (1002, '2021-07-15 05:00 UTC');\n});
ok($waits_on_lock->('%1002%'), 'a writer into another day of the default waits');

$rescue->query_safe('COMMIT');
$rescue->quit;
$maint->quit;    # waits for its run to end
$other_day->query_safe('SELECT 1');
$other_day->quit;
$moved_day->query(q{SELECT 1});
my $refusal = $moved_day->{stderr};
$moved_day->quit;
like($refusal, qr/new row for relation "Writes_default" violates partition constraint/,
    'the writer into the moved day fails with the partition constraint error');
is($node->safe_psql('postgres', q{
    INSERT INTO "Writes" VALUES (1001, '2021-06-02 05:00 UTC') RETURNING tableoid::regclass}),
    '"Writes_20210602"', 'its retry lands in the new partition');
# (The waiting maintenance run may have rescued row 1002 from the default by now.)
is($node->safe_psql('postgres', q{
    SELECT string_agg(format('%s:%s', tableoid::regclass, n), ' ' ORDER BY tableoid::regclass::text)
      FROM (SELECT tableoid, count(*) AS n FROM "Writes" WHERE id <> 1002 GROUP BY 1) c}),
    '"Writes_20210601":100 "Writes_20210602":101 "Writes_20210603":100',
    'every row once, where it belongs');
like($node->safe_psql('postgres', q{SELECT string_agg(tableoid::regclass::text, ' ') FROM "Writes" WHERE id = 1002}),
    qr/^"Writes_(default|20210715)"$/, 'and the row of the other day once');

# The mix: two writers of rows from 3 hours ago to 15 hours ahead into hourly partitions made 3
# hours ahead (the rest go to the default), a maintenance run, a rescue of 200 rows and a
# rescue_default_proc (batches of 50 rows, each committed) now and then. Each attempt takes a number from a sequence first (sequences ignore rollbacks); a row
# refused with 23514 is logged with its number, any other error stops pgbench and fails here.
$node->safe_psql('postgres', q{
CREATE TABLE mix (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('mix', '1 hour', 3, time_zone => 'UTC');
CREATE SEQUENCE attempts;
CREATE TABLE refused (id bigint, at timestamptz);
CREATE TABLE maintenance_log (action text, detail text);
CREATE FUNCTION write_one(at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE n bigint := nextval('attempts');
BEGIN
    INSERT INTO mix VALUES (n, at);
EXCEPTION WHEN check_violation THEN
    INSERT INTO refused VALUES (n, at);
END $$;
});
$node->pgbench(
    '--no-vacuum --client=3 --transactions=1500',
    0, [qr/processed: 4500\/4500/], [qr/^$/],
    'writers, maintenance and rescues together: no error',
    {
        'write@87' => q{\set minutes random(-180, 900)
SELECT write_one(now() + :minutes * interval '1 minute');},
        'maintain@5' => q{INSERT INTO maintenance_log
SELECT action, detail FROM ai_scale.run_maintenance('mix') WHERE action NOT IN ('created', 'rescued');},
        'rescue@5' => q{SELECT count(*) FROM ai_scale.rescue_default('mix', 200);},
        'rescue_proc@3' => q{SET client_min_messages = warning;
CALL ai_scale.rescue_default_proc('mix', 50);},
    });
my ($attempts, $stored, $distinct, $refused, $both) = split /\|/, $node->safe_psql('postgres', q{
SELECT (SELECT last_value FROM attempts), (SELECT count(*) FROM mix),
       (SELECT count(DISTINCT id) FROM mix), (SELECT count(*) FROM refused),
       (SELECT count(*) FROM mix JOIN refused USING (id))});
note("$attempts attempts: $stored stored, $refused refused with 23514");
ok($attempts > 1000, 'the writers ran');
is($stored, $distinct, 'no row stored twice');
is($stored + $refused, $attempts, 'every attempt stored or reported');
is($both, '0', 'no refused row stored');
is($node->safe_psql('postgres',
        "SELECT string_agg(action || ': ' || detail, E'\\n') FROM maintenance_log "
      . "WHERE action NOT IN ('skipped', 'detach_pending')"),
    '', 'maintenance reported no error');
$node->safe_psql('postgres', q{SELECT count(*) FROM ai_scale.rescue_default('mix', 1000000)});
is($node->safe_psql('postgres', q{SELECT rows FROM ai_scale.check_default('mix')}), '0',
    'a last rescue empties the default partition');
is($node->safe_psql('postgres', 'SELECT count(*) FROM mix'), $stored,
    'and keeps every row');

$node->stop;
done_testing();
