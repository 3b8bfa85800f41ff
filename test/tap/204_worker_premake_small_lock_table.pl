# The worker's premake on a small lock table: a run makes at most 200 partitions of a table,
# their locks held to the run's end, and with max_locks_per_transaction = 10 that did not
# fit: every run failed with out of shared memory and made none (nor dropped any by retention),
# so a premake of a year ahead was never reached. The worker now tries again with half as many
# partitions, the nearest first, and says so; by hand a run still makes them all or fails.
# Its rescue of the default partition, up to 100 partitions a batch, failed at every run the
# same way; it now tries again with fewer rows (so fewer partitions), down to one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = small_lock_table_worker_node('worker_premake_small_lock_table');
$node->safe_psql('postgres', q{
CREATE TABLE d (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('d', '1 day', 1, time_zone => 'UTC');});

# How many locks the lock table holds is not set by its settings alone. Its two hash tables
# (one entry per locked object, one per holder) start at half their size and grow into the
# spare shared memory (about 170 kB here) a chunk at a time, 48 objects or 51 holders, taken by
# whichever of their 32 free lists runs dry first; a list is chosen by the hash of what is
# locked, so the OIDs of the tables made decide how the spare memory splits, and it never goes
# back. One session could then take 271, 475, 577, 271 or 475 locks as 0 to 4 more OIDs were
# used before the extension was made (two more SQL functions in it did that). The worker's 200
# partitions of d need about 425 (one for each partition and one for its row type, and some 25
# for the run), the 300 by hand about 625, and the rescue's batch by hand about 550: they fit
# or not by that chance, and this test failed at every run on two OIDs more. So a session fills
# the lock table with advisory locks and keeps all but 150 to the end: too few for any of
# those, enough for a run of 50 partitions (about 125) or a rescue of a few days.
my $holder = $node->background_psql('postgres');
my $held = fill_lock_table($holder, 204, 150);
note("a session holds $held advisory locks, and 150 more are free");

# safe_psql, for a session that starts while the worker's runs use what the holder left: a
# run's first try (200 partitions) takes every lock left before it fails and halves, and a
# session that connects or locks in that moment fails with out of shared memory (this test did,
# once, at six files at a time on two cores). Tried again then; a transaction's statements are
# all undone by such a failure.
sub safe_psql_beside_runs {
    my ($sql) = @_;
    for (1 .. 50) {
        my ($rc, $stdout, $stderr) = $node->psql('postgres', $sql);
        return $stdout if $rc == 0;
        die "unexpected failure: $stderr" unless $stderr =~ /out of shared memory/;
        usleep(200_000);
    }
    die 'the lock table stayed full';
}

# By hand, 300 days ahead do not fit: the error and its hint, and nothing made.
my ($rc, $out, $err) = $node->psql('postgres',
    q{SELECT count(*) FROM ai_scale.manage_partitions('d', '1 day', 300, time_zone => 'UTC')});
like($err, qr/out of shared memory.*\n.*HINT:  You might need to increase max_locks_per_transaction/,
    'manage_partitions by hand fails with the hint');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'd'::regclass}),
    '3', 'and keeps nothing');

# The worker makes what fits and says how many are left.
my $offset = -s $node->logfile;
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET premake = 300 WHERE parent = 'd'::regclass});
ok($node->wait_for_log(
        qr/${worker_line}skipped public\.d\n.*DETAIL:  \d+ more partitions to make; the lock table held [1-9]\d* this run \(max_locks_per_transaction\), the rest at its next runs/,
        $offset),
    'a run makes as many as the lock table holds');
ok(safe_psql_beside_runs(q{SELECT count(*) > 3 FROM pg_inherits WHERE inhparent = 'd'::regclass}) eq 't',
    'and they are there');
unlike(slurp_file($node->logfile, $offset), qr/${worker_line}error public\.d/,
    'no run failed on the lock table');
