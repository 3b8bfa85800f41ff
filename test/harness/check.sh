#!/usr/bin/env bash
# Checks of the scripts that start and stop the test servers (scripts/lib/services.sh) and the
# benchmarks' servers (scripts/lib/bench.sh) and run the suites (test/run.sh), each on a way they
# went wrong. Run by ctest (the unit suite); needs
# redis-server, PostgreSQL 15 (PG_CONFIG as test/run.sh takes it), as root the postgres user, and
# for the last check the build of build/test/tools. Exits non-zero if a check fails.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
# shellcheck source=../../scripts/lib/services.sh
source scripts/lib/services.sh

tmp=$(mktemp -d /tmp/ai_scale_harness.XXXXXX) || exit 1
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$tmp"
deep="$tmp/$(printf 'd%.0s' $(seq 1 90))"
cleanup() {
    redis_stop "$tmp/holder"
    redis_stop "$tmp/taken"
    pg_stop "$deep/pg"
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
    else
        echo "not ok - $what"
        failures=$((failures + 1))
    fi
}

# 1. redis_start fails when another server holds the port (taken after free_port chose it): it
# took that server's PONG for its own server's, which had exited, and returned 0.
port=$(free_port) || exit 1
redis_start "$tmp/holder" "$port" || exit 1
refuses_taken_port() { ! redis_start "$tmp/taken" "$port" 2>/dev/null; }
check "redis_start fails on a port another Redis holds" refuses_taken_port

# 2. A cluster starts in a directory too deep for a Unix socket's path (the demo's is in the
# checkout): its socket there failed the start.
starts_deep() {
    mkdir -p "$deep"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$deep"
    pg_init "$deep/pg" "$(free_port)" no >/dev/null && pg_start "$deep/pg"
}
check "a cluster ${#deep} bytes deep starts" starts_deep

# 3. test/run.sh refuses a name that is no suite: it ran nothing and passed.
refuses_unknown_suite() {
    bash test/run.sh --no-setup no-such-suite >/dev/null 2>&1
    [ $? -eq 2 ]
}
check "test/run.sh refuses an unknown suite" refuses_unknown_suite

# 4. test/run.sh fails, keeps its directory and says where, when a server does not start (here
# a redis-server that fails): it removed the directory, the logs with it.
keeps_logs() {
    local out status kept
    mkdir -p "$tmp/bin"
    printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/redis-server"
    chmod 755 "$tmp/bin/redis-server"
    out=$(PATH="$tmp/bin:$PATH" bash test/run.sh --no-setup regress 2>&1)
    status=$?
    kept=$(sed -n 's/^logs kept in //p' <<<"$out")
    [ -n "$kept" ] && [ -d "$kept" ] && rm -rf "$kept" && [ $status -ne 0 ]
}
check "test/run.sh keeps the logs when a server does not start" keeps_logs

# 5. test/run.sh runs the TAP tests in its own locale (TAP 174 checks which): a LANG that names
# no locale here failed initdb in every test.
own_locale() {
    local out
    if ! out=$(LANG=xx_XX.UTF-8 LC_CTYPE=xx_XX.UTF-8 AI_SCALE_TAP_FILES='174_*.pl' \
        bash test/run.sh --no-setup tap 2>&1); then
        tail -n 30 <<<"$out"
        return 1
    fi
}
check "test/run.sh runs the TAP tests in C.UTF-8 whatever LANG says" own_locale

# 6. Nor do the caller's libpq variables reach the tests: PGSSLMODE=require failed every
# connection of pg_regress to the test cluster (which has no SSL).
own_libpq_settings() {
    local out
    if ! out=$(PGSSLMODE=require PGOPTIONS='-c no_such_setting=1' \
        bash test/run.sh --no-setup regress-nopreload 2>&1); then
        tail -n 30 <<<"$out"
        return 1
    fi
}
check "test/run.sh runs pg_regress without the caller's PGSSLMODE and PGOPTIONS" own_libpq_settings

