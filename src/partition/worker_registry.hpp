// Which maintenance worker serves which database, in shared memory, so that DROP DATABASE can
// stop the worker of the database it drops (as Postgres does with autovacuum) instead of
// failing on its connection ("database is being accessed by other users").
#pragma once

namespace ai_scale::partition {

// Reserves the registry and installs the DROP DATABASE hook; call from _PG_init while
// preloading.
void install_worker_registry();

// Records the calling maintenance worker (connected to its database) until it exits.
void register_this_worker();

} // namespace ai_scale::partition
