#!/usr/bin/env bash
# Installs what ai_scale needs on Debian 12 (apt-get, only what is missing), then builds and
# installs the extension, the GPU module (when nvcc is there) and the unit tests.
# Usage: bash scripts/setup.sh [--no-build]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
    build-essential cmake pkg-config git
    postgresql-15 postgresql-server-dev-15 postgresql-contrib libpq-dev
    libhiredis-dev libxxhash-dev redis-server redis-tools
    libgtest-dev clang libclang-rt-14-dev
    libipc-run-perl perl
    python3 python3-numpy python3-xgboost
    locales libc-l10n # TAP 168 words a C library error in French
    postgresql-15-partman # TAP 171 and bench/partition: ai_scale beside pg_partman
    postgresql-15-repack # TAP 159: pg_repack on the store and ai_scale's tables
    gdb # TAP 236: holds a committing backend between its commit and its invalidations
    pgbouncer # TAP 243: ai_scale through PgBouncer in transaction and statement pooling mode
)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
# Into Postgres's library directory: through sudo only where this user may not write there (the
# system's; a private copy, scripts/private_pg.sh, is the user's own).
into_pkglibdir() {
    if [ -w "$pkglibdir" ]; then "$@"; else as_root "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # Debian's packages would start a system-wide Redis, Postgres and PgBouncer; we run our own.
    as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = "--no-build" ] && exit 0

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
pkglibdir=$("$PG_CONFIG" --pkglibdir)
jobs=$(nproc)
cd "$root"
make -s -j"$jobs" PG_CONFIG="$PG_CONFIG"
into_pkglibdir make -s install PG_CONFIG="$PG_CONFIG"

# CMake: unit tests, fuzzers and benchmarks, and the GPU module when the CUDA toolkit exists.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
if [ -f build/gpu/ai_scale_gpu.so ]; then
    into_pkglibdir install -m 755 build/gpu/ai_scale_gpu.so "$pkglibdir/"
fi
echo "setup: ai_scale built and installed into $pkglibdir"
