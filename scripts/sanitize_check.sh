#!/usr/bin/env bash
# Runs the server-backed test suites with ai_scale.so built under AddressSanitizer and
# UndefinedBehaviorSanitizer (the fuzzers cover the pure logic; this covers the code that runs
# inside the server), then fails if any server process wrote a sanitizer report.
#
# The extension is built from a copy of this tree (tracked and untracked files) and installed
# into a private copy of the system's PostgreSQL 15 ($AI_SCALE_SANITIZE_PREFIX, default
# /tmp/pg-sanitize), whose bin/postgres becomes a wrapper that preloads libasan (the runtime must
# come first) and points the reports at the run's log directory: every server the suites start,
# TAP nodes included, then runs with it, and nothing else does. Without -fwrapv (which the
# server's flags add), so that signed overflow is reported too. Not part of CI: with the TAP
# files it takes far longer than CI allows.
# With tap, expect TAP 029, 031, 105 (tests 9, 12 and 15), 157 (test 3), 220 (test 4), 231
# (tests 3 and 6), 238 (tests 3 and 9) and 300 (tests 4 and 7) to fail: they bound the backend's
# memory, which ASan's allocator enlarges (its quarantine holds up to 256 MB of freed memory, its
# realloc copies, malloc_trim gives nothing back; with quarantine_size_mb=0 only 029 test 3, 231
# test 6 and 238 test 9 still fail). With regress, expect cache_kept_heap and
# score_batched_kept_heap to fail: they count the page faults of glibc's malloc, which ASan
# replaces (src/pg/kept_heap.cpp does nothing under it).
# Any other failure is worth a look.
# Usage: bash scripts/sanitize_check.sh [suite...]   (default: regress isolation regress-nopreload)
#   AI_SCALE_TAP_FILES picks TAP files as for test/run.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${AI_SCALE_SANITIZE_PREFIX:-/tmp/pg-sanitize}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(regress isolation regress-nopreload)

bash "$root/scripts/setup.sh" --no-build
eval "$(bash "$root/scripts/private_pg.sh" "$prefix")"
bindir=$("$PG_CONFIG" --bindir)
[ -e "$bindir/postgres.real" ] || mv "$bindir/postgres" "$bindir/postgres.real"

copy=$(mktemp -d /tmp/ai_scale_sanitize.XXXXXX)
chmod 755 "$copy" # the servers, run as postgres, read test data from it
logs="$copy/sanitizer"
mkdir -m 1777 "$logs"
# Libraries of the server (gnutls, libgpg-error) call bindtextdomain from their constructors,
# which run before the preloaded runtime's; the runtime then initializes inside glibc's gettext
# lock, and the process hangs there. A bindtextdomain in front initializes it first.
gcc -shared -fPIC -o "$bindir/asan_first.so" -x c - -ldl <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
char *bindtextdomain(const char *domain, const char *dir)
{
    free(malloc(1));
    return ((char *(*)(const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain"))(domain, dir);
}
/* The UBSan runtime reads its options from /proc/self/environ at its first report, when the
   server has long overwritten that memory with its process title (log_path is lost still). */
const char *__ubsan_default_options(void) { return getenv("UBSAN_OPTIONS"); }
EOF
# exec -a keeps argv[0], from which the server finds its installation. A test's own LD_PRELOAD
# (clock_shift) follows the runtime; allocator_may_return_null lets a test's address-space
# limit (prlimit --as) end in Postgres's "out of memory" as it does without the runtime.
cat >"$bindir/postgres" <<EOF
#!/bin/bash
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $bindir/asan_first.so \${LD_PRELOAD:-}" \\
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:log_path=$logs/asan \\
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0:log_path=$logs/san \\
exec -a "\$0" "$bindir/postgres.real" "\$@"
EOF
chmod 755 "$bindir/postgres"

(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$copy"
cd "$copy"
# _GLIBCXX_SANITIZE_VECTOR: a read past a vector's size but within its capacity is reported too.
san="-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer"
make -s -j"$(nproc)" CXXFLAGS="-g -O1 -fno-strict-aliasing -D_GLIBCXX_SANITIZE_VECTOR $san" \
    PG_LDFLAGS="$san"
make -s install
# The TAP tests run four tools of the CMake build and a fake GPU module (TAP 295).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target forge_l2_value generation_collision clock_shift slow_resolver \
    fake_gpu_module_abi999 >/dev/null

status=0
AI_SCALE_TEST_KEEP_LOGS=1 bash test/run.sh --no-setup "${suites[@]}" | tee "$copy/run.log" ||
    status=1
work=$(sed -n 's/^logs kept in //p' "$copy/run.log" | tail -n 1)
# ASan reports are files in $logs: UBSan's runtime, loaded with ai_scale.so, sets the report path
# the two share from its own options at its start, so UBSAN_OPTIONS names $logs too (with
# ASAN_OPTIONS's alone, every report went to the server's stderr: nothing saw one from a server
# whose log is not read below, pg_upgrade's in TAP 233 say). UBSan's own reports go to the
# server logs (its log_path is lost with the process title, see above): the regress cluster's
# and each TAP node's.
mapfile -t files < <(find "$logs" -type f; find "$work" -name '*.log' \( -path '*/tmp_check/log/*' -o -name pg.log \))
asan=$(cat "${files[@]}" | grep -c 'ERROR: AddressSanitizer' || true)
ubsan=$(cat "${files[@]}" | grep -c 'runtime error:' || true)
if [ "$asan" -gt 0 ] || [ "$ubsan" -gt 0 ]; then
    echo "=== sanitize_check: reports"
    grep -H -A 25 -E 'ERROR: AddressSanitizer|runtime error:' "${files[@]}" | head -n 400
    status=1
fi
echo "sanitize_check: $asan AddressSanitizer and $ubsan UndefinedBehaviorSanitizer reports;" \
    "logs in $logs and $work"
exit "$status"
