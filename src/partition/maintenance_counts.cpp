// The maintenance counters of the stats view (runs, actions, errors), as run_maintenance adds
// to them.
#include "pg/guard.hpp"
#include "pg/postgres.hpp"
#include "stats/shared_stats.hpp"

using namespace ai_scale;

// _count_maintenance(runs, actions, errors): adds to the maintenance counters of the stats view.
// Every role may call it (run_maintenance calls it as its caller); a negative count, which no
// run makes, wrapped the cluster's shared counters to about 1.8e19.
AI_SCALE_FUNCTION(ai_scale_partition_count_maintenance)
{
    if (PG_GETARG_INT32(0) < 0 || PG_GETARG_INT32(1) < 0 || PG_GETARG_INT32(2) < 0)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "maintenance counts must not be negative");
    stats::add(stats::counter::maintenance_runs, uint64_t(PG_GETARG_INT32(0)));
    stats::add(stats::counter::maintenance_actions, uint64_t(PG_GETARG_INT32(1)));
    stats::add(stats::counter::maintenance_errors, uint64_t(PG_GETARG_INT32(2)));
    PG_RETURN_VOID();
}
