#!/usr/bin/env bash
# Cache benchmark, side by side in one run: pgbench (2 clients, prepared) against the cache
# functions and plain SQL, and redis-benchmark against the same Redis, then the ratios the
# targets in docs/cache.md are stated in. Starts its own Postgres and Redis on free ports
# (scripts/lib/bench.sh; the Redis as primary only, so both sides talk to the same server) and
# stops them on exit.
# Usage: bash bench/cache/run.sh [seconds per run, default 10]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source scripts/lib/bench.sh
bench_hold_lock "$root/bench/cache/run.sh" "$@"
require_current_install
export PATH="$PG_BIN:$PATH"
secs=${1:-10}

trap bench_stop EXIT
bench_servers_start cache "ai_scale.redis_read_from = 'primary'"

psql_() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE EXTENSION ai_scale" -c "
CREATE TABLE kv (id int PRIMARY KEY, v jsonb);
INSERT INTO kv SELECT i, jsonb_build_object('blob', repeat('x', 1000)) FROM generate_series(1, 1000) i;
CREATE TABLE kv_array (id int PRIMARY KEY, a jsonb[]);
INSERT INTO kv_array SELECT 1, array_agg(v ORDER BY id) FROM kv WHERE id <= 100;
ALTER TABLE kv_array ALTER a SET STORAGE MAIN;
SELECT ai_scale.cache_put('bench', 1, jsonb_build_object('id', i),
                          jsonb_build_object('blob', repeat('x', 1000)))
FROM generate_series(1, 1000) i;
SELECT ai_scale.cache_put('bench_small', 1, '{\"id\": 7}', '{\"score\": 0.7311}');" >/dev/null

scripts=$work/scripts
mkdir -p "$scripts"
echo 'SELECT 1;' >"$scripts/select1.sql"
printf '%s\n' '\set id random(1, 1000)' 'SELECT v FROM kv WHERE id = :id;' >"$scripts/pk.sql"
echo "SELECT ai_scale.cache_get('bench', 1, '{\"id\": 7}');" >"$scripts/get.sql"
# A typical prediction output is small: one score.
echo "SELECT ai_scale.cache_get('bench_small', 1, '{\"id\": 7}');" >"$scripts/get_small.sql"
arr=$(seq 1 100 | sed 's/.*/"{\\"id\\": &}"/' | paste -sd, -)
echo "SELECT ai_scale.cache_get_many('bench', 1, '{$arr}'::jsonb[]);" >"$scripts/many.sql"
# The same batch received as rows: each value is sent as jsonb text once, without array_out
# quoting it a second time inside a 100 kB array literal.
echo "SELECT t.ord, t.output FROM unnest(ai_scale.cache_get_many('bench', 1, '{$arr}'::jsonb[]))
      WITH ORDINALITY AS t(output, ord);" >"$scripts/many_rows.sql"
# What Postgres itself takes to send the same 100 values, read from a table instead of a cache:
# as 100 rows (the floor of the rows form) and as one stored jsonb[] (the floor of the array).
echo 'SELECT id, v FROM kv WHERE id <= 100;' >"$scripts/floor_rows.sql"
echo 'SELECT a FROM kv_array WHERE id = 1;' >"$scripts/floor_array.sql"
# The same lookups without sending the 1 kB values to the client (no jsonb_out, no wire): what
# the cache itself costs.
echo "SELECT ai_scale.cache_get('bench', 1, '{\"id\": 7}') IS NOT NULL;" >"$scripts/get_nosend.sql"
echo "SELECT cardinality(ai_scale.cache_get_many('bench', 1, '{$arr}'::jsonb[]));" >"$scripts/many_nosend.sql"

tps() { # pgbench script [PGOPTIONS] [clients, default 2]
    local out
    if ! out=$(PGOPTIONS=${2:-} pgbench -n -M prepared -c "${3:-2}" -j 2 -T "$secs" -h 127.0.0.1 \
        -p "$pg_port" -U postgres -f "$scripts/$1" postgres 2>&1); then
        echo "pgbench failed ($1, ${2:-no options}):" >&2
        echo "$out" | tail -5 >&2
        exit 1
    fi
    out=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    [ -n "$out" ] || { echo "pgbench printed no tps ($1)" >&2; exit 1; }
    echo "$out"
}
rps() { # redis-benchmark GET of 1 kB values, pipeline depth $1, [clients, default 2]
    local out
    out=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -c "${2:-2}" -n $((secs * 40000 * $1)) -d 1024 \
        -r 1000 -P "$1" -t set,get --csv 2>/dev/null | sed -n 's/^"GET","\([0-9.]*\)".*/\1/p')
    [ -n "$out" ] || { echo "redis-benchmark printed no GET rate (-P $1, ${2:-2} clients)" >&2; exit 1; }
    echo "$out"
}
# Lookups by level since the last reset_stats(): l1 hits, l1 misses, l2 hits, l2 misses, l2
# errors, l3 hits, l3 misses, breaker trips.
levels() {
    psql_ -At -c "SELECT string_agg(coalesce((SELECT value::text FROM ai_scale.stats s WHERE s.section = w.section
                                                  AND s.metric = w.metric), '?'), ' ' ORDER BY w.n)
                    FROM (VALUES (1, 'l1', 'hits'), (2, 'l1', 'misses'), (3, 'l2', 'hits'), (4, 'l2', 'misses'),
                                 (5, 'l2', 'errors'), (6, 'l3', 'hits'), (7, 'l3', 'misses'),
                                 (8, 'l2', 'breaker_trips')) w(n, section, metric)"
}

