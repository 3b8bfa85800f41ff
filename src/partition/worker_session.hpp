// The maintenance worker's session (worker_session.cpp): its transactions, its SPI queries and
// the memory of a run, shared by the runs of the managed tables (worker.cpp) and the concurrent
// detaches they defer (worker_detach.cpp). C style, as the worker: Postgres errors longjmp
// through this code, so no object here owns a destructor.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition::worker {

// What the worker allocates between transactions, emptied at each run (made at the worker's
// start, in worker.cpp).
extern MemoryContext run_context;

// The worker's database (the launcher names it in bgw_extra): the one it connects to, which its
// log lines name, since a background worker's lines get no %d from log_line_prefix and the
// workers of two databases log the same table names.
const char* database_name();

// Returns a row when the extension is installed in the worker's database.
constexpr const char* extension_installed =
    "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'ai_scale'";

// Whether query, with nargs parameters of types, returns a row. Inside a transaction, connected
// to SPI.
bool returns_a_row(const char* query, int nargs = 0, Oid* types = nullptr, Datum* args = nullptr);

// Starts a transaction with a snapshot, showing activity in pg_stat_activity.
void start_transaction(const char* activity);

// Commits the transaction start_transaction began, and makes run_context current again.
void finish_transaction();

// Sets lock_timeout to ai_scale.maintenance_lock_timeout for the worker's session.
void set_lock_timeout();

// Rolls back what a failed step left: its transaction with any subtransaction the error left
// open, a detach's portal, its snapshot and SPI connection, and the lock timeout a detach
// clears. An error inside one of the worker's own subtransactions (unless_locked_out in
// worker_detach.cpp) other than the lock timeout it catches (a cancel, a deadlock) leaves it
// open: AbortCurrentTransaction aborted only it, and left the transaction in the state that
// waits for a ROLLBACK, and the next run's first subtransaction ended the worker with a FATAL
// ("BeginInternalSubTransaction: unexpected state SUBABORT"; found by the soak of
// 274_partition_chaos_soak.pl, its DBA cancelling the worker; TAP 278).
void roll_back_step();

} // namespace ai_scale::partition::worker
