# Shell helpers to start and stop throwaway Postgres clusters and Redis servers on loopback.
# Sourced by test/run.sh, scripts/demo.sh and scripts/lib/bench.sh (the benchmarks' and GPU
# checks' set-up). Postgres runs as the postgres user when we are root (initdb refuses root).

# PG_CONFIG picks the installation (scripts/private_pg.sh makes a private one).
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=pg_config
PG_BIN=$("$PG_CONFIG" --bindir)
export PG_CONFIG

# Runs a command as the user that owns the clusters.
as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, below the kernel's ephemeral range
# (ip_local_port_range, 32768 and up by default): a port there can be taken at any moment as
# the local end of an outgoing connection, and a server then fails to bind it.
free_port() {
    local port low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$low" -gt 21000 ] 2>/dev/null || low=32768
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % (low - 20000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# pg_init DIR PORT PRELOAD(yes|no): a new cluster in DIR listening on 127.0.0.1:PORT, and on
# TCP only: a Unix socket in DIR failed the start of a cluster in a deep directory (a socket's
# path is at most 107 bytes; the demo's is under the checkout), and every client here uses TCP.
pg_init() {
    local dir=$1 port=$2 preload=$3
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_pg_user "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log"; return 1; }
    cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 50
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
max_worker_processes = 16
CONF
    pg_set_preload "$dir" "$preload"
}

pg_set_preload() {
    local dir=$1 preload=$2
    sed -i '/^shared_preload_libraries/d' "$dir/postgresql.conf"
    if [ "$preload" = yes ]; then
        echo "shared_preload_libraries = 'ai_scale'" >>"$dir/postgresql.conf"
    fi
}

# pg_conf DIR 'setting = value': appends a line to the cluster's postgresql.conf.
pg_conf() { echo "$2" >>"$1/postgresql.conf"; }

pg_start() { as_pg_user "$PG_BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 60 start >/dev/null; }
pg_stop() {
    [ -f "$1/postmaster.pid" ] || return 0
    as_pg_user "$PG_BIN/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null || true
}
pg_restart() { pg_stop "$1" && pg_start "$1"; }

# pg_start_or_move DIR: pg_start, and when the server could not bind its port (taken since
# free_port chose it: initdb takes seconds, and other jobs may share the machine), again on
# another free port, up to five tries in all. Sets pg_port to the port the cluster listens on.
pg_start_or_move() {
    local dir=$1 seen err
    for _ in 1 2 3 4 5; do
        seen=0
        [ -f "$dir.log" ] && seen=$(wc -l <"$dir.log")
        err=$(pg_start "$dir" 2>&1) && return 0
        if ! tail -n "+$((seen + 1))" "$dir.log" 2>/dev/null | grep -q 'Address already in use'; then
            echo "$err" >&2
            return 1
        fi
        pg_port=$(free_port) || return 1
        sed -i "s/^port = .*/port = $pg_port/" "$dir/postgresql.conf"
    done
    return 1
}

# redis_start DIR PORT [replicaof-port] [password]: a Redis without persistence.
redis_start() {
    local dir=$1 port=$2 primary_port=${3:-} password=${4:-}
    mkdir -p "$dir"
    local args=(--bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log")
    [ -n "$primary_port" ] && args+=(--replicaof 127.0.0.1 "$primary_port")
    [ -n "$password" ] && args+=(--requirepass "$password" --masterauth "$password")
    # The server writes its pid file only once it listens; one that cannot bind the port (taken
    # since free_port chose it) exits without it, and a ping would get the answer of whatever
    # server holds the port. So it is ours when its pid file names a live process. One that
    # exited without its pid file is given up on at once: its lines in its log as a server (role
    # M, S or X, past where they began) name its pid, not the parent's of its daemonizing.
    rm -f "$dir/redis.pid"
    local pid answer log_offset logged
    log_offset=$(stat -c %s "$dir/redis.log" 2>/dev/null) || log_offset=0
    if redis-server "${args[@]}"; then
        for _ in $(seq 1 100); do
            # (|| true: callers may run under set -e and pipefail)
            pid=$(cat "$dir/redis.pid" 2>/dev/null) || true
            answer=$(redis-cli -p "$port" ${password:+-a "$password" --no-auth-warning} \
                ping 2>/dev/null) || true
            [[ "$pid" =~ ^[0-9]+$ ]] && process_runs "$pid" && [ "$answer" = PONG ] &&
                return 0
            if [ -z "$pid" ]; then
                logged=$(tail -c +$((log_offset + 1)) "$dir/redis.log" 2>/dev/null |
                    sed -nE 's/^([0-9]+):[MSX] .*/\1/p' | head -n 1) || true
                [ -n "$logged" ] && ! process_runs "$logged" && [ ! -f "$dir/redis.pid" ] && break
            fi
            sleep 0.1
        done
    fi
    echo "redis on port $port did not start (log: $dir/redis.log):" >&2
    tail -n 5 "$dir/redis.log" >&2 2>/dev/null
    return 1
}

# process_runs PID: whether the process runs. One that exited is a zombie until its parent reaps
# it, and a daemonized Redis's parent is init, which may take a second or more to (some
# containers' init reap once a second), while kill -0 still succeeds.
process_runs() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $stat != *") Z "* ]]
}

# redis_running_pid DIR: prints the pid DIR/redis.pid names when that process is a Redis; fails
# otherwise. A pid file that outlived its server (a reboot, a kill -9) may name another process
# by now: the demo's start after a reboot killed whatever had that pid.
redis_running_pid() {
    local pid
    pid=$(cat "$1/redis.pid" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-* ]] || return 1
    echo "$pid"
}

redis_stop() {
    local dir=$1 pid
    if ! pid=$(redis_running_pid "$dir"); then
        rm -f "$dir/redis.pid"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do process_runs "$pid" || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}
