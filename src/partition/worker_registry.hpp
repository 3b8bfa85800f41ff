// Which maintenance worker serves which database, in shared memory, so that DROP DATABASE and
// the other commands that want no session in a database can stop its worker first
// (database_commands.hpp), and a new launcher can wake the workers of the one before it.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// Reserves the registry; call from _PG_init while preloading.
void install_worker_registry();

// The pids of the maintenance workers connected to database (palloc'd in *pids); returns how
// many. Usually one; two while a replaced launcher's worker finishes its run beside the new
// launcher's.
int maintenance_workers_of(Oid database, pid_t** pids);

// Records the calling maintenance worker (connected to its database) until it exits.
void register_this_worker();

// Wakes every registered worker (sets its latch), e.g. for a new launcher, so that the workers
// of the launcher before it see that it was replaced and exit now rather than a naptime later.
void wake_all_workers();

// Why the launcher asked a worker to exit once it is between runs.
enum class exit_request : uint8 {
    none,
    give_slot, // to a listed database that found no background-worker slot free
    unlisted,  // its database was taken out of ai_scale.maintenance_databases
};

enum class exit_request_outcome : uint8 {
    asked,          // registered: asked and woken
    exited,         // it was registered and has exited (the postmaster may not have reaped it)
    not_registered, // not connected to its database yet
};

// Asks the worker with this pid to exit between runs, and wakes it.
exit_request_outcome request_exit_between_runs(pid_t pid, exit_request why);

// Whether, and why, the launcher asked the calling worker to exit between runs.
exit_request exit_between_runs_requested();

// Records whether the calling worker is in a run (set around each run), and whether the worker
// with this pid is: a worker in a run may stay there long (a concurrent detach waiting for an
// old transaction), so the launcher asks one between runs for its slot first.
void set_in_run(bool in_run);
bool worker_in_run(pid_t pid);

} // namespace ai_scale::partition