# 7. redis_stop stops only a Redis: a pid file that outlived its server (the demo's, after a
# reboot) named another process by then, which it killed.
spares_other_process() {
    local pid alive
    mkdir -p "$tmp/stale"
    sleep 60 &
    pid=$!
    echo "$pid" >"$tmp/stale/redis.pid"
    redis_stop "$tmp/stale"
    kill -0 "$pid" 2>/dev/null && alive=yes
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ "${alive:-}" = yes ] && [ ! -f "$tmp/stale/redis.pid" ]
}
check "redis_stop leaves alone a process a stale pid file names" spares_other_process

# 8. A benchmark's set-up (scripts/lib/bench.sh) leaves nothing behind, started or not: two
# benchmarks that started their cluster before trapping its stop left their directory when the
# start failed. bench_pg_start fails by its status (gpu/check_failures.sh runs without set -e),
# here on the port the Redis of check 1 holds, and bench_stop then removes the directory; after a
# start that succeeded it stops the cluster too.
bench_cleans_up() {
    local dir
    dir=$( # a failed start
        source scripts/lib/bench.sh
        bench_work harness_bench || exit 1
        echo "$work"
        free_port() { echo "$port"; }
        if bench_pg_start 2>/dev/null; then
            echo "bench_pg_start succeeded on a port another server holds" >&2
            bench_stop
            exit 1
        fi
        bench_stop
    ) || return 1
    if [ -z "$dir" ] || [ -e "$dir" ]; then
        echo "bench_stop left $dir after a failed start" >&2
        return 1
    fi
    ( # a start that succeeded
        source scripts/lib/bench.sh
        local pid
        bench_work harness_bench && bench_pg_start || exit 1
        dir=$work
        pid=$(head -n 1 "$work/pg/postmaster.pid")
        bench_stop
        [ ! -e "$dir" ] || { echo "bench_stop left $dir" >&2; exit 1; }
        ! process_runs "$pid" || { echo "bench_stop left the postmaster $pid running" >&2; exit 1; }
    )
}
check "bench_pg_start fails on a taken port; bench_stop removes what bench.sh made" bench_cleans_up

# 9. A benchmark takes the benchmark lock itself, and runs at once under a caller that holds it
# (`flock LOCK bash bench/...`, as bench/RESULTS.md's commands have it, or `( flock 9; bash
# bench/... ) 9>LOCK`): the scoring benchmark's own lock waited there for its caller for ever.
bench_takes_lock() {
    local lock="$tmp/bench.lock" script="$tmp/lock_probe.sh" out
    cat >"$script" <<'EOS'
source scripts/lib/bench.sh
bench_hold_lock "$0" "$@"
flock -n "$AI_SCALE_BENCH_LOCK" true && { echo "ran without the lock"; exit 1; }
echo "ran locked=$AI_SCALE_BENCH_LOCKED"
EOS
    out=$(AI_SCALE_BENCH_LOCK="$lock" timeout 20 bash "$script") || return 1
    [ "$out" = "ran locked=1" ] || { echo "plain: $out" >&2; return 1; }
    out=$(AI_SCALE_BENCH_LOCK="$lock" timeout 20 flock "$lock" bash "$script") || {
        echo "under a caller holding the lock: no run (waited for itself?)" >&2
        return 1
    }
    [ "$out" = "ran locked=1" ] || { echo "under flock: $out" >&2; return 1; }
    # (and under one that keeps its descriptor to itself, `flock -o`: found through /proc/locks
    # and the script's ancestors)
    out=$(AI_SCALE_BENCH_LOCK="$lock" timeout 20 flock -o "$lock" bash "$script") || {
        echo "under flock -o: no run (waited for itself?)" >&2
        return 1
    }
    [ "$out" = "ran locked=1" ] || { echo "under flock -o: $out" >&2; return 1; }
    # (and where the caller took it on a descriptor the script inherits, its flock gone)
    out=$( (flock 9 && AI_SCALE_BENCH_LOCK="$lock" timeout 20 bash "$script") 9>"$lock") || {
        echo "under a lock on an inherited descriptor: no run (waited for itself?)" >&2
        return 1
    }
    [ "$out" = "ran locked=1" ] || { echo "under flock 9: $out" >&2; return 1; }
    # (but a descriptor merely open on the lock file is no lock: the script takes it, and the
    # caller holds none after)
    out=$( (AI_SCALE_BENCH_LOCK="$lock" timeout 20 bash "$script" &&
        flock -n "$lock" true && echo free) 9>"$lock") ||
        { echo "with the lock file open, unlocked: $out" >&2; return 1; }
    [ "$out" = "ran locked=1"$'\n'"free" ] || { echo "with the lock file open: $out" >&2; return 1; }
    # (and what a benchmark leaves running, as a server of one killed past its clean-up, does not
    # hold the lock once the benchmark has ended)
    cat >"$tmp/lock_leaver.sh" <<'EOS'
source scripts/lib/bench.sh
bench_hold_lock "$0" "$@"
setsid sleep 60 </dev/null >/dev/null 2>&1 &
echo $!
EOS
    local left
    left=$(AI_SCALE_BENCH_LOCK="$lock" timeout 20 bash "$tmp/lock_leaver.sh") || return 1
    out=$(flock -n "$lock" true && echo free)
    kill "$left" 2>/dev/null
    [ "$out" = free ] || { echo "a process the benchmark left holds the lock" >&2; return 1; }
}
check "a benchmark takes its lock, and runs under a caller that holds it" bench_takes_lock

