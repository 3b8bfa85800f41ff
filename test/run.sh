#!/usr/bin/env bash
# Runs every ai_scale test suite against real servers it starts itself, then stops them:
#   unit (GoogleTest via ctest), fuzz (each libFuzzer target of test/fuzz, no server), regress
#   (pg_regress, preloaded server), isolation (pg_isolation_regress over specs/, the same
#   server), regress-nopreload (pg_regress, server without shared_preload_libraries), tap
#   (prove: replication and workers).
# Installs what is missing first (scripts/setup.sh). Exits non-zero if any suite fails.
# Usage: bash test/run.sh [--no-setup] [suite...]
#   AI_SCALE_TAP_FILES='071_*.pl 15?_*.pl' runs only the TAP files those globs name (a list
#   separated by spaces; all by default), AI_SCALE_TAP_JOBS=N that many at a time (default 4;
#   each file has its own servers on ports none other holds). AI_SCALE_TEST_KEEP_LOGS=1 keeps
#   the servers' logs when every suite passes too (scripts/assert_check.sh reads them).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
setup=yes
if [ "${1:-}" = "--no-setup" ]; then shift; setup=no; fi
all_suites=(unit fuzz regress isolation regress-nopreload tap)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${all_suites[@]}")
# A name that is no suite (a typo) would run nothing and pass.
for s in "${suites[@]}"; do
    if [[ " ${all_suites[*]} " != *" $s "* ]]; then
        echo "test/run.sh: no suite named '$s' (suites: ${all_suites[*]})" >&2
        exit 2
    fi
done
# The tests run in a locale of their own, whatever the caller's: a LANG that is not generated
# here (as ssh passes on the client's) failed initdb in every TAP test, and no LANG at all gave
# their clusters SQL_ASCII where this one gives them UTF8.
# shellcheck disable=SC2046 # the names of the LC_ variables set, each a word
unset LANGUAGE $(compgen -v LC_)
export LANG=C.UTF-8
# Nor do the caller's libpq variables reach the tests' clients: PGSSLMODE=require failed every
# connection of pg_regress to the test cluster, PGOPTIONS went into every session. (PG_CONFIG and
# the PG_TEST_ knobs of the TAP tests have an underscore after PG and stay.)
# shellcheck disable=SC2046
unset $(compgen -v PG | grep '^PG[A-Z]')
[ $setup = no ] || bash scripts/setup.sh || exit 1
# shellcheck source=../scripts/lib/services.sh
source scripts/lib/services.sh
export PATH="$PG_BIN:$PATH"

work=$(mktemp -d /tmp/ai_scale_test.XXXXXX) || exit 1
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
pgdata="$work/pg"

# Stops the servers that a TAP test left running under $work (one interrupted by Ctrl-C, or
# that died before it stopped them): a cluster whose postmaster runs in its data directory, a
# Redis whose pid file names a redis process.
stop_leftovers() {
    local pidfile dir pid
    while IFS= read -r -d '' pidfile; do
        dir=$(dirname "$pidfile")
        pid=$(head -n 1 "$pidfile" 2>/dev/null) || continue
        [[ $pid =~ ^[0-9]+$ ]] || continue
        case $pidfile in
        */postmaster.pid)
            [ "$(readlink "/proc/$pid/cwd")" = "$(realpath "$dir")" ] || continue
            echo "stopping the cluster left running in $dir"
            as_pg_user "$PG_BIN/pg_ctl" -D "$dir" -m immediate -w -t 60 stop >/dev/null
            ;;
        */redis.pid)
            redis_running_pid "$dir" >/dev/null || continue
            echo "stopping the Redis left running in $dir"
            redis_stop "$dir"
            ;;
        esac
    done < <(find "$work" \( -name postmaster.pid -o -name redis.pid \) -print0 2>/dev/null)
}

cleanup() {
    local status=$?
    pg_stop "$pgdata"
    redis_stop "$work/redis-replica"
    redis_stop "$work/redis-primary"
    stop_leftovers
    # Kept when the run failed, also before any suite ran (a server that did not start).
    if [ "$status" -eq 0 ] && [ "${failed:-1}" -eq 0 ] && [ -z "${AI_SCALE_TEST_KEEP_LOGS:-}" ]; then
        rm -rf "$work"
    else
        echo "logs kept in $work"
    fi
}
trap cleanup EXIT

