#!/usr/bin/env bash
# Makes a private, relocated copy of the system's PostgreSQL 15 under DIR, so that several
# checkouts can install and test their own ai_scale.so side by side without overwriting the
# system one. Prints the PG_CONFIG to export; setup.sh and test/run.sh honour it.
# Usage: eval "$(bash scripts/private_pg.sh DIR)"
set -euo pipefail
dir=$(realpath -m "${1:?usage: private_pg.sh DIR}")
[ "$dir" != / ] || { echo "private_pg.sh: DIR must not be /" >&2; exit 2; }
if [ ! -x "$dir/usr/lib/postgresql/15/bin/pg_config" ]; then
    # Copied beside and renamed when whole: a copy interrupted half way (Ctrl-C) had pg_config
    # already, and the next call took it for a whole one (initdb then missed its share files).
    rm -rf "$dir/usr.partial"
    mkdir -p "$dir/usr.partial/lib/postgresql" "$dir/usr.partial/share/postgresql"
    cp -a /usr/lib/postgresql/15 "$dir/usr.partial/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$dir/usr.partial/share/postgresql/"
    ln -sfn /usr/include "$dir/usr.partial/include"
    rm -rf "$dir/usr"
    mv "$dir/usr.partial" "$dir/usr"
    chmod 755 "$dir"
fi
echo "export PG_CONFIG=$dir/usr/lib/postgresql/15/bin/pg_config"
