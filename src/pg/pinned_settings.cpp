#include "pg/pinned_settings.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "jit/jit.h"
#include "optimizer/cost.h"
#include "utils/guc.h"
#include "utils/plancache.h"
}

namespace ai_scale::pg {

namespace {

void pin(const char* name, const char* value)
{
    set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

} // namespace

// The store's lookups ask for plans made with each call's values (CURSOR_OPT_CUSTOM_PLAN), which
// planning prunes to the partitions of the lookup's window. plan_cache_mode =
// force_generic_plan overrides that ask (Postgres reads the setting first), and so, for every
// plan, does enable_partition_pruning = off: a role or database with either set had each lookup
// planned over every partition of the store and lock each, with its indexes, to the end of the
// transaction (2 s and 4,508 locks for one predict() at 1,502 partitions, against 0.8 ms and 11;
// eight such sessions at once filled the lock table). Compiled by JIT, as a session with a low
// jit_above_cost had them, each lookup and insert took 20 ms more (a query of a few rows, planned
// anew at each call). Each is set only where the session has it otherwise: a setting costs a
// little on every call.
pinned_settings::pinned_settings() : level_(NewGUCNestLevel())
{
    try {
        call([] {
            pin("search_path", "pg_catalog, pg_temp");
            if (plan_cache_mode == PLAN_CACHE_MODE_FORCE_GENERIC_PLAN)
                pin("plan_cache_mode", "auto");
            if (!enable_partition_pruning)
                pin("enable_partition_pruning", "on");
            if (jit_enabled)
                pin("jit", "off");
        });
    } catch (...) {
        AtEOXact_GUC(true, level_);
        throw;
    }
}

pinned_settings::~pinned_settings()
{
    AtEOXact_GUC(true, level_);
}

} // namespace ai_scale::pg
