#!/usr/bin/env bash
# Two builds of ai_scale side by side: the L1 hit through cache_get (1 kB value, small value,
# value not sent) and SELECT 1, on one server per build, pgbench 2 clients, prepared,
# alternating between the builds in each of three rounds. Prints new / old tps per case and
# round. For telling a change on the cache's hot path from the machine's drift, which moves
# bench/cache/run.sh's ratios by more than most changes do. Starts its own Redis and the two
# Postgres servers on free ports (scripts/lib/bench.sh, scripts/lib/services.sh) and stops them
# on exit.
# Install each build into its own PostgreSQL copy first (scripts/private_pg.sh), e.g.:
#   git worktree add /tmp/old <rev>; eval "$(bash scripts/private_pg.sh /tmp/pg-old)"
#   (cd /tmp/old && make -s -j2 && make -s install)
# Usage: bash bench/cache/compare_builds.sh OLD_PG_CONFIG NEW_PG_CONFIG [seconds per run, 5]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
old_config=${1:?usage: compare_builds.sh OLD_PG_CONFIG NEW_PG_CONFIG [seconds]}
new_config=${2:?usage: compare_builds.sh OLD_PG_CONFIG NEW_PG_CONFIG [seconds]}
secs=${3:-5}
source scripts/lib/bench.sh
bench_hold_lock "$root/bench/cache/compare_builds.sh" "$@"

declare -A port
# Each server with the PG_BIN of its own build (services.sh reads PG_CONFIG when sourced).
with_build() { # name command...
    local name=$1
    shift
    (
        if [ "$name" = old ]; then export PG_CONFIG=$old_config; else export PG_CONFIG=$new_config; fi
        source scripts/lib/services.sh
        "$@"
    )
}
# (bench_pg_start's single cluster is not enough here: one per build, each with its own PG_BIN.)
stop_all() {
    if [ -n "$work" ]; then
        for b in old new; do with_build "$b" pg_stop "$work/$b" 2>/dev/null || true; done
    fi
    bench_stop
}
trap stop_all EXIT

bench_work compare
bench_redis_start
for b in old new; do
    port[$b]=$(free_port)
    with_build "$b" pg_init "$work/$b" "${port[$b]}" yes
    with_build "$b" pg_conf "$work/$b" "ai_scale.redis_primary = '127.0.0.1:$redis_port'"
    with_build "$b" pg_conf "$work/$b" "ai_scale.redis_read_from = 'primary'"
    with_build "$b" pg_start "$work/$b"
    "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "${port[$b]}" -U postgres -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION ai_scale" \
        -c "SELECT ai_scale.cache_put('bench', 1, '{\"id\": 7}',
                                      jsonb_build_object('blob', repeat('x', 1000)))" \
        -c "SELECT ai_scale.cache_put('bench_small', 1, '{\"id\": 7}', '{\"score\": 0.7311}')" \
        >/dev/null
done

echo 'SELECT 1;' >"$work/select1.sql"
echo "SELECT ai_scale.cache_get('bench', 1, '{\"id\": 7}');" >"$work/l1.sql"
echo "SELECT ai_scale.cache_get('bench_small', 1, '{\"id\": 7}');" >"$work/l1_small.sql"
echo "SELECT ai_scale.cache_get('bench', 1, '{\"id\": 7}') IS NOT NULL;" >"$work/l1_not_sent.sql"
tps() { # port script
    "$PG_BIN/pgbench" -n -M prepared -c 2 -j 2 -T "$secs" -h 127.0.0.1 -p "$1" -U postgres \
        -f "$work/$2.sql" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
echo "machine: $(nproc) cores, $(date -u +%F), ${secs}s per run, pgbench 2 clients"
printf '%-6s %-12s %12s %12s %8s\n' round case old new new/old
for round in 1 2 3; do
    for c in select1 l1 l1_small l1_not_sent; do
        o=$(tps "${port[old]}" "$c")
        n=$(tps "${port[new]}" "$c")
        printf '%-6s %-12s %12.0f %12.0f %8.3f\n' "$round" "$c" "$o" "$n" \
            "$(awk -v a="$n" -v b="$o" 'BEGIN { print a / b }')"
    done
done
