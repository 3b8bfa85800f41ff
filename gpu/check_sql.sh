#!/usr/bin/env bash
# The extension's GPU path end to end: a throwaway Postgres with ai_scale (and ai_scale_gpu.so)
# installed for $PG_CONFIG scores ROWS rows of JSONB with score_batched, once on the CPU and once
# with ai_scale.gpu = on, for a linear, logistic, mlp and gbdt model (and a three-output mlp
# with score_multi_batch), compares the two row by row, checks that ai_scale.stats counted every
# row on the GPU, and times both sides. The server
# runs on a free port (scripts/lib/bench.sh) and is stopped on exit.
# Usage: bash gpu/check_sql.sh [ROWS]   (default 1000000; as root, the server runs as postgres)
# Writes the log to $OUT/gpu_check_sql.log when OUT is set (the device runner's output folder).
# Exit status: 0 passed on a GPU, 1 a check failed, 2 no usable GPU (both sides ran on the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
rows=${1:-1000000}

# The server's log goes to $OUT too.
cleanup() { bench_stop "${OUT:+$OUT/gpu_check_sql.server.log}"; }
trap cleanup EXIT
bench_work gpu_sql
bench_pg_start "shared_buffers = '2GB'" "work_mem = '256MB'"
set +e
"$PG_BIN/psql" -X -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v rows="$rows" \
    -f gpu/check_sql.sql 2>&1 | tee "$work/out.txt"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || echo "gpu/check_sql.sh: FAILED (psql exit $status)" | tee -a "$work/out.txt"
[ -n "${OUT:-}" ] && cp "$work/out.txt" "$OUT/gpu_check_sql.log"
[ "$status" -eq 0 ] || exit 1
grep -q '^PASSED' "$work/out.txt" || exit 2