# Make sure each level is what answers before timing it.
psql_ -At -c "SELECT ai_scale.reset_stats()" -c "SELECT ai_scale.cache_get('bench', 1, '{\"id\": 7}') IS NOT NULL" \
    -c "SELECT value FROM ai_scale.stats WHERE section = 'l1' AND metric = 'hits'" | tr '\n' ' '
echo "(L1 answers)"
psql_ -At -c "SELECT ai_scale.reset_stats()" -c "SET ai_scale.cache_use_l1 = off" \
    -c "SELECT ai_scale.cache_get('bench', 1, '{\"id\": 7}') IS NOT NULL" \
    -c "SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'hits'" | tr '\n' ' '
echo "(L2 answers with L1 off)"
# Every lookup of the rounds below is to be answered by the level its case names; checked after.
psql_ -c "SELECT ai_scale.reset_stats()" >/dev/null

# Three rounds, each running every case once in turn, and the median of the three: the machine
# is shared, so cases measured minutes apart would compare noise.
declare -A runs
cases=(select1 pk l1 l1_small l2 l2_nospin l2_spin l2_8 l2_nospin_8 l2_spin_8 many many_rows floor_rows floor_array l1_ns l2_ns many_ns many_l1_ns redis1 redis16 redis1_8)
# L2 cases: the default redis_spin_us (50), no polling at all, and a long poll.
nospin="-c ai_scale.cache_use_l1=off -c ai_scale.redis_spin_us=0"
spin="-c ai_scale.cache_use_l1=off -c ai_scale.redis_spin_us=300"
run_case() {
    case $1 in
    select1) tps select1.sql ;;
    pk) tps pk.sql ;;
    l1) tps get.sql ;;
    l1_small) tps get_small.sql ;;
    l2) tps get.sql "-c ai_scale.cache_use_l1=off" ;;
    l2_nospin) tps get.sql "$nospin" ;;
    l2_spin) tps get.sql "$spin" ;;
    l2_8) tps get.sql "-c ai_scale.cache_use_l1=off" 8 ;;
    l2_nospin_8) tps get.sql "$nospin" 8 ;;
    l2_spin_8) tps get.sql "$spin" 8 ;;
    many) tps many.sql "-c ai_scale.cache_use_l1=off" ;;
    many_rows) tps many_rows.sql "-c ai_scale.cache_use_l1=off" ;;
    floor_rows) tps floor_rows.sql ;;
    floor_array) tps floor_array.sql ;;
    l1_ns) tps get_nosend.sql ;;
    l2_ns) tps get_nosend.sql "-c ai_scale.cache_use_l1=off" ;;
    many_ns) tps many_nosend.sql "-c ai_scale.cache_use_l1=off" ;;
    many_l1_ns) tps many_nosend.sql ;;
    redis1) rps 1 ;;
    redis16) rps 16 ;;
    redis1_8) rps 1 8 ;;
    esac
}
for round in 1 2 3; do
    for c in "${cases[@]}"; do runs[$c]="${runs[$c]:-} $(run_case "$c")"; done
done
median() { printf '%s\n' $1 | sort -g | sed -n 2p; }
# An L1 case answered by Redis, or an L2 case by the store or not at all (a miss, an error, an
# open breaker), would time other work than its ratio names: then no ratios are printed.
read -r l1_hits l1_misses l2_hits l2_misses l2_errors l3_hits l3_misses trips <<<"$(levels)"
echo "lookups in the rounds: L1 $l1_hits hits, $l1_misses misses; L2 $l2_hits hits, $l2_misses misses," \
    "$l2_errors errors, $trips breaker trips; L3 $l3_hits hits, $l3_misses misses"
if [ "$l1_hits" = 0 ] || [ "$l2_hits" = 0 ] ||
    [ "$l1_misses $l2_misses $l2_errors $l3_hits $l3_misses $trips" != "0 0 0 0 0 0" ]; then
    echo "bench/cache: a case was not answered by the level it measures; no ratios" >&2
    exit 1
