#!/usr/bin/env bash
# Partition management, ai_scale vs pg_partman 4.7.2 (Debian's postgresql-15-partman), side by
# side on one server started here (on a free port, scripts/lib/bench.sh; stopped on exit). Prints
# each figure and the ratio pg_partman / ai_scale.
# Usage: bash bench/partition/run.sh [--durable]
# The server runs with fsync, synchronous_commit and full_page_writes off (scripts/lib/bench.sh),
# which leaves the CPU's work; --durable turns them on, as a production server has them, so that
# the figures include each index build's fsync and each commit's WAL flush.
# Needs ai_scale built and installed into $PG_CONFIG's tree (bash scripts/setup.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=../../scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_hold_lock "$root/bench/partition/run.sh" "$@"
require_current_install

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ "$(dpkg-query -W -f='${Status}' postgresql-15-partman 2>/dev/null)" != "install ok installed" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql-15-partman
fi
# A private Postgres copy (scripts/private_pg.sh) made before pg_partman was installed lacks it.
sharedir=$("$PG_CONFIG" --sharedir)
if [ ! -f "$sharedir/extension/pg_partman.control" ]; then
    as_root cp /usr/share/postgresql/15/extension/pg_partman* "$sharedir/extension/"
fi

trap bench_stop EXIT
bench_work bench_partition
if [ "${1:-}" = --durable ]; then
    bench_pg_start 'fsync = on' 'synchronous_commit = on' 'full_page_writes = on'
else
    bench_pg_start
