#include "pg/relation_plan.hpp"

extern "C" {
#include "common/hashfn.h"
#include "rewrite/prs2lock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
}

#include <cstring>
#include <initializer_list>

namespace ai_scale::pg {

namespace {

// The relation's rewrite rules as its relcache entry has them now, folded into one number (0 for
// none): each rule's OID, event, whether it is enabled and INSTEAD, and its condition and
// actions as Postgres writes them out. What the rules say, not where they are: CREATE OR
// REPLACE RULE keeps the rule's OID and flag, the relcache's new rules could land where the old
// ones had been, and with the rules' address in their place a session kept the plan of the rule
// replaced (a DO INSTEAD NOTHING replaced by DO ALSO NOTHING: it stored nothing).
uint64 rules_fingerprint(Oid relid)
{
    Relation rel = RelationIdGetRelation(relid);
    if (!RelationIsValid(rel))
        return 0;
    uint64 h = 0;
    for (int i = 0; rel->rd_rules != nullptr && i < rel->rd_rules->numLocks; i++) {
        const RewriteRule* r = rel->rd_rules->rules[i];
        const uint32 fields[] = {r->ruleId, uint32(r->event), uint32(uint8(r->enabled)),
                                 uint32(r->isInstead)};
        h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(fields), sizeof fields, h);
        for (char* text : {nodeToString(r->qual), nodeToString(r->actions)}) {
            h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(text), int(strlen(text)),
                                    h);
            pfree(text);
        }
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
        cached.rules == rules && cached.nargs == nargs &&
        (nargs == 0 || memcmp(cached.argtypes, argtypes, nargs * sizeof(Oid)) == 0))
        return cached.plan;
    if (cached.plan != nullptr)
        SPI_freeplan(cached.plan);
    cached.plan = nullptr;
    if (cached.name != nullptr)
        pfree(cached.name);
    cached.name = nullptr;
    if (cached.argtypes != nullptr)
        pfree(cached.argtypes);
    cached.argtypes = nullptr;
    cached.nargs = 0;
    SPIPlanPtr p = SPI_prepare_cursor(psprintf(sql_format, rel), nargs, argtypes, cursor_options);
    if (p == nullptr)
        elog(ERROR, "ai_scale: cannot prepare the %s: %s", what,
             SPI_result_code_string(SPI_result));
    SPI_keepplan(p);
    cached.plan = p;
    cached.relid = relid;
    cached.name = MemoryContextStrdup(TopMemoryContext, rel);
    cached.rules = rules;
    if (nargs > 0) {
        cached.argtypes =
            static_cast<Oid*>(MemoryContextAlloc(TopMemoryContext, nargs * sizeof(Oid)));
        memcpy(cached.argtypes, argtypes, nargs * sizeof(Oid));
    }
    cached.nargs = nargs;
    return p;
}

} // namespace ai_scale::pg