fi
for c in "${cases[@]}"; do declare "$c=$(median "${runs[$c]}")"; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "machine: $(nproc) cores, $(date -u +%F), ${secs}s per run, median of 3 rounds, 2 clients"
printf '%-44s %12s\n' "pgbench SELECT 1 (tps)" "$select1" \
    "pgbench PK lookup of 1 kB jsonb (tps)" "$pk" \
    "cache_get, L1 hit (tps)" "$l1" \
    "cache_get, L1 hit, small output (tps)" "$l1_small" \
    "cache_get, L2 hit, L1 off (tps)" "$l2" \
    "cache_get, L2 hit, redis_spin_us = 0 (tps)" "$l2_nospin" \
    "cache_get, L2 hit, redis_spin_us = 300 (tps)" "$l2_spin" \
    "cache_get, L2 hit, 8 clients (tps)" "$l2_8" \
    "cache_get, L2 hit, 8 clients, spin 0 (tps)" "$l2_nospin_8" \
    "cache_get, L2 hit, 8 clients, spin 300 (tps)" "$l2_spin_8" \
    "cache_get_many 100 keys, L2, L1 off (keys/s)" "$(awk -v t="$many" 'BEGIN { printf "%.0f", t * 100 }')" \
    "the same, unnest()ed into rows (keys/s)" "$(awk -v t="$many_rows" 'BEGIN { printf "%.0f", t * 100 }')" \
    "floor: the 100 as rows of a table (keys/s)" "$(awk -v t="$floor_rows" 'BEGIN { printf "%.0f", t * 100 }')" \
    "floor: the 100 as a stored jsonb[] (keys/s)" "$(awk -v t="$floor_array" 'BEGIN { printf "%.0f", t * 100 }')" \
    "cache_get, L1 hit, value not sent (tps)" "$l1_ns" \
    "cache_get, L2 hit, value not sent (tps)" "$l2_ns" \
    "cache_get_many 100, L2, not sent (keys/s)" "$(awk -v t="$many_ns" 'BEGIN { printf "%.0f", t * 100 }')" \
    "cache_get_many 100, L1, not sent (keys/s)" "$(awk -v t="$many_l1_ns" 'BEGIN { printf "%.0f", t * 100 }')" \
    "redis-benchmark GET 1 kB (rps)" "$redis1" \
    "redis-benchmark GET 1 kB, -P 16 (rps)" "$redis16" \
    "redis-benchmark GET 1 kB, 8 clients (rps)" "$redis1_8"
echo "ratio L1 hit / SELECT 1:                $(ratio "$l1" "$select1")  (target >= 0.9)"
echo "ratio L1 hit, small output / SELECT 1:  $(ratio "$l1_small" "$select1")"
echo "ratio L2 hit / redis-benchmark GET:     $(ratio "$l2" "$redis1")  (target >= 0.8)"
echo "  redis_spin_us = 0 / 300:              $(ratio "$l2_nospin" "$redis1") / $(ratio "$l2_spin" "$redis1")"
# An L2 hit is a client round trip and then a Redis round trip, one after the other: at the
# latencies SELECT 1 and redis-benchmark show, that alone gives this rate (polling for the reply
# saves a wake-up and can beat it).
serial=$(awk -v a="$select1" -v b="$redis1" 'BEGIN { print 1 / (1 / a + 1 / b) }')
echo "  both round trips in series, 1/(1/SELECT 1 + 1/GET): $(ratio "$serial" "$redis1")"
echo "  8 clients, default / 0 / 300:         $(ratio "$l2_8" "$redis1_8") / $(ratio "$l2_nospin_8" "$redis1_8") / $(ratio "$l2_spin_8" "$redis1_8")"
echo "ratio get_many keys/s / redis -P 16:    $(ratio "$(awk -v t="$many" 'BEGIN { print t * 100 }')" "$redis16")  (target >= 0.7)"
echo "  received as rows (unnest):            $(ratio "$(awk -v t="$many_rows" 'BEGIN { print t * 100 }')" "$redis16")"
echo "  floor (from a table), rows / array:   $(ratio "$(awk -v t="$floor_rows" 'BEGIN { print t * 100 }')" "$redis16") / $(ratio "$(awk -v t="$floor_array" 'BEGIN { print t * 100 }')" "$redis16")"
echo "values not sent to the client:"
echo "ratio L1 hit / SELECT 1:                $(ratio "$l1_ns" "$select1")"
echo "ratio L2 hit / redis-benchmark GET:     $(ratio "$l2_ns" "$redis1")"
echo "ratio get_many keys/s / redis -P 16:    $(ratio "$(awk -v t="$many_ns" 'BEGIN { print t * 100 }')" "$redis16")"
echo "like for like (both send 1 kB jsonb):"
echo "ratio L1 hit / PK lookup:               $(ratio "$l1" "$pk")"
