// Which maintenance worker serves which database, in shared memory, so that DROP DATABASE (and
// ALTER DATABASE ... RENAME TO / SET TABLESPACE, CREATE DATABASE ... TEMPLATE) can stop the
// worker of the database it acts on (as Postgres does with autovacuum) instead of failing on
// its connection ("database is being accessed by other users"), and a new launcher can wake
// the workers of the one before it.
#pragma once

namespace ai_scale::partition {

// Reserves the registry and installs the hook on those statements; call from _PG_init while
// preloading.
void install_worker_registry();

// Records the calling maintenance worker (connected to its database) until it exits.
void register_this_worker();

// Wakes every registered worker (sets its latch), e.g. for a new launcher, so that the workers
// of the launcher before it see that it was replaced and exit now rather than a naptime later.
void wake_all_workers();

} // namespace ai_scale::partition
