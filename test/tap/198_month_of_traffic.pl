# A month of production time on one server, its wall clock stepped day by day: the prediction
# store managed with daily partitions in America/New_York (premake 3, retention 7 days: drop,
# then detach, then tier to a cold tablespace), the maintenance worker running by itself, and
# predict() / predict_batch() traffic stored sync and async through L1, Redis and the store,
# a model re-registered now and then. The month crosses the fall-back change of 2026-11-01.
# Each day, after the worker's pass: the partitions are exactly today-7 .. today+3 (local
# dates) plus the default, which holds no row; every prediction made is stored exactly once
# until retention removes its day; the store answers as L3 only within cache_ttl and never
# from a removed day; and the server log holds no WARNING or ERROR.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
  or plan skip_all => 'no Redis from test/run.sh';
my $cold = PostgreSQL::Test::Utils::tempdir();
my $node = PostgreSQL::Test::Cluster->new('month_of_traffic');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
timezone = 'America/New_York'
ai_scale.partition_time_zone = 'America/New_York'
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
});
start_clock_shifted($node);

# Midnight (and 5 s) of the month's first day, New York time.
my $first_day = '2026-10-22';
sub local_epoch {
    my ($ts) = @_;
    return $node->safe_psql('postgres',
        "SELECT extract(epoch FROM timestamptz '$ts America/New_York')::bigint");
}
# Each step of the clock is followed by a reload, which starts the worker's run at once
# (src/partition/worker.cpp; its naptime is on the monotonic clock, which a step leaves alone):
# the pass each day waits for is still the worker's own, there within a run rather than within
# a naptime and a run (half a second or more a day, and as many polls fewer).
sub set_clock {
    my ($ts) = @_;
    shift_clock($node, local_epoch($ts) - time());
    $node->safe_psql('postgres', 'SELECT pg_reload_conf()');
}
set_clock("$first_day 00:00:05");

