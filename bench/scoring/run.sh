#!/bin/bash
# Scoring benchmark, ours and the alternatives side by side in one run:
#  * logistic over ROWS rows x 16 features from JSONB: ai_scale.score / score_batched vs pure SQL
#  * gbdt (500 trees, depth 8, 16 features) on pre-extracted float32 rows: ai_scale's CPU
#    traversal vs XGBoost's inplace_predict with one thread; and end to end from JSONB in SQL
#  * mlp (16-64-64-1) throughput from JSONB
# Usage: bash bench/scoring/run.sh [ROWS]   (default 1000000; honours PG_CONFIG, builds nothing:
# run scripts/setup.sh first).
# Starts its own Postgres on a free port (scripts/lib/bench.sh) and stops it on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source scripts/lib/bench.sh
bench_hold_lock "$root/bench/scoring/run.sh" "$@"
require_current_install
rows=${1:-1000000}
subset=$(( rows < 200000 ? rows : 200000 ))

trap bench_stop EXIT
bench_work bench_scoring

echo "== gbdt on pre-extracted float32 rows ($subset rows, one thread)"
/usr/bin/python3 bench/scoring/train_gbdt.py "$work" "$subset" | tee "$work/xgb.txt"
g++ -O2 -std=c++17 -ffp-contract=off -Isrc bench/scoring/gbdt_bench.cpp src/scoring/json.cpp src/scoring/model.cpp \
    src/scoring/xgboost.cpp -o "$work/gbdt_bench"
"$work/gbdt_bench" "$work" "$subset" | tee "$work/ours.txt"
xgb=$(awk '/xgboost_rows_per_s/ {print $2}' "$work/xgb.txt")
ours=$(awk '/ai_scale_rows_per_s/ {print $2}' "$work/ours.txt")
awk -v a="$ours" -v b="$xgb" 'BEGIN { printf "gbdt_ratio_ai_scale_vs_xgboost %.2f\n", a / b }'

echo "== SQL ($rows rows of 16 features in JSONB, one backend)"
bench_pg_start "shared_buffers = '1GB'" "work_mem = '64MB'"
chmod 644 "$work/gbdt.json"
"$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -v rows="$rows" -v subset="$subset" -v gbdt_file="$work/gbdt.json" -f bench/scoring/bench.sql
