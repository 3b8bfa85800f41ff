#!/usr/bin/env bash
# Runs the server-backed test suites against an assert-enabled PostgreSQL 15 (--enable-cassert:
# Postgres checks its own invariants, memory contexts and resource owners at every step, and
# warns of leaked buffer pins, relcache and catalog cache references, snapshots and TupleDescs),
# then fails if any server log of the run holds a failed assertion, a leak warning or a process
# killed by a signal other than SIGKILL (which the crash tests send on purpose).
#
# The server is built once from Debian's source package into $AI_SCALE_ASSERT_PREFIX (default
# /tmp/pg-assert; about 10 minutes on 2 cores) and reused after. The extension is built from a
# copy of this tree (tracked and untracked files), so the tree's own build stays the one made for
# the system's server. Not part of CI, which stays within its time; run it after changes to the
# C++ that talks to Postgres.
# Usage: bash scripts/assert_check.sh [suite...]   (default: regress isolation regress-nopreload tap)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${AI_SCALE_ASSERT_PREFIX:-/tmp/pg-assert}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(regress isolation regress-nopreload tap)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

bash "$root/scripts/setup.sh" --no-build
missing=()
for p in dpkg-dev bzip2 libreadline-dev zlib1g-dev libicu-dev pkg-config; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi

# With ICU, as Debian builds its server: sql/cache_l3_collation.sql makes an ICU collation. With
# the system's time zone data, as Debian's server reads it: Postgres's own copy, of the same
# tzdata release, is built without the history Debian keeps: Europe/Amsterdam is a link to
# Brussels there (sql/partition_dst_bounds.sql cuts Amsterdam's days of 1937) and EST one to
# America/Panama (sql/partition_errors.sql's SET of 'EST' was refused). With the contrib
# modules: TAP 172, 223 and others preload pg_stat_statements or auto_explain (172's node did not
# start without them, and prove stopped the suite there). A build made before without any of
# these is made again.
if [ -x "$prefix/bin/pg_config" ] && { "$prefix/bin/pg_config" --configure | grep -q without-icu ||
    ! "$prefix/bin/pg_config" --configure | grep -q with-system-tzdata ||
    [ ! -f "$("$prefix/bin/pg_config" --pkglibdir)/pg_stat_statements.so" ]; }; then
    rm -rf "$prefix"
fi
if [ ! -x "$prefix/bin/pg_config" ]; then
    src=$(mktemp -d /tmp/ai_scale_pgsrc.XXXXXX)
    # Debian's source package of the server, from the same archive as the binary packages: a
    # deb-src entry only for this download, removed after.
    list=/etc/apt/sources.list.d/ai_scale-pg-source.sources
    as_root tee "$list" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fetched=0
    as_root apt-get update -qq && (cd "$src" && apt-get source --download-only -qq postgresql-15) &&
        fetched=1
    as_root rm -f "$list"
    as_root apt-get update -qq || true
    [ "$fetched" -eq 1 ] || { echo "assert_check: could not fetch postgresql-15's source" >&2; exit 1; }
    tar -xjf "$src"/postgresql-15_*.orig.tar.bz2 -C "$src"
    (
        cd "$src"/postgresql-15.*/
        ./configure --prefix="$prefix" --enable-cassert --enable-debug --enable-tap-tests \
            --with-icu --with-system-tzdata=/usr/share/zoneinfo \
            CFLAGS='-O2 -fno-omit-frame-pointer' >"$src/configure.log"
        make -s -j"$(nproc)" world-bin >"$src/make.log" 2>&1
        make -s install-world-bin >"$src/install.log"
    ) || { echo "assert_check: building PostgreSQL failed; logs in $src" >&2; exit 1; }
    rm -rf "$src"
fi

copy=$(mktemp -d /tmp/ai_scale_assert.XXXXXX)
chmod 755 "$copy" # the servers, run as postgres, read test data from it
(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$copy"
cd "$copy"
export PG_CONFIG="$prefix/bin/pg_config"
make -s -j"$(nproc)" && make -s install
# The TAP tests run four tools of the CMake build and a fake GPU module (TAP 295).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target forge_l2_value generation_collision clock_shift slow_resolver \
    fake_gpu_module_abi999 >/dev/null

# (|| status=1: under set -e a failed run would end the script here, before the logs are read)
status=0
AI_SCALE_TEST_KEEP_LOGS=1 bash test/run.sh --no-setup "${suites[@]}" | tee "$copy/run.log" ||
    status=1
work=$(sed -n 's/^logs kept in //p' "$copy/run.log" | tail -n 1)
if [ -z "$work" ] || [ ! -d "$work" ]; then
    echo "assert_check: the test run kept no logs to check" >&2
    exit 1
fi
# Server logs: the regress cluster's and each TAP node's.
mapfile -t logs < <(find "$work" -name '*.log' \( -path '*/tmp_check/log/*' -o -name pg.log \))
problems=$(grep -H -E 'TRAP: |reference leak|leaked|terminated by signal' "${logs[@]}" 2>/dev/null |
    grep -v 'terminated by signal 9:' || true)
if [ -n "$problems" ]; then
    echo "=== assert_check: found in the server logs"
    echo "$problems" | head -n 100
    status=1
fi
echo "assert_check: ${#logs[@]} server logs checked; logs in $work"
[ "$status" -eq 0 ] && rm -rf "$copy"
exit "$status"