fi
psqlb() { "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# Setup statements: their output is not part of the report.
run() { psqlb "$@" >/dev/null; }

psqlb <<'SQL'
CREATE EXTENSION ai_scale;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
-- Milliseconds one statement takes, measured on the server.
CREATE FUNCTION ms(stmt text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE stmt;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
-- The minor page faults this backend has taken so far (from /proc: Linux).
CREATE FUNCTION faults() RETURNS bigint LANGUAGE sql AS $$
    SELECT split_part(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ', 8)::bigint
$$;
-- ms(stmt), and the page faults its backend took meanwhile, as "ms faults".
CREATE FUNCTION ms_faults(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    f0 bigint;
    t float8;
BEGIN
    f0 := faults();
    t := ms(stmt);
    RETURN round(t::numeric, 1) || ' ' || faults() - f0;
END $$;
-- The seed table, as a user would type it, for either tool.
CREATE FUNCTION seed(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
        model_name text NOT NULL, model_version int NOT NULL, input_data jsonb, output_data jsonb,
        input_hash bigint, created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (prediction_id, created_at)) PARTITION BY RANGE (created_at)', name);
    EXECUTE format('CREATE INDEX ON %I (model_name, model_version, input_hash, created_at)', name);
END $$;
SQL
m() { psqlb -c "SELECT round(ms(\$q\$$1\$q\$)::numeric, 1)"; }
# Milliseconds of a CALL of a procedure that commits (ms() cannot run one), as psql times it.
mc() {
    psqlb -c 'SET client_min_messages = warning' -c '\timing on' -c "$1" |
        sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{ printf "%.1f", $1 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'; }
report() { printf '%-52s pg_partman %9s ms   ai_scale %8s ms   ratio %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
# A side that did not do the work it is timed for gets no ratio: the bench stops instead.
check() { # what, then a test command
    local what=$1
    shift
    "$@" || { echo "bench/partition: $what" >&2; exit 1; }
}

# 1. A year of daily partitions, today's and 365 ahead (366 each, plus a default): each tool
# five times on fresh tables, in turn, and the median (the machine is shared; one run of each
# would compare noise). pg_partman's create_parent also makes premake partitions before today
# unless p_start_partition says where to start: without it, it would make 731.
pms=() ais=() bares=()
for round in 1 2 3 4 5; do
    run -c "SELECT seed('y${round}_pm'), seed('y${round}_ai'), seed('y${round}_sql')"
    pms+=("$(m "SELECT partman.create_parent('public.y${round}_pm', 'created_at', 'native', 'daily', p_premake := 365,
                                             p_start_partition := now()::date::text)")")
    ais+=("$(m "SELECT ai_scale.manage_partitions('public.y${round}_ai', '1 day', 365)")")
    # The floor: the same 366 partitions and a default, by a bare loop of CREATE TABLE ...
    # PARTITION OF (what Postgres itself takes, with no tool around it).
    bares+=("$(m "DO \$d\$ DECLARE d date; BEGIN
        CREATE TABLE y${round}_sql_default PARTITION OF y${round}_sql DEFAULT;
        FOR d IN SELECT current_date + i FROM generate_series(0, 365) i LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF y${round}_sql FOR VALUES FROM (%L) TO (%L)',
                           'y${round}_sql_' || to_char(d, 'YYYYMMDD'),
                           d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP; END \$d\$")")
    kids_pm=$(psqlb -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'y${round}_pm'::regclass")
    kids_ai=$(psqlb -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'y${round}_ai'::regclass")
    check "pg_partman made $kids_pm children for the year (367 expected)" [ "$kids_pm" -eq 367 ]
    check "ai_scale made $kids_ai children for the year (367 expected)" [ "$kids_ai" -eq 367 ]
    # Every round, and the later measurements, start from the same catalog size.
    run -c "DROP TABLE y${round}_pm" -c "DROP TABLE y${round}_ai" -c "DROP TABLE y${round}_sql" \
        -c "DELETE FROM partman.part_config WHERE parent_table = 'public.y${round}_pm'"
done
report "create a year of daily partitions, $kids_pm / $kids_ai children" "$(median "${pms[@]}")" "$(median "${ais[@]}")"
printf '%-52s %s ms\n' "  (bare CREATE TABLE ... PARTITION OF loop, same)" "$(median "${bares[@]}")"

# 2. No-op maintenance at N children (warm, mean of 5 runs), and 3. adding one child at 1000.
# Both tables get the same children: the n - 5 days before today, today and 4 ahead, premake 4
# (ai_scale adopts partitions made by hand; pg_partman makes its own). pg_partman makes
# partitions ahead of now() only with infinite_time_partitions on (by default it goes by the
# newest row, and these tables are empty): on, as ai_scale always does.
for n in 100 1000; do
    run -c "SELECT seed('n${n}_pm'), seed('n${n}_ai')"
    run -c "SELECT partman.create_parent('public.n${n}_pm', 'created_at', 'native', 'daily',
                  p_premake := 4, p_start_partition := (now() - interval '$((n - 5)) days')::date::text)"
    run -c "UPDATE partman.part_config SET infinite_time_partitions = true WHERE parent_table = 'public.n${n}_pm'"
    run -c "DO \$d\$ DECLARE d date; BEGIN
              FOR d IN SELECT current_date + i FROM generate_series(-$((n - 5)), 4) i LOOP
                  EXECUTE format('CREATE TABLE %I PARTITION OF n${n}_ai FOR VALUES FROM (%L) TO (%L)',
                                 'n${n}_ai_' || to_char(d, 'YYYYMMDD'),
                                 d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
              END LOOP; END \$d\$"
    run -c "SELECT count(*) FROM ai_scale.manage_partitions('public.n${n}_ai', '1 day', 4, time_zone => 'UTC')"
    run -c "SELECT partman.run_maintenance('public.n${n}_pm'); SELECT ai_scale.run_maintenance('n${n}_ai')" >/dev/null
    # Six runs in one session and the mean of the last five: the first pays for reading the
    # table's partitions into this backend's caches, which a maintenance worker, a long-lived
    # session, pays once.
    pm=$(psqlb -c "SELECT round((avg(t) FILTER (WHERE g > 1))::numeric, 2) FROM (SELECT g,
                   ms(\$q\$SELECT partman.run_maintenance('public.n${n}_pm')\$q\$) AS t FROM generate_series(1, 6) g) r")
    ai=$(psqlb -c "SELECT round((avg(t) FILTER (WHERE g > 1))::numeric, 2) FROM (SELECT g,
                   ms(\$q\$SELECT count(*) FROM ai_scale.run_maintenance('n${n}_ai')\$q\$) AS t FROM generate_series(1, 6) g) r")
    kids_pm=$(psqlb -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'n${n}_pm'::regclass")
    kids_ai=$(psqlb -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'n${n}_ai'::regclass")
    report "no-op maintenance, $kids_pm / $kids_ai children" "$pm" "$ai"
done
# 3. Adding one child at 1000: premake 4 -> 5 -> ... -> 19, after a run with nothing to do, a
# partition to add, fifteen times in one session, each timed. A maintenance worker is a long-lived
# session, which has compiled the functions that make a partition (each tool's plpgsql) and
# planned their statements before. Postgres plans a statement afresh at each of its first five
# runs in a session, and at the sixth plans it once more to decide whether to keep a generic
# plan: the second add (the third run) pays for planning, and the median of the seventh to the
# fifteenth is what a worker pays from then on.
# Which figure a session settles at is the session's, not the SQL's. The VM's speed moves by up
# to 1.7x from one minute to the next, for every side alike. And each add makes Postgres build
# the table's partition descriptor again, parsing every partition's bound into memory freed at
# the end of the statement (1.7 MB at 1000 partitions): glibc gives that memory back to the
# system when it lies at the top of the heap, or keeps it, by what else that backend allocated
# before, and taking it back costs 400 page faults an add, each a fresh page from a VM's host
# (5-8 ms an add on the development VM; some of ai_scale's sessions before the 60th, none of the
# others': ai_scale now raises glibc's thresholds, src/pg/kept_heap.hpp). So
# each tool (and the bare statements) gets five sessions, in turn, each from the same 1000
# children (the partitions a session made are dropped after it), and the figures are the
# medians over the sessions; each session's figure is printed with the page faults of its adds
# (median of the seventh to the fifteenth: about 12 an add, or 400 where glibc gave it back).
adds=15 sessions=5
run -c "CREATE TABLE kids_before AS SELECT inhrelid FROM pg_inherits
          WHERE inhparent IN ('n1000_pm'::regclass, 'n1000_ai'::regclass)"
# A child made by hand as ai_scale makes it (built, then attached, so that writes into the other
# partitions go on): the floor, timed the same way in a session warmed the same way.
bare_add() { # $1 day of January 2100
    local from to
    from=$(printf '2100-01-%02d' "$1")
    to=$(printf '2100-01-%02d' $(($1 + 1)))
    echo "CREATE TABLE n1000_ai_bare$1 (LIKE n1000_ai INCLUDING ALL);
          ALTER TABLE n1000_ai ATTACH PARTITION n1000_ai_bare$1
            FOR VALUES FROM ('$from 00:00+00') TO ('$to 00:00+00')"
}
declare -A second steady faults
# One session of $adds adds, each timed, for $1 (pm, ai or bare); the partitions it made are
# dropped after it.
add_session() {
    local side=$1 table=n1000_ai first="SELECT count(*) FROM ai_scale.run_maintenance('n1000_ai')"
    local before="" reset="" args i out ms fl kids added
    case $side in
    pm) table=n1000_pm first="SELECT partman.run_maintenance('public.n1000_pm')"
        before="UPDATE partman.part_config SET premake = premake + 1 WHERE parent_table = 'public.n1000_pm'"
        reset="UPDATE partman.part_config SET premake = 4 WHERE parent_table = 'public.n1000_pm'" ;;
    ai) before="UPDATE ai_scale.partition_config SET premake = premake + 1 WHERE parent = 'n1000_ai'::regclass"
        reset="UPDATE ai_scale.partition_config SET premake = 4 WHERE parent = 'n1000_ai'::regclass" ;;
    esac
    args=(-c "$first")
    for ((i = 1; i <= adds; i++)); do
        [ -z "$before" ] || args+=(-c "$before")
        if [ "$side" = bare ]; then
            args+=(-c "SELECT ms_faults(\$q\$$(bare_add "$i")\$q\$)")
        else
            args+=(-c "SELECT ms_faults(\$q\$$first\$q\$)")
        fi
    done
    out=$(psqlb "${args[@]}" | tail -n "$adds")
    mapfile -t ms < <(awk '{ print $1 }' <<<"$out")
    mapfile -t fl < <(awk '{ print $2 }' <<<"$out")
    kids=$(psqlb -c "SELECT count(*) FROM kids_before k JOIN pg_inherits i USING (inhrelid)
                     WHERE i.inhparent = '$table'::regclass")
    added=$(($(psqlb -c "SELECT count(*) FROM pg_inherits WHERE inhparent = '$table'::regclass") - kids))
    check "$side added $added children in a session of $adds adds ($adds expected)" \
          [ "$added" -eq "$adds" ]
    check "$side's $adds adds were timed" [ "${#ms[@]}" -eq "$adds" -a "${#fl[@]}" -eq "$adds" ]
    second[$side]+=" ${ms[1]}"
    steady[$side]+=" $(median "${ms[@]:6}")"
    faults[$side]+=" $(median "${fl[@]:6}")"
    run -c "DO \$d\$ DECLARE r regclass; BEGIN
              FOR r IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = '$table'::regclass
                         AND inhrelid NOT IN (SELECT inhrelid FROM kids_before) LOOP
                  EXECUTE format('DROP TABLE %s', r);
              END LOOP; END \$d\$"
    [ -z "$reset" ] || run -c "$reset"
}
for ((s = 1; s <= sessions; s++)); do
    for side in pm ai bare; do add_session "$side"; done
done
# (unquoted: each list is the sessions' figures)
# shellcheck disable=SC2086
{
report "add one child at 1000 children, 2nd add" "$(median ${second[pm]})" "$(median ${second[ai]})"
report "add one child at 1000 children, 7th-15th (median)" "$(median ${steady[pm]})" "$(median ${steady[ai]})"
printf '%-52s %s / %s ms\n' "  (bare CREATE TABLE LIKE + ATTACH, same: 2nd / 7th-15th)" \
       "$(median ${second[bare]})" "$(median ${steady[bare]})"
}
printf '  (7th-15th add by session, ms: pg_partman%s; ai_scale%s; bare%s)\n' \
       "${steady[pm]}" "${steady[ai]}" "${steady[bare]}"
printf '  (page faults an add by session: pg_partman%s; ai_scale%s; bare%s)\n' \
       "${faults[pm]}" "${faults[ai]}" "${faults[bare]}"

# 4. Move 100k rows over 10 days out of the default partition: three rounds on fresh tables,
# each tool in turn, and the median. In one transaction (partition_data_time, rescue_default
# with a batch that takes everything), and one day per committed batch (the procedures).
# partition_data_time's default p_analyze := true runs ANALYZE on the whole partition set after
# each child it makes (ten here: a third to a half of its time), which rescue_default does not do, nor
# either procedure (partition_data_proc passes p_analyze := false): the ratio uses
# p_analyze := false, the same work on both sides; pg_partman's default is shown beside it.
pms=() ais=() sqls=() pps=() aps=() pas=() left=0
for round in 1 2 3; do
    pm=r${round}_pm ai=r${round}_ai sq=r${round}_sql pp=p${round}_pm ap=p${round}_ai pa=a${round}_pm
    run -c "SELECT seed('$pm'), seed('$ai'), seed('$sq'), seed('$pp'), seed('$ap'), seed('$pa')"
    run -c "SELECT partman.create_parent('public.$pm', 'created_at', 'native', 'daily', p_premake := 1)"
    run -c "SELECT partman.create_parent('public.$pp', 'created_at', 'native', 'daily', p_premake := 1)"
    run -c "SELECT partman.create_parent('public.$pa', 'created_at', 'native', 'daily', p_premake := 1)"
    run -c "SELECT count(*) FROM ai_scale.manage_partitions('$ai', '1 day', 1)"
    run -c "SELECT count(*) FROM ai_scale.manage_partitions('$ap', '1 day', 1)"
    run -c "CREATE TABLE ${sq}_default PARTITION OF $sq DEFAULT"
    for t in $pm $ai $sq $pp $ap $pa; do
        run -c "INSERT INTO $t (model_name, model_version, created_at)
                  SELECT 'm', 1, timestamptz '2025-01-01 00:00 UTC' + (i % 10) * interval '1 day' + i * interval '1 ms'
                    FROM generate_series(1, 100000) i"
    done
    run -c "VACUUM ANALYZE $pm, $ai, $sq, $pp, $ap, $pa"
    pms+=("$(m "SELECT partman.partition_data_time('public.$pm', p_batch_count := 20, p_analyze := false)")")
    ais+=("$(m "SELECT count(*) FROM ai_scale.rescue_default('$ai', 1000000)")")
    # The floor: one plain transaction per day, written by hand.
    sqls+=("$(m "DO \$d\$ DECLARE d date; BEGIN
        FOR d IN SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM ${sq}_default LOOP
            EXECUTE format('CREATE TABLE ${sq}_%s (LIKE $sq INCLUDING ALL)', to_char(d, 'YYYYMMDD'));
            EXECUTE format('WITH m AS (DELETE FROM ${sq}_default WHERE created_at >= %L AND created_at < %L RETURNING *) INSERT INTO ${sq}_%s SELECT * FROM m',
                           d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC', to_char(d, 'YYYYMMDD'));
            EXECUTE format('ALTER TABLE $sq ATTACH PARTITION ${sq}_%s FOR VALUES FROM (%L) TO (%L)', to_char(d, 'YYYYMMDD'),
                           d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP; END \$d\$")")
    pps+=("$(mc "CALL partman.partition_data_proc('public.$pp', p_wait := 0)")")
    aps+=("$(mc "CALL ai_scale.rescue_default_proc('$ap')")")
    pas+=("$(m "SELECT partman.partition_data_time('public.$pa', p_batch_count := 20)")")
    left=$((left + $(psqlb -c "SELECT (SELECT count(*) FROM ONLY ${pm}_default) + (SELECT count(*) FROM ONLY ${ai}_default)
                                    + (SELECT count(*) FROM ONLY ${pp}_default) + (SELECT count(*) FROM ONLY ${ap}_default)
                                    + (SELECT count(*) FROM ONLY ${pa}_default) + (SELECT count(*) FROM ONLY ${sq}_default)")))
done
check "$left rows were left in the default partitions after the moves" [ "$left" -eq 0 ]
report "move 100k default rows over 10 days ($left left)" "$(median "${pms[@]}")" "$(median "${ais[@]}")"
printf '%-52s %s ms\n' "  (pg_partman's default p_analyze := true, same move)" "$(median "${pas[@]}")"
printf '%-52s %s ms\n' "  (plain SQL, by hand, same move)" "$(median "${sqls[@]}")"
report "  the same, a committed batch per day (procedures)" "$(median "${pps[@]}")" "$(median "${aps[@]}")"

# A large default: 1M rows over 100 days, drained by the procedures (one round: about a minute).
run -c "SELECT seed('big_pm'), seed('big_ai')"
run -c "SELECT partman.create_parent('public.big_pm', 'created_at', 'native', 'daily', p_premake := 1)"
run -c "SELECT count(*) FROM ai_scale.manage_partitions('big_ai', '1 day', 1)"
for t in big_pm big_ai; do
    run -c "INSERT INTO $t (model_name, model_version, created_at)
              SELECT 'm', 1, timestamptz '2025-01-01 00:00 UTC' + (i % 100) * interval '1 day' + i * interval '1 ms'
                FROM generate_series(1, 1000000) i"
done
run -c "VACUUM ANALYZE big_pm, big_ai"
pm=$(mc "CALL partman.partition_data_proc('public.big_pm', p_wait := 0)")
ai=$(mc "CALL ai_scale.rescue_default_proc('big_ai')")
left=$(psqlb -c "SELECT (SELECT count(*) FROM ONLY big_pm_default) + (SELECT count(*) FROM ONLY big_ai_default)")
check "$left rows were left in the default partitions after the 1M-row drains" [ "$left" -eq 0 ]
report "  1M rows over 100 days, procedures ($left left)" "$pm" "$ai"
run -c "DROP TABLE big_pm, big_ai"

# 5. A 3 s open query, maintenance with retention due, then a new SELECT: how long it stalls.
# The SELECT is sent as soon as the maintenance waits for a lock (polled in pg_locks, which each
# call reads afresh), and timed on the server. Sent a fixed 0.3 s after the maintenance started,
# it came after ai_scale's run had given up its 50 ms wait (maintenance_lock_timeout) and
# measured no stall at all on that side, while pg_partman's DROP was still queued.
stall() { # $1 table, $2 maintenance statement
    run -c "BEGIN; SELECT count(*) FROM $1; SELECT pg_sleep(3); COMMIT;" &
    local reader=$!
    sleep 0.5
    # Connected and polling before the maintenance starts; fails if it never waits.
    psqlb -c "DO \$d\$ BEGIN
                  FOR i IN 1..2000 LOOP
                      IF EXISTS (SELECT FROM pg_locks WHERE NOT granted) THEN RETURN; END IF;
                      PERFORM pg_sleep(0.001);
                  END LOOP;
                  RAISE EXCEPTION 'the maintenance never waited for a lock: no stall to measure';
              END \$d\$" \
          -c "SELECT round(ms(\$q\$SELECT count(*) FROM $1\$q\$)::numeric, 1)" >"$work/stall" &
    local probe=$!
    sleep 0.3
    run -c "SET client_min_messages = warning" -c "$2" &
    local maint=$!
    # (set -e does not apply inside the $(...) this runs in.)
    if ! { wait "$probe" && wait "$reader" && wait "$maint"; }; then
        echo "bench/partition: the stall run failed" >&2
        exit 1
    fi
    cat "$work/stall"
}
for t in l_pm l_ai; do
    run -c "SELECT seed('$t')"
    # pg_partman finds its children by name, so the old one is named its way.
    run -c "CREATE TABLE ${t}_p2020_01_01 PARTITION OF $t FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')"
done
run -c "SELECT partman.create_parent('public.l_pm', 'created_at', 'native', 'daily', p_premake := 2)"
run -c "UPDATE partman.part_config SET retention = '30 days', retention_keep_table = false WHERE parent_table = 'public.l_pm'"
run -c "SELECT count(*) FROM ai_scale.manage_partitions('l_ai', '1 day', 2)"
run -c "UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'l_ai'::regclass"
pm=$(stall l_pm "SELECT partman.run_maintenance('public.l_pm')")
ai=$(stall l_ai "SELECT count(*) FROM ai_scale.run_maintenance('l_ai')")
report "new SELECT stalled by maintenance (3 s reader)" "$pm" "$ai"

# 6. Insert throughput, partitioned store vs the same table unpartitioned.
run -c "SELECT ai_scale.create_prediction_store('public.ins_part', '1 day', 2)" >/dev/null
run -c "CREATE TABLE ins_plain (LIKE ins_part INCLUDING ALL)"
ins() { psqlb -c "SELECT round(ms(\$q\$INSERT INTO $1 (model_name, model_version, input_data, input_hash)
        SELECT 'm', 1, jsonb_build_object('x', i), i FROM generate_series(1, 100000) i\$q\$)::numeric, 1)"; }
# Five rounds, the two tables in turn, and the best of each: both see the same moments.
plains=() parts=()
for round in 1 2 3 4 5; do
    plains+=("$(ins ins_plain)")
    parts+=("$(ins ins_part)")
done
plain=$(printf '%s\n' "${plains[@]}" | sort -g | head -n 1)
part=$(printf '%s\n' "${parts[@]}" | sort -g | head -n 1)
printf '%-52s plain %9s ms   partitioned %8s ms   throughput ratio %s\n' \
    "insert 100k rows (partitioned vs plain)" "$plain" "$part" "$(ratio "$plain" "$part")"
