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

} // namespace ai_scale::pg
