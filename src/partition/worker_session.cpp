// The maintenance worker's session: see worker_session.hpp.
#include "partition/worker_session.hpp"

#include "guc.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/spi.h"
#include "postmaster/bgworker.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace ai_scale::partition::worker {

MemoryContext run_context = nullptr;

const char* database_name()
{
    return MyBgworkerEntry->bgw_extra;
}

bool returns_a_row(const char* query, int nargs, Oid* types, Datum* args)
{
    int rc = SPI_execute_with_args(query, nargs, types, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "ai_scale maintenance: SPI_execute failed: %s", SPI_result_code_string(rc));
    return SPI_processed > 0;
}

void start_transaction(const char* activity)
{
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, activity);
}

// The commit leaves TopMemoryContext current: what the worker allocates between transactions
// (the statements a deferred detach builds) goes to run_context instead, emptied at each run.
// In TopMemoryContext it stayed for the worker's life: 288 bytes per partition dropped.
void finish_transaction()
{
    if (ActiveSnapshotSet())
        PopActiveSnapshot();
    CommitTransactionCommand();
    MemoryContextSwitchTo(run_context);
    pgstat_report_activity(STATE_IDLE, nullptr);
}

void set_lock_timeout()
{
    char value[32];
    snprintf(value, sizeof value, "%dms", ai_scale::guc::maintenance_lock_timeout_ms);
    SetConfigOption("lock_timeout", value, PGC_SUSET, PGC_S_SESSION);
}

void roll_back_step()
{
    AbortOutOfAnyTransaction();
    // A detach's portal that failed after the statement's first commit outlives the abort
    // (as after a client's statement, which PostgresMain cleans up the same way).
    PortalErrorCleanup();
    if (ActiveSnapshotSet())
        PopActiveSnapshot();
    SPI_finish();
    set_lock_timeout();
}

} // namespace ai_scale::partition::worker
