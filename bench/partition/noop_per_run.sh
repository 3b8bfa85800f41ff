#!/usr/bin/env bash
# A no-op run_maintenance timed run by run, at 100 and 1000 children, in a fresh database.
# run.sh reports the mean of runs 2 to 6 of a session, which still plan each statement afresh;
# a maintenance worker, running the same statements every minute, pays what the later runs
# print here. Starts its own Postgres on a free port (scripts/lib/bench.sh) and stops it on exit.
# Usage: bash bench/partition/noop_per_run.sh [sessions, default 3]
# Needs ai_scale built and installed into $PG_CONFIG's tree (bash scripts/setup.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=../../scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_hold_lock "$root/bench/partition/noop_per_run.sh" "$@"
require_current_install
sessions=${1:-3}

trap bench_stop EXIT
bench_work bench_noop
bench_pg_start
psqlb() { "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

psqlb >/dev/null <<'SQL'
CREATE EXTENSION ai_scale;
-- Milliseconds one statement takes, measured on the server.
CREATE FUNCTION ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t) * 1000;
END $$;
SQL
for n in 100 1000; do
    # The seed's table, with n - 5 days before today, today and 4 ahead (premake 4): nothing
    # for maintenance to do.
    psqlb >/dev/null <<SQL
CREATE TABLE n$n (prediction_id uuid, model_version int, input_data jsonb, output_data jsonb,
                  created_at timestamptz NOT NULL, model_name text, input_hash bigint,
                  PRIMARY KEY (prediction_id, created_at)) PARTITION BY RANGE (created_at);
CREATE INDEX ON n$n (model_name, model_version, input_hash, created_at);
DO \$d\$ DECLARE d date; BEGIN
    FOR d IN SELECT current_date + i FROM generate_series(-$((n - 5)), 4) i LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF n$n FOR VALUES FROM (%L) TO (%L)',
                       'n${n}_' || to_char(d, 'YYYYMMDD'),
                       d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END \$d\$;
SELECT count(*) FROM ai_scale.manage_partitions('public.n$n', '1 day', 4, time_zone => 'UTC');
SQL
    for s in $(seq 1 "$sessions"); do
        runs=$(psqlb -c "SELECT string_agg(round(ms(\$q\$SELECT count(*) FROM ai_scale.run_maintenance('n$n')\$q\$)::numeric, 2)::text, ' ')
                         FROM generate_series(1, 12)")
        printf 'no-op, %4d children, session %d, runs 1-12 (ms): %s\n' "$((n + 1))" "$s" "$runs"
    done
done