$node->safe_psql('postgres', qq{
CREATE EXTENSION ai_scale;
CREATE TABLESPACE cold LOCATION '$cold';
SELECT ai_scale.create_prediction_store(premake => 3, retention => '7 days');
SELECT ai_scale.register_model('month_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
CREATE TABLE seen (input jsonb, day date, version int, mode text, source text);
});
my $log_offset = 0;

# Partitions as local dates 'lower..upper', the default apart.
my $parts_sql = q{
SELECT string_agg(left(lower, 10) || '..' || left(upper, 10) || ':' || coalesce(tablespace, ''),
                  ' ' ORDER BY lower)
  FROM ai_scale.partitions('public.model_predictions') WHERE lower IS NOT NULL};

my ($l1_answers, $l2_answers, $l3_answers) = (0, 0, 0);
my $mode = 'drop';
my %removed_day;    # local dates whose partition retention dropped or detached
for my $n (0 .. 29) {
    my $day = $node->safe_psql('postgres', "SELECT date '$first_day' + $n");
    if ($n == 10) {
        $mode = 'detach';
    } elsif ($n == 20) {
        $mode = 'tier';
    }
    # The mode changes before the clock moves to the new day (the day before is settled): changed
    # after, the worker's run of the new day could come first and apply the old mode to it
    # (it dropped a partition that detach mode was to keep, under load).
    if ($n == 10 || $n == 20) {
        $node->safe_psql('postgres', qq{
SELECT count(*) FROM ai_scale.manage_partitions('public.model_predictions', '1 day',
    premake => 3, retention => '7 days', retention_mode => '$mode',
    cold_tablespace => CASE WHEN '$mode' = 'tier' THEN 'cold' END)});
    }
    set_clock("$day 00:00:05");
    # What the partitions must be: drop and detach keep today-7 .. today+3; tier keeps the
    # older ones too, in the cold tablespace.
    my $oldest = $mode eq 'tier' ? "date '$first_day' + 20 - 8" : "date '$day' - 7";
    $oldest = "greatest($oldest, date '$first_day')";
    my $want = $node->safe_psql('postgres', qq{
SELECT string_agg(d::date || '..' || (d::date + 1) || ':'
                  || CASE WHEN d::date < date '$day' - 7 THEN 'cold' ELSE 'pg_default' END, ' ' ORDER BY d)
  FROM generate_series($oldest, date '$day' + 3, interval '1 day') d});
    my $got;
    my $ok = 0;
    for (1 .. 100) {
        $got = $node->safe_psql('postgres', $parts_sql);
        if ($got eq $want) { $ok = 1; last; }
        select(undef, undef, undef, 0.1);
    }
    is($got, $want, "$day ($mode): the partitions after the worker's pass");
    is($node->safe_psql('postgres', q{
SELECT count(*) FROM ai_scale.partitions('public.model_predictions') p
  WHERE lower IS NOT NULL
    AND (lower::timestamptz <> (left(lower, 10)::date)::timestamptz
         OR upper::timestamptz <> (left(upper, 10)::date)::timestamptz)}), '0',
        "$day: every bound is a local midnight");

    # Traffic: fresh inputs sync, async and in a batch; the day's number makes them unique.
    my $sql = '';
    for my $i (1 .. 3) {
        for my $sm ('sync', 'async') {
            $sql .= qq{SET ai_scale.store_mode = $sm;
INSERT INTO seen SELECT i, date '$day', (p->>'version')::int, '$sm', p->>'source'
  FROM (SELECT jsonb_build_object('a', $n, 'b', $i, 'm', '$sm') i) s,
       LATERAL ai_scale.predict('month_lin', i) p;
};
        }
    }
    $sql .= qq{SET ai_scale.store_mode = async;
INSERT INTO seen SELECT i, date '$day', (p->>'version')::int, 'batch', p->>'source'
  FROM (SELECT array_agg(jsonb_build_object('a', $n, 'b', k, 'm', 'batch')) a
          FROM generate_series(1, 5) k) s,
       LATERAL unnest(a, ai_scale.predict_batch('month_lin', a)) u(i, p);
};
    $node->safe_psql('postgres', $sql);
    is($node->safe_psql('postgres',
        "SELECT string_agg(DISTINCT source, ',') FROM seen WHERE day = '$day'"), 'cpu',
        "$day: the day's fresh inputs were scored");

    # Every prediction made on a day still kept is stored exactly once (async ones once the
    # store worker wrote them), in its own day's partition; none in the default.
    my $check = qq{
SELECT count(*) FROM seen s
 WHERE s.source = 'cpu' AND s.day >= date '$day' - 7
   AND (SELECT count(*) FROM public.model_predictions m
         WHERE m.input_data = s.input AND m.model_version = s.version
           AND m.tableoid = (SELECT partition FROM ai_scale.partitions('public.model_predictions')
                              WHERE left(lower, 10)::date = s.day)) <> 1};
    ok($node->poll_query_until('postgres', $check, '0'),
        "$day: every prediction of the last 8 days stored once, in its day's partition");
    is($node->safe_psql('postgres', 'SELECT count(*) FROM public.model_predictions_default'),
        '0', "$day: no row in the default partition");
    is($node->safe_psql('postgres', qq{
SELECT count(*) FROM public.model_predictions
 WHERE created_at < (date '$day' - 7)::timestamptz}), '0',
        "$day: no row older than the oldest partition kept") unless $mode eq 'tier';

    # Within the day, a second predict() of today's input is a cache hit (L1), not stored again.
    is($node->safe_psql('postgres', qq{
SELECT p->>'source' FROM ai_scale.predict('month_lin',
                                          jsonb_build_object('a', $n, 'b', 1, 'm', 'async')) p}),
        'l1', "$day: today's prediction is answered from L1");
    $l1_answers++;

    # Redis entries expire by the wall clock (the expiry written in the value): an input
    # predicted yesterday under a cache_ttl of 2 days is answered from Redis with L1 off; one of
    # 3 days ago is neither there nor (beyond cache_ttl) in the store, and is scored again. L1's
    # TTLs run on the monotonic clock, which a step does not move (docs/cache.md), so here the
    # L1 entry of yesterday's input still answers.
    if ($n >= 3) {
        is($node->safe_psql('postgres', qq{
SET ai_scale.cache_ttl = '2d';
SET ai_scale.store_mode = off;
CREATE TEMP TABLE ask AS SELECT * FROM (VALUES (1, 1, false), (2, 3, false), (3, 1, true)) v(k, d, l1);
SELECT string_agg(p->>'source', ',' ORDER BY k)
  FROM ask, LATERAL (SELECT set_config('ai_scale.cache_use_l1', l1::text, false),
                            jsonb_build_object('a', $n - d, 'b', 1, 'm', 'long') i) s,
       LATERAL ai_scale.predict('month_lin', i,
                                (SELECT version FROM seen WHERE input = i AND source = 'cpu')) p;
}), 'l2,cpu,l1', "$day: Redis answers within its 2 days, not after");
        $l1_answers++;
        $l2_answers++;
    }

    # L3, with L1 and Redis emptied and each input asked under the version that scored it: a
    # cache_ttl of 2 days finds yesterday's prediction in the store, not the one of three days
    # ago; a cache_ttl of 1 h finds neither. One of 10 days, longer than retention, finds the
    # prediction of 7 days ago and not the one of 9 days ago, gone with its partition (dropped
    # or detached); tiered, it is still there, in the cold tablespace.
    my $ask = sub {
        my ($ttl, @days) = @_;
        my $values = join(', ', map { "($_)" } @days);
        my $got = (split /\n/, $node->safe_psql('postgres', qq{
SELECT ai_scale.cache_invalidate('month_lin') IS NULL;
SET ai_scale.cache_ttl = '$ttl';
SET ai_scale.store_mode = off;
SELECT string_agg(p->>'source', ',' ORDER BY d)
  FROM (VALUES $values) v(d),
       LATERAL (SELECT jsonb_build_object('a', $n - d, 'b', 1, 'm', 'sync') i) s,
       LATERAL ai_scale.predict('month_lin', i,
                                (SELECT version FROM seen WHERE input = i AND source = 'cpu')) p;
SELECT ai_scale.cache_invalidate('month_lin') IS NULL;}))[1];
        $l3_answers += () = $got =~ /l3/g;
        return $got;
    };
    if ($n >= 3) {
        is($ask->('2d', 1, 3), "l3,cpu", "$day: L3 answers within a cache_ttl of 2 days");
        is($ask->('1h', 1), "cpu", "$day: and not beyond a cache_ttl of 1 hour");
    }
    if ($n >= 9) {
        is($ask->('10d', 7, 9), $n <= 20 ? "l3,cpu"
            : "l3,l3", "$day: L3 answers for a day kept, not for a removed day");
    }

    # Filled now, after the invalidations above, for the check of L1 and Redis expiry.
    $node->safe_psql('postgres', qq{
SET ai_scale.cache_ttl = '2d';
INSERT INTO seen SELECT i, date '$day', (p->>'version')::int, 'long', p->>'source'
  FROM (SELECT jsonb_build_object('a', $n, 'b', 1, 'm', 'long') i) s,
       LATERAL ai_scale.predict('month_lin', i) p;});

    # Every fifth day the model is registered again: a new version, scored afresh.
    if ($n % 5 == 0) {
        $node->safe_psql('postgres', qq{
SELECT ai_scale.register_model('month_lin', 'linear', ARRAY['a', 'b'],
                               jsonb_build_object('weights', jsonb_build_array(1, $n)))});
    }

    # Just before the next local midnight, a full pass of the worker later, retention has not
    # moved yet: around the fall-back change (23- and 25-hour days behind now() - retention)
    # and on the last day of each mode.
    if ($n % 10 == 9 || grep { $day eq $_ } qw(2026-10-31 2026-11-01 2026-11-07 2026-11-08)) {
        set_clock("$day 23:59:50");
        maintenance_runs_reach($node, maintenance_runs($node) + 2)
          or die 'the worker made no pass';
        is($node->safe_psql('postgres', $parts_sql), $want,
            "$day 23:59:50: the same partitions, a pass later");
    }

    my $log = slurp_file($node->logfile, $log_offset);
    $log_offset = -s $node->logfile;
    my @bad = grep { /\b(WARNING|ERROR|FATAL|PANIC):/ } split /\n/, $log;
    is(join("\n", @bad), '', "$day: no WARNING or ERROR in the server log");
}

# The counters agree with what was done: the hits of each level are the answers seen from it;
# maintenance made 55 actions (the 4 partitions of the first day, one more each of the 29
# days after, 2 days dropped, 10 detached, 10 moved to the cold tablespace) and no error.
is($node->safe_psql('postgres', q{
SELECT string_agg(section || '/' || metric || '=' || value, ' ' ORDER BY section, metric)
  FROM ai_scale.stats
 WHERE (section, metric) IN (('l1', 'hits'), ('l2', 'hits'), ('l3', 'hits'),
                             ('maintenance', 'actions'), ('maintenance', 'errors'))}),
    "l1/hits=$l1_answers l2/hits=$l2_answers l3/hits=$l3_answers maintenance/actions=55 "
      . 'maintenance/errors=0',
    'the stats count the hits seen, the actions made and no maintenance error');
is($node->safe_psql('postgres', q{
SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
 WHERE relname LIKE 'model_predictions%' AND relkind = 'r' AND NOT relispartition}),
    join(' ', map { "model_predictions_202610$_" } 24 .. 31)
      . ' model_predictions_20261101 model_predictions_20261102',
    'the 10 days detached are plain tables');

$node->stop;
done_testing();
