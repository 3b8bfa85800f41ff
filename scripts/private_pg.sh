#!/usr/bin/env bash
# Makes a private, relocated copy of the system's PostgreSQL 15 under DIR, so that several
# checkouts can install and test their own ai_scale.so side by side without overwriting the
# system one. Prints the PG_CONFIG to export; setup.sh and test/run.sh honour it.
# Usage: eval "$(bash scripts/private_pg.sh DIR)"
set -euo pipefail
dir=$(realpath -m "${1:?usage: private_pg.sh DIR}")
if [ ! -x "$dir/usr/lib/postgresql/15/bin/pg_config" ]; then
    mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql"
    cp -a /usr/lib/postgresql/15 "$dir/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$dir/usr/share/postgresql/"
    ln -sfn /usr/include "$dir/usr/include"
    chmod 755 "$dir"
fi
echo "export PG_CONFIG=$dir/usr/lib/postgresql/15/bin/pg_config"