# results: a line per suite; why: short reasons a suite gives for failing, and the TAP files
# that skipped themselves, printed last so that they stay in view when only the end of the
# output is kept.
passed=0 failed=0 results=() why=()
run_suite() {
    local name=$1
    shift
    echo "=== $name"
    if "$@"; then
        passed=$((passed + 1)); results+=("ok     $name")
    else
        failed=$((failed + 1)); results+=("FAILED $name")
    fi
}

want() { [[ " ${suites[*]} " == *" $1 "* ]]; }

# Redis primary + replica, shared by every server-backed suite.
redis_port=$(free_port)
redis_start "$work/redis-primary" "$redis_port" || exit 1
redis_replica_port=$(free_port)
redis_start "$work/redis-replica" "$redis_replica_port" "$redis_port" || exit 1
export AI_SCALE_TEST_REDIS_PRIMARY="127.0.0.1:$redis_port"
export AI_SCALE_TEST_REDIS_REPLICA="127.0.0.1:$redis_replica_port"

# regress TARGET [VAR=value...]: a pg_regress target of the Makefile; `installcheck` runs the
# isolation specs too unless told ISOLATION= (the isolation suite is its own, below).
regress() {
    local target=$1
    shift
    rm -rf results regression.diffs regression.out
    if ! make -s "$target" "$@" PG_CONFIG="$PG_CONFIG" PGHOST=127.0.0.1 PGPORT="$pg_port" PGUSER=postgres; then
        [ -f regression.diffs ] && head -n 300 regression.diffs
        return 1
    fi
}

isolation() {
    rm -rf output_iso
    if ! make -s installcheck REGRESS= PG_CONFIG="$PG_CONFIG" PGHOST=127.0.0.1 PGPORT="$pg_port" \
        PGUSER=postgres; then
        [ -f output_iso/regression.diffs ] && head -n 300 output_iso/regression.diffs
        return 1
    fi
}

