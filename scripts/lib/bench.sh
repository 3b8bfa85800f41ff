# shellcheck shell=bash
# Shell helpers the benchmarks (bench/) and the GPU checks through SQL (gpu/check_sql.sh,
# gpu/check_failures.sh) share: a work directory the servers can use, a Postgres preloading
# ai_scale (and a Redis as its L2) on free loopback ports, and their stop when the script exits,
# having failed or not. Built on scripts/lib/services.sh, which reads PG_CONFIG.
#
# A script's set-up, in that order:
#   source scripts/lib/bench.sh
#   bench_hold_lock "$root/bench/NAME/run.sh" "$@"   # one benchmark at a time
#   trap bench_stop EXIT                       # or a cleanup function that calls it
#   bench_work bench_NAME                      # $work: /tmp/ai_scale_bench_NAME.XXXXXX
#   bench_pg_start "shared_buffers = '1GB'"    # $pg_port: a cluster in $work/pg, started
# Every function returns non-zero when it fails, for scripts without set -e too.

# shellcheck source=services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

# Runs the calling script again under the benchmark lock, so that one benchmark runs on the
# machine at a time (two side by side measure each other): `bench_hold_lock
# "$root/bench/NAME/run.sh" "$@"` right after sourcing this file. Not where the lock is held
# already by this script's caller (AI_SCALE_BENCH_LOCKED set by a script that took it, or a
# `flock /tmp/ai_scale_bench.lock bash bench/...` around it, as bench/RESULTS.md's commands
# have it): waiting there would wait for itself. AI_SCALE_BENCH_LOCK names another lock file
# (the harness's check of this function).
bench_hold_lock() {
    local lock=${AI_SCALE_BENCH_LOCK:-/tmp/ai_scale_bench.lock}
    [ -n "${AI_SCALE_BENCH_LOCKED:-}" ] && return 0
    if bench_lock_held_by_caller "$lock"; then
        export AI_SCALE_BENCH_LOCKED=1
        return 0
    fi
    if ! flock -n "$lock" true 2>/dev/null; then
        echo "waiting for $lock (another benchmark is running)" >&2
    fi
    # (-o: the lock stays with flock, which waits for the script, and is not passed down to what
    # the script starts: a server left running by a benchmark killed past its clean-up held it,
    # and every later benchmark waited for it.)
    exec env AI_SCALE_BENCH_LOCKED=1 flock -o "$lock" bash "$@"
}

# True when this shell holds a flock on $1 through a descriptor it inherited (`( flock 9; bash
# bench/... ) 9>LOCK`: the flock process that took it has exited, and /proc/locks names it), or
# when a process it descends from holds one (`flock LOCK bash bench/...`; /proc/locks names the
# holder's pid and the file's device and inode).
bench_lock_held_by_caller() {
    local lock fd dev inode holders pid
    [ -e "$1" ] || return 1
    lock=$(readlink -f "$1") || return 1
    for fd in /proc/$$/fd/*; do
        # (fdinfo lists the locks held through that descriptor's open file description; taking
        # it with flock -n to see, on a descriptor merely open on the file, took the lock for
        # the caller's shell, past the benchmark's end.)
        [ "$(readlink -f "$fd" 2>/dev/null)" = "$lock" ] &&
            grep -q 'FLOCK' "/proc/$$/fdinfo/${fd##*/}" 2>/dev/null && return 0
    done
    [ -r /proc/locks ] || return 1
    dev=$(stat -L -c %d "$1") && inode=$(stat -L -c %i "$1") || return 1
    # (/proc/locks writes the device as major:minor in hex, from glibc's encoding of st_dev)
    dev=$(printf '%02x:%02x' $(((dev >> 8) & 0xfff)) $(((dev & 0xff) | ((dev >> 12) & 0xfff00))))
    holders=$(awk -v id="$dev:$inode" '$2 == "FLOCK" && $6 == id { print $5 }' /proc/locks)
    [ -n "$holders" ] || return 1
    pid=$$
    while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
        grep -qxF "$pid" <<<"$holders" && return 0
        pid=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)
    done
    return 1
}

