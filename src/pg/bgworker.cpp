#include "pg/bgworker.hpp"

extern "C" {
#include "miscadmin.h"
}

#include <cstring>

namespace ai_scale::pg {

BackgroundWorker ai_scale_worker(const char* function, const char* name, const char* type,
                                 int restart_time)
{
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = restart_time;
    strlcpy(worker.bgw_library_name, "ai_scale", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
    strlcpy(worker.bgw_name, name, BGW_MAXLEN);
    strlcpy(worker.bgw_type, type, BGW_MAXLEN);
    return worker;
}

void check_for_interrupts_when_idle()
{
    // Checked with cancels held, then the pending cancel dropped: cleared first, a cancel that
    // came between the clear and the check was an ERROR, which ends a background worker (under
    // load, TAP 155's storm of cancels made the launcher exit so).
    HOLD_CANCEL_INTERRUPTS();
    CHECK_FOR_INTERRUPTS();
    RESUME_CANCEL_INTERRUPTS();
    QueryCancelPending = false;
}

} // namespace ai_scale::pg