tap() {
    # The TAP tests run as the postgres user, from a copy it can read, with their own clusters.
    local tapdir="$work/tap" jobs=${AI_SCALE_TAP_JOBS:-4}
    if ! [[ $jobs =~ ^[1-9][0-9]?$ ]]; then
        echo "test/run.sh: AI_SCALE_TAP_JOBS must be a number from 1 to 99, not '$jobs'" >&2
        return 1
    fi
    mkdir -p "$tapdir/bin"
    cp -r test/tap "$tapdir/t"
    cp build/test/tools/forge_l2_value build/test/tools/generation_collision \
        build/test/tools/libclock_shift.so build/test/tools/libslow_resolver.so \
        build/test/unit/libfake_gpu_module_abi999.so "$tapdir/bin/" || return 1
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$tapdir"
    # The data directory each test's clusters are copied from (t/InitdbTemplate.pm), made in the
    # tests' locale (above), with messages in C as PostgreSQL::Test::Utils sets them.
    as_pg_user env LC_MESSAGES=C "$PG_BIN/initdb" \
        -D "$tapdir/initdb_template" -A trust -N >"$tapdir/initdb_template.log" 2>&1 || {
        cat "$tapdir/initdb_template.log"
        return 1
    }
    # The globs, each under t/, expanded in $tapdir (read splits them without expanding; one
    # that matches nothing is passed on as it is, for prove to say so).
    local globs=() files=() glob f
    read -r -a globs <<<"${AI_SCALE_TAP_FILES:-*.pl}"
    mapfile -t files < <(cd "$tapdir" && for glob in "${globs[@]}"; do
        for f in t/$glob; do echo "$f"; done
    done)
    # The slowest files start first, longest first, as a CI run on two cores timed them (four at
    # a time, session 76: 011 about 134 s, 198 118, 253 116, 250 97, 274 61, 090 50, 041 49,
    # down to 120 and 100 at 31): the files that start last are then short ones, and no long
    # one runs alone at the end with the other jobs idle. In name order 265 (then four to five
    # minutes, with 10,000 partitions) started last and ran alone for its last two and a half,
    # one of the two jobs idle: a sixth of the suite; 273, 319 and 329 (42, 37 and 36 s), not
    # listed, started in the last minute.
    local slow=(011_maintenance_worker 198_month_of_traffic 253_worker_memory_long_life
        250_partition_cancel_sweep 274_partition_chaos_soak 090_crash_restart
        041_predict_async_workers 265_worker_cache_reset_many_partitions 273_cache_chaos_soak
        031_long_session_memory 142_worker_turns_logged_once 219_partition_lock_holders
        308_store_queue_refused_database_command 319_cache_commit_bumps_redis_paused
        329_cache_write_hold_statements 021_cache_redis_faults 213_worker_turns_keep_naptime
        060_database_commands_non_owner 251_cache_scoring_cancel_sweep
        289_cache_invalidation_owed_at_commit 120_worker_maintenance_role
        100_store_worker_terminate_locked) first=() rest=()
    for glob in "${slow[@]}"; do
        for f in "${files[@]}"; do [ "$f" = "t/$glob.pl" ] && first+=("$f"); done
    done
    for f in "${files[@]}"; do [[ " ${first[*]} " == *" $f "* ]] || rest+=("$f"); done
    files=("${first[@]}" "${rest[@]}")
    # shellcheck disable=SC2048,SC2086 # unquoted on purpose: the names have no spaces
    (cd "$tapdir" && as_pg_user env PATH="$PATH" \
        PERL5LIB="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/perl" TESTDIR="$tapdir" \
        PG_REGRESS="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress" \
        AI_SCALE_TEST_INITDB_TEMPLATE="$tapdir/initdb_template" \
        AI_SCALE_TEST_REDIS_PRIMARY="$AI_SCALE_TEST_REDIS_PRIMARY" \
        AI_SCALE_TEST_REDIS_REPLICA="$AI_SCALE_TEST_REDIS_REPLICA" \
        AI_SCALE_TEST_FORGE="$tapdir/bin/forge_l2_value" \
        AI_SCALE_TEST_GENERATION_COLLISION="$tapdir/bin/generation_collision" \
        AI_SCALE_TEST_CLOCK_SHIFT="$tapdir/bin/libclock_shift.so" \
        AI_SCALE_TEST_SLOW_RESOLVER="$tapdir/bin/libslow_resolver.so" \
        AI_SCALE_TEST_FAKE_GPU_MODULE="$tapdir/bin/libfake_gpu_module_abi999.so" \
        prove -v --timer -j"$jobs" ${files[*]})
    local status=$? log
    # A file that skips itself whole (plan skip_all: a package or tool it needs is missing)
    # passes in prove's eyes; the summary names each, so that a machine short of one shows it.
    # (Its log has the plan as "[time](elapsed) 1..0 # SKIP reason".)
    local skip='^(\[[^]]*\]\([^)]*\) )?1\.\.0 # SKIP '
    for log in "$tapdir"/tmp_check/log/regress_log_*; do
        [ -f "$log" ] && grep -qE "$skip" "$log" || continue
        why+=("tap: ${log##*/regress_log_}.pl skipped: $(sed -nE "s/$skip//p" "$log" | head -n 1)")
    done
    # A failed test's diagnostics (its "not ok" line and the comment lines after it: got and
    # expected), a few lines of each file, at the end of the output: a CI that keeps only the
    # end of it showed which test failed, and not why.
    local line lines
    for log in "$tapdir"/tmp_check/log/regress_log_*; do
        [ -f "$log" ] || continue
        # (Each line the test printed starts "[time](elapsed) ".)
        mapfile -t lines < <(awk '
            { sub(/^\[[^]]*\]\([^)]*\) ?/, "") }
            /^not ok/ { keep = 1; print; next }
            keep && /^#/ { print; next }
            keep && /^$/ { next }
            { keep = 0 }' "$log" | head -n 24)
        [ ${#lines[@]} -gt 0 ] || continue
        why+=("tap: ${log##*/regress_log_}.pl failed:")
        for line in "${lines[@]}"; do why+=("  ${line:0:400}"); done
    done
    return $status
}

fuzz() {
    # Each fuzzer runs briefly from its seed corpus; a crash or sanitizer report fails the suite.
    # The seed is fixed so that a failure here reproduces on any machine (AI_SCALE_FUZZ_SEED=0
    # draws one); the input that failed is kept next to the log. A fuzzer is one process on one
    # core, so they run as many at a time as there are cores (each still for its full time on a
    # core of its own); run one after another, they took 8 x 21 s of a 2-core CI run.
    local status=0 ran=0 f name a jobs
    local fuzzers=()
    jobs=$(nproc 2>/dev/null || echo 1)
    for f in build/test/fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        fuzzers+=("$f")
        name=$(basename "$f")
        mkdir -p "$work/$name.corpus"
        [ -d "test/fuzz/corpus/$name" ] && cp -r "test/fuzz/corpus/$name/." "$work/$name.corpus/"
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
        (
            "$f" -max_total_time="${AI_SCALE_FUZZ_SECONDS:-12}" -rss_limit_mb=2048 \
                -seed="${AI_SCALE_FUZZ_SEED:-20261129}" -artifact_prefix="$work/$name-" \
                "$work/$name.corpus" >"$work/$name.log" 2>&1
            echo $? >"$work/$name.status"
        ) &
    done
    wait
    # Reported in order, each from its log and exit status, once all are done.
    for f in "${fuzzers[@]}"; do
        ran=$((ran + 1))
        name=$(basename "$f")
        if [ "$(cat "$work/$name.status" 2>/dev/null)" = 0 ]; then
            echo "$name: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$work/$name.log")"
        else
            tail -n 40 "$work/$name.log"
            why+=("$name: $(grep -m1 -E '^(SUMMARY|==[0-9]+==ERROR)' "$work/$name.log" || tail -n 1 "$work/$name.log")")
            for a in "$work/$name"-*; do
                [ -f "$a" ] && why+=("  input ($(basename "$a"), base64): $(head -c 600 "$a" | base64 -w0)")
            done
            status=1
        fi
    done
    # No fuzzer built (clang++ missing: test/fuzz/CMakeLists.txt skips them) is a failure, not
    # a pass with nothing run.
    if [ "$ran" -eq 0 ]; then
        why+=("fuzz: no fuzzer in build/test/fuzz (is clang++ installed? scripts/setup.sh installs it)")
        status=1
    fi
    return $status
}

# A build directory that holds no test (configured GPU-only, say) fails, as a missing one does.
# As many at a time as there are cores: the harness's checks (harness/check.sh, with servers of
# its own on free ports, 21 s on a 2-core machine) run beside the other tests (11 s together).
want unit && run_suite unit ctest --test-dir build --output-on-failure --no-tests=error \
    --parallel "$(nproc 2>/dev/null || echo 1)"
want fuzz && run_suite fuzz fuzz

if want regress || want isolation || want regress-nopreload; then
    pg_port=$(free_port)
    pg_init "$pgdata" "$pg_port" yes || exit 1
    pg_conf "$pgdata" "ai_scale.redis_primary = '$AI_SCALE_TEST_REDIS_PRIMARY'"
    pg_conf "$pgdata" "ai_scale.redis_replicas = '$AI_SCALE_TEST_REDIS_REPLICA'"
    # A Redis descheduled past the default 100 ms on a loaded machine (CI's 2 busy cores) timed
    # out a call a test expects answered; the tests of timeouts set their own.
    pg_conf "$pgdata" "ai_scale.redis_timeout_ms = 10000"
    pg_start_or_move "$pgdata" || { cat "$pgdata.log"; exit 1; }
    want regress && run_suite regress regress installcheck ISOLATION=
    want isolation && run_suite isolation isolation
    if want regress-nopreload; then
        pg_set_preload "$pgdata" no
        # Settings a preloaded server fixes at its start, left in postgresql.conf: loaded later,
        # the library took them for fixed too and warned at every load of it.
        pg_conf "$pgdata" "ai_scale.l1_entries = 4096"
        pg_conf "$pgdata" "ai_scale.l1_max_value_bytes = 4096"
        pg_conf "$pgdata" "ai_scale.store_queue_size = 4096"
        pg_restart "$pgdata"
        run_suite regress-nopreload regress installcheck-nopreload
    fi
    pg_stop "$pgdata"
fi

want tap && run_suite tap tap

echo "=== summary"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ ${#why[@]} -eq 0 ] || printf '%s\n' "${why[@]}"
[ "$failed" -eq 0 ]