# The worker would go on making d's other partitions, 50 a run, in the room the rescue below
# needs: it stops, after the run under way (the lock on d waits for its end).
safe_psql_beside_runs(q{BEGIN;
LOCK TABLE d IN ACCESS EXCLUSIVE MODE;
UPDATE ai_scale.partition_config SET premake = 1 WHERE parent = 'd'::regclass;
COMMIT;});

# A row in the default that cannot move stops the shared attempt at its range, before it took
# all its locks; the attempt again without that range takes them all. That one's out of shared
# memory was raised, not halved: every run failed and made nothing. Now it is halved as well.
# The days of the two rows, read once, so that the row read and the row deleted below are these
# whenever that is.
my ($bad_day, $good_day, $good_end) = split /\|/, $node->safe_psql('postgres',
    q{SELECT (now()::date + 2)::timestamptz, (now()::date + 3)::timestamptz,
             (now()::date + 4)::timestamptz});
$offset = -s $node->logfile;
$node->safe_psql('postgres', qq{
CREATE TABLE e (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('e', '1 day', 1, time_zone => 'UTC');
INSERT INTO e VALUES (timestamptz '$bad_day' + interval '1 hour', -1),
                     (timestamptz '$good_day' + interval '1 hour', 1);
ALTER TABLE e ADD CONSTRAINT epos CHECK (v > 0) NOT VALID;
UPDATE ai_scale.partition_config SET premake = 300 WHERE parent = 'e'::regclass;});
ok($node->wait_for_log(
        qr/${worker_line}error public\.e\n.*DETAIL:  create from \S+ \S+ to \S+ \S+: new row for relation "\S+" violates check constraint "epos"/,
        $offset),
    'with a row that cannot move, a run reports its range');
like(slurp_file($node->logfile, $offset),
    qr/${worker_line}skipped public\.e\n.*DETAIL:  \d+ more partitions to make; the lock table held [1-9]\d* this run/,
    'and makes the others that fit in the lock table');
unlike(slurp_file($node->logfile, $offset), qr/${worker_line}error public\.e\n.*out of shared memory/,
    'no run failed on the lock table');
# Each row read or deleted by its day, as constants (the planner then locks that day's
# partition, or the default, and no other): the worker goes on making e's partitions, and a
# query of them all needed more locks than its runs left free where a run fit 100 of them (an
# assert-enabled build: scripts/assert_check.sh), not 50.
is(safe_psql_beside_runs(
        qq{SELECT count(*) FROM e WHERE at >= '$good_day' AND at < '$good_end' AND v = 1}),
    '1', 'the good row is there');
safe_psql_beside_runs(qq{BEGIN;
LOCK TABLE e IN ACCESS EXCLUSIVE MODE;
DELETE FROM e WHERE at >= '$bad_day' AND at < '$good_day' AND v = -1;
UPDATE ai_scale.partition_config SET premake = 1 WHERE parent = 'e'::regclass;
COMMIT;});

# The same for a rescue of rows of many days: a batch makes up to 100 partitions, and the
# worker's rescue failed at every run. It now moves what fits, and the default empties.
my $store = q{
SELECT ai_scale.create_prediction_store('public.r', '1 day', 1);
INSERT INTO r (model_name, model_version, created_at)
SELECT 'm', 1, now() - g * interval '1 day' FROM generate_series(1, 60) g;};
($rc, $out, $err) = $node->psql('postgres',
    "BEGIN; $store SELECT count(*) FROM ai_scale.rescue_default('r');");
like($err, qr/out of shared memory/, 'rescue_default by hand: one batch of 60 days does not fit');
$offset = -s $node->logfile;
$node->safe_psql('postgres', "BEGIN; $store COMMIT;");
ok($node->poll_query_until('postgres', q{SELECT rows = 0 FROM ai_scale.check_default('r')}),
    'the worker moves them all out of the default');
# A query of all 61 partitions and their indexes needs more than the 150 locks.
$holder->quit;
is($node->safe_psql('postgres', q{SELECT count(*) FROM r}), '60', 'every row is there');
unlike(slurp_file($node->logfile, $offset), qr/${worker_line}error public\.r/,
    'no rescue failed on the lock table');

$node->stop;
done_testing();
