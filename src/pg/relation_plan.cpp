#include "pg/relation_plan.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
}

namespace ai_scale::pg {

SPIPlanPtr plan_for(relation_plan& cached, Oid relid, const char* sql_format, int nargs,
                    Oid* argtypes, const char* what, int cursor_options)
{
    // The relation may have been dropped since its oid was looked up (the lookups return null).
    const char* name = get_rel_name(relid);
    const char* schema = name != nullptr ? get_namespace_name(get_rel_namespace(relid)) : nullptr;
    if (name == nullptr || schema == nullptr)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("the table for the %s no longer exists", what)));
    const char* rel = quote_qualified_identifier(schema, name);
    if (cached.plan != nullptr && cached.relid == relid && strcmp(cached.name, rel) == 0)
        return cached.plan;
    if (cached.plan != nullptr)
        SPI_freeplan(cached.plan);
    cached.plan = nullptr;
    if (cached.name != nullptr)
        pfree(cached.name);
    cached.name = nullptr;
    SPIPlanPtr p = SPI_prepare_cursor(psprintf(sql_format, rel), nargs, argtypes, cursor_options);
    if (p == nullptr)
        elog(ERROR, "ai_scale: cannot prepare the %s: %s", what,
             SPI_result_code_string(SPI_result));
    SPI_keepplan(p);
    cached.plan = p;
    cached.relid = relid;
    cached.name = MemoryContextStrdup(TopMemoryContext, rel);
    return p;
}

} // namespace ai_scale::pg