# 10. scripts/setup.sh run by a user who is not root, into a Postgres library directory that user
# may write (a private copy, scripts/private_pg.sh), installs the GPU module without sudo, as it
# runs make install: it ran `sudo install` for the module, which failed where there is no sudo.
# A copy of setup.sh in a tree of its own, with stubs for what it calls (no package is missing,
# make and cmake do nothing, the module is built already, id says uid 1000, sudo fails).
setup_without_sudo() {
    local fake="$tmp/setup" out
    mkdir -p "$fake/scripts" "$fake/bin" "$fake/lib" "$fake/build/gpu"
    cp scripts/setup.sh "$fake/scripts/"
    echo module >"$fake/build/gpu/ai_scale_gpu.so"
    printf '#!/bin/sh\nif [ "$1" = -u ]; then echo 1000; else exec /usr/bin/id "$@"; fi\n' >"$fake/bin/id"
    printf '#!/bin/sh\necho "sudo $*" >&2\nexit 1\n' >"$fake/bin/sudo"
    printf '#!/bin/sh\nprintf "install ok installed"\n' >"$fake/bin/dpkg-query"
    printf '#!/bin/sh\nexit 0\n' >"$fake/bin/make"
    printf '#!/bin/sh\nexit 0\n' >"$fake/bin/cmake"
    printf '#!/bin/sh\necho "%s"\n' "$fake/lib" >"$fake/bin/pg_config"
    chmod 755 "$fake/bin"/*
    if ! out=$(PATH="$fake/bin:$PATH" PG_CONFIG="$fake/bin/pg_config" bash "$fake/scripts/setup.sh" 2>&1); then
        echo "$out"
        return 1
    fi
    [ -f "$fake/lib/ai_scale_gpu.so" ] || { echo "setup.sh did not install the GPU module" >&2; return 1; }
}
check "setup.sh installs into a library directory its user may write without sudo" setup_without_sudo

# 11. A cluster whose port another server took between free_port and the start (the Redis of
# check 1 holds it here) starts on another port, which pg_port names: the regress suites' cluster
# failed to start, the run with it.
moves_off_taken_port() {
    local pg_port=$port listening
    pg_init "$tmp/moved" "$pg_port" no >/dev/null || return 1
    pg_start_or_move "$tmp/moved" || { cat "$tmp/moved.log" >&2; return 1; }
    listening=$(as_pg_user "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -X -Atc 'SHOW port')
    pg_stop "$tmp/moved"
    [ "$pg_port" != "$port" ] && [ "$listening" = "$pg_port" ]
}
check "a cluster whose port was taken before it started starts on another" moves_off_taken_port

[ $failures -eq 0 ]
