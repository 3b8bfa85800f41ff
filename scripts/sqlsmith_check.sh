#!/usr/bin/env bash
# Looks for crashes with sqlsmith (Debian's package): random SQL, every function and operator a
# role may call, our internals included, against a scratch cluster that preloads ai_scale, with a
# Redis as its L2, a prediction store, two models, cached predictions and the maintenance worker
# running on that database every 5 s. Half the time as a role that owns the store and may
# manage it (not a superuser), half as a superuser (cache_put, reset_stats, the catalogs written
# directly). Fails when a backend died of a signal, on a PANIC or a failed assertion; prints the
# internal errors (SQLSTATE XX000) the log holds, which may be Postgres's own for sqlsmith's odd
# queries, for a person to read. Not part of CI: what it finds depends on its seed and minutes.
# Usage: bash scripts/sqlsmith_check.sh [seconds, default 600] [seed, default the time]
#   (run scripts/setup.sh first; installs sqlsmith when missing)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
secs=${1:-600}
seed=${2:-$(date +%s)}
command -v sqlsmith >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlsmith >/dev/null
source scripts/lib/bench.sh
require_current_install
export PATH="$PG_BIN:$PATH"

keep_log=$(mktemp /tmp/ai_scale_sqlsmith_log.XXXXXX)
trap 'bench_stop "$keep_log"' EXIT
bench_servers_start sqlsmith "log_line_prefix = '%m [%p] %e '" \
    "ai_scale.maintenance_databases = 'smith'" "ai_scale.maintenance_naptime = '5s'" \
    "statement_timeout = '10s'"

psql_() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE ROLE smith LOGIN" -c "CREATE DATABASE smith OWNER smith"
psql_ -d smith <<'SQL' >/dev/null
CREATE EXTENSION ai_scale;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO smith;
SET ROLE smith;
SELECT ai_scale.create_prediction_store('public.model_predictions');
RESET ROLE;
SELECT ai_scale.register_model('lin', 'linear', ARRAY['a', 'b'], '{"weights": [1.5, -2], "bias": 0.25}');
SELECT ai_scale.register_model('logi', 'logistic', ARRAY['a', 'b'], '{"weights": [0.5, 2], "bias": -1}');
SELECT ai_scale.cache_put('lin', 1, '{"a": 1, "b": 2}', '{"score": -2.25}');
SELECT ai_scale.predict('lin', jsonb_build_object('a', i, 'b', i % 3)) FROM generate_series(1, 50) i;
CREATE TABLE public.inputs AS
    SELECT i AS id, jsonb_build_object('a', i, 'b', i % 3) AS input FROM generate_series(1, 100) i;
ALTER TABLE public.inputs OWNER TO smith;
SQL

smith() { # role seconds seed
    local out
    out=$(timeout "$2" sqlsmith --target="host=127.0.0.1 port=$pg_port user=$1 dbname=smith" \
        --exclude-catalog --verbose --seed="$3" 2>&1 >/dev/null) || true
    # (it reports its count every 800 queries)
    echo "sqlsmith as $1, ${2}s, seed $3: $(grep -a -o 'queries: [0-9]*' <<<"$out" | tail -1)"
}
smith smith $((secs / 2)) "$seed"
smith postgres $((secs - secs / 2)) $((seed + 1))
bench_stop "$keep_log"
trap - EXIT

crashes=$(grep -a -E "terminated by signal|PANIC:  |TRAP: " "$keep_log" || true)
internal=$(grep -a " XX000 " "$keep_log" | grep -a "ERROR" | sed 's/^.* XX000 //' | sort | uniq -c |
    sort -rn || true)
echo "internal errors (XX000) in the log, by message:"
echo "${internal:-  none}"
if [ -n "$crashes" ]; then
    echo "sqlsmith_check: the server crashed (log kept in $keep_log):" >&2
    echo "$crashes" | head -20 >&2
    exit 1
fi
rm -f "$keep_log"
echo "sqlsmith_check: no crash"
