// The background workers of ai_scale.so share their shape: shared memory and a database
// connection, started once recovery has finished (so on a primary, or at promotion).
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace ai_scale::pg {

// A worker running `function` (an extern "C" symbol of ai_scale.so), shown in pg_stat_activity
// with backend_type `type`; restart_time as bgw_restart_time. The caller sets bgw_main_arg,
// bgw_extra and bgw_notify_pid when it needs them.
BackgroundWorker ai_scale_worker(const char* function, const char* name, const char* type,
                                 int restart_time);

// CHECK_FOR_INTERRUPTS for a worker between its jobs, outside any transaction. A query cancel
// (pg_cancel_backend) has no statement to cancel there, and Postgres would turn it into FATAL
// (an ERROR with no handler to catch it), ending the worker (an idle store worker left the rows
// queued since its last drain to wait for the next async predict()): the cancel is ignored.
// Termination and the other interrupts are processed as usual.
void check_for_interrupts_when_idle();

} // namespace ai_scale::pg
