#!/usr/bin/env bash
# Runs test suites under a wall clock that reaches a chosen instant (a UTC midnight, a month's or
# a year's end) a few seconds after each run begins, to find the tests and the code that go
# wrong when the date changes under them. Every process the run starts (the servers test/run.sh
# and the TAP tests start, pg_regress, psql, the tests' Perl) has test/tools/clock_shift.cpp
# preloaded, which moves the wall clock by the seconds in one file: the clock still advances,
# and agrees across processes and restarts. (libfaketime, preloaded so, reached every process
# too, but Postgres's timeouts never fired under it: a lock_timeout of 50 ms waited forever.)
# Not part of CI: a run is only as good as where the instant falls in a test, so a test is
# worth running at several leads (the second of the run at which the instant comes).
# Usage: bash test/clock_edges.sh [-a INSTANT] [-l LEAD]... [--each] [run.sh suite...]
#   -a INSTANT  the instant the clock reaches, in UTC (default: the next UTC midnight;
#               '2027-01-01 00:00:00' style); -l LEAD seconds after a run begins (default 10;
#               repeat -l to run everything once per lead; a negative lead starts the run
#               that long after the instant, to run it on a given day). With --each, each TAP file that
#               AI_SCALE_TAP_FILES names (all by default) runs alone, so that the instant comes
#               LEAD seconds into that file rather than into the suite. Suites as for run.sh
#               (default: tap). Needs the build installed and build/ made (make && make install,
#               scripts/setup.sh's cmake): it passes --no-setup. Prints a line per run: ok or
#               FAILED, the lead, the file or suites; a failed run's output is kept.
#   Tests that preload clock_shift.cpp on a node of their own (196, 197) run that node on the
#   real clock.
# Examples: AI_SCALE_TAP_FILES='141_*.pl 016_*.pl' bash test/clock_edges.sh -a '2027-01-01' \
#             -l 5 -l 20 --each tap
#           bash test/clock_edges.sh -a '2027-01-01 03:30' -l -60 regress
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=$root/build/test/tools/libclock_shift.so
if [ ! -f "$lib" ]; then
    echo "test/clock_edges.sh: $lib is not built (cmake -S . -B build && cmake --build build)" >&2
    exit 2
fi
at='' leads=() each=no
while [ $# -gt 0 ]; do
    case $1 in
    -a) at=$2; shift 2 ;;
    -l) leads+=("$2"); shift 2 ;;
    --each) each=yes; shift ;;
    *) break ;;
    esac
done
[ ${#leads[@]} -gt 0 ] || leads=(10)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(tap)
[ -n "$at" ] || at=$(date -u -d 'tomorrow 00:00' '+%Y-%m-%d %H:%M:%S')
target=$(date -u -d "$at UTC" +%s) || exit 2

# The shift, readable by the postgres user the servers run as.
shift_file=$(mktemp /tmp/clock_edges.XXXXXX) || exit 1
chmod 644 "$shift_file"
trap 'rm -f "$shift_file"' EXIT

# run LEAD LABEL COMMAND...: COMMAND under a clock that reaches the instant LEAD seconds later.
failed=0
run() {
    local lead=$1 label=$2 log
    shift 2
    echo $(( target - lead - $(date +%s) )) >"$shift_file"
    log=$(mktemp /tmp/clock_edges_log.XXXXXX)
    if env LD_PRELOAD="$lib" AI_SCALE_CLOCK_SHIFT_FILE="$shift_file" "$@" >"$log" 2>&1; then
        echo "ok     lead ${lead}s  $label"
        rm -f "$log"
    else
        echo "FAILED lead ${lead}s  $label (output in $log)"
        failed=$((failed + 1))
    fi
}

echo $(( target - $(date +%s) )) >"$shift_file"
echo "the clock at lead 0, for a check: $(env LD_PRELOAD="$lib" AI_SCALE_CLOCK_SHIFT_FILE="$shift_file" \
    date -u '+%F %T') (real: $(date -u '+%F %T'))"
cd "$root" || exit 1
for lead in "${leads[@]}"; do
    if [ $each = yes ] && [ "${suites[*]}" = tap ]; then
        read -r -a globs <<<"${AI_SCALE_TAP_FILES:-*.pl}"
        for glob in "${globs[@]}"; do
            for f in test/tap/$glob; do
                [ -f "$f" ] || continue
                AI_SCALE_TAP_FILES=$(basename "$f") run "$lead" "$(basename "$f")" \
                    bash test/run.sh --no-setup tap
            done
        done
    else
        run "$lead" "${suites[*]}" bash test/run.sh --no-setup "${suites[@]}"
    fi
done
[ "$failed" -eq 0 ]