# Set by bench_work and the starts; empty until then, so that a bench_stop trapped before
# bench_work ran removes nothing (not a $work the caller's environment happened to have).
work=
pg_port=
redis_port=

# Fails unless the ai_scale installed for $PG_CONFIG is this tree's build (run from the tree's
# root): a benchmark of an older install measures old code. The libraries are compared without
# their symbols and build ids, which differ between two builds of the same code.
require_current_install() {
    local version sharedir pkglibdir tmp same=yes
    version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" ai_scale.control)
    sharedir=$("$PG_CONFIG" --sharedir)
    pkglibdir=$("$PG_CONFIG" --pkglibdir)
    tmp=$(mktemp -d)
    objcopy --strip-all --remove-section=.note.gnu.build-id ai_scale.so "$tmp/tree.so" 2>/dev/null &&
        objcopy --strip-all --remove-section=.note.gnu.build-id "$pkglibdir/ai_scale.so" \
            "$tmp/installed.so" 2>/dev/null &&
        cmp -s "$tmp/tree.so" "$tmp/installed.so" || same=no
    rm -rf "$tmp"
    if [ $same = no ] ||
        ! cmp -s "ai_scale--$version.sql" "$sharedir/extension/ai_scale--$version.sql"; then
        echo "the ai_scale installed for $PG_CONFIG is not this tree's build;" \
            "run make install with PG_CONFIG=$PG_CONFIG (or bash scripts/setup.sh) first" >&2
        return 1
    fi
}

# bench_work NAME: a new directory /tmp/ai_scale_NAME.XXXXXX in $work, which the servers (run
# as the postgres user when we are root) can write into and read from.
bench_work() {
    work=$(mktemp -d "/tmp/ai_scale_$1.XXXXXX") || return 1
    chmod 755 "$work" || return 1
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$work" || return 1; fi
}

# bench_pg_start [LINE...]: a cluster in $work/pg listening on a free port, $pg_port, with
# pg_init's settings (fsync and synchronous_commit off among them) and ai_scale preloaded, plus
# the postgresql.conf lines given (a later line overrides an earlier one); then started, on
# another free port if that one was taken meanwhile (pg_start_or_move). Its log is $work/pg.log.
bench_pg_start() {
    local line
    pg_port=$(free_port) || return 1
    pg_init "$work/pg" "$pg_port" yes || return 1
    for line in "$@"; do pg_conf "$work/pg" "$line"; done
    pg_start_or_move "$work/pg"
}

# bench_redis_start: a Redis without persistence in $work/redis listening on a free port,
# $redis_port.
bench_redis_start() {
    redis_port=$(free_port) || return 1
    redis_start "$work/redis" "$redis_port"
}

# bench_servers_start NAME [LINE...]: bench_work bench_NAME, a Redis, and a Postgres (as
# bench_pg_start, with the lines given) that has that Redis as its L2 primary.
bench_servers_start() {
    local name=$1
    shift
    bench_work "bench_$name" && bench_redis_start &&
        bench_pg_start "ai_scale.redis_primary = '127.0.0.1:$redis_port'" "$@"
}

# bench_stop [LOG_COPY]: stops the cluster and the Redis in $work (those that were started) and
# removes $work; copies the cluster's log to LOG_COPY first when one is given. Does nothing
# before bench_work.
# shellcheck disable=SC2120 # LOG_COPY is optional
bench_stop() {
    [ -n "${work:-}" ] || return 0
    pg_stop "$work/pg"
    # (|| true: a missing log must not end, under set -e, the clean-up that follows)
    if [ -n "${1:-}" ]; then cp "$work/pg.log" "$1" 2>/dev/null || true; fi
    redis_stop "$work/redis"
    rm -rf "$work"
}
