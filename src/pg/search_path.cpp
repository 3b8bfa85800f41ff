#include "pg/search_path.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace ai_scale::pg {

pinned_search_path::pinned_search_path() : level_(NewGUCNestLevel())
{
    try {
        call([] {
            set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
        });
    } catch (...) {
        AtEOXact_GUC(true, level_);
        throw;
    }
}

pinned_search_path::~pinned_search_path()
{
    AtEOXact_GUC(true, level_);
}

} // namespace ai_scale::pg
