#include "pg/relation_plan.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace ai_scale::pg {

SPIPlanPtr plan_for(relation_plan& cached, Oid relid, const char* sql_format, int nargs,
                    Oid* argtypes, const char* what)
{
    if (cached.plan != nullptr && cached.relid == relid)
        return cached.plan;
    if (cached.plan != nullptr)
        SPI_freeplan(cached.plan);
    cached.plan = nullptr;
    const char* rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
                                                 get_rel_name(relid));
    SPIPlanPtr p = SPI_prepare(psprintf(sql_format, rel), nargs, argtypes);
    if (p == nullptr)
        elog(ERROR, "ai_scale: cannot prepare the %s: %s", what,
             SPI_result_code_string(SPI_result));
    SPI_keepplan(p);
    cached.plan = p;
    cached.relid = relid;
    return p;
}

} // namespace ai_scale::pg
