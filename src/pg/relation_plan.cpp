#include "pg/relation_plan.hpp"

extern "C" {
#include "rewrite/prs2lock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
}

namespace ai_scale::pg {

namespace {

// The relation's rewrite rules as its relcache entry has them now (where they are, their OIDs
// and whether each is enabled), folded into one number; 0 for none.
uint64 rules_fingerprint(Oid relid)
{
    Relation rel = RelationIdGetRelation(relid);
    if (!RelationIsValid(rel))
        return 0;
    // The rules' own address too: the relcache keeps its entry's rules when a rebuild finds
    // them equal, and makes new ones when a rule changed (CREATE OR REPLACE RULE keeps its OID).
    uint64 h = uint64(reinterpret_cast<uintptr_t>(rel->rd_rules));
    if (rel->rd_rules != nullptr)
        for (int i = 0; i < rel->rd_rules->numLocks; i++) {
            const RewriteRule* r = rel->rd_rules->rules[i];
            h = (h ^ (uint64(r->ruleId) << 8 | uint64(uint8(r->enabled)))) * 0x100000001b3ull;
        }
    RelationClose(rel);
    return h;
}

} // namespace

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
    const uint64 rules = rules_fingerprint(relid);
    if (cached.plan != nullptr && cached.relid == relid && strcmp(cached.name, rel) == 0 &&
        cached.rules == rules)
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
    cached.rules = rules;
    return p;
}

} // namespace ai_scale::pg
