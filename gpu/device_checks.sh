#!/usr/bin/env bash
# The GPU checks in one run on a bare GPU machine that has the CUDA toolkit but no Postgres:
# unpacks the Postgres 15 that gpu/pack_postgres.sh packed here (with this tree's ai_scale.so and
# ai_scale_gpu.so installed in it, and the shared libraries it needs) into /tmp/ai_scale_pg,
# makes the postgres user if missing, then runs gpu/check.sh, gpu/check_sql.sh and
# gpu/check_failures.sh.
# Usage: bash gpu/device_checks.sh [ROWS for the SQL checks] [check.sh arguments...]
# Exit status: 0 all passed, else the first failing check's status (in that order).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
rows=${1:-1000000}
shift || true
pack=.pgcarry/pg.tar.xz
prefix=/tmp/ai_scale_pg
[ -f "$pack" ] || { echo "no $pack: run gpu/pack_postgres.sh first and carry .pgcarry" >&2; exit 2; }
rm -rf "$prefix" && mkdir -p "$prefix" && tar -xJf "$pack" -C "$prefix" && chmod -R a+rX "$prefix" || exit 1
# The carried libraries are the ones the programs were built against; only Postgres's processes
# see them (LD_LIBRARY_PATH below), not the CUDA build of gpu/check.sh.
id postgres >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /tmp postgres || exit 1

# AI_SCALE_GPU_CHECKS picks the checks, in this order (default all three).
checks=${AI_SCALE_GPU_CHECKS:-check check_sql check_failures}
status=0
for name in $checks; do
    case $name in
    check) bash gpu/check.sh "$@" ;;
    check_sql | check_failures)
        LD_LIBRARY_PATH=$prefix/libs PG_CONFIG=$prefix/usr/lib/postgresql/15/bin/pg_config \
            bash "gpu/$name.sh" "$rows" ;;
    *) echo "unknown check $name" >&2; false ;;
    esac
    rc=$?
    echo "== gpu/$name.sh exit $rc"
    [ "$status" -eq 0 ] && status=$rc
done
exit "$status"
