// A saved SPI plan for one statement over a relation chosen at run time (e.g. by a GUC), kept
// per backend and prepared again when the relation changes, or its name does: the plan's text
// names the relation, and Postgres parses that text again whenever the relation is altered, so a
// plan kept after a rename would look up the old name (an error, or another table that took it).
// Or when the relation's rewrite rules do: a plan a DO INSTEAD rule rewrote into nothing (DO
// INSTEAD NOTHING), or into statements on other tables, depends on none of the relation's
// entries, and the plan cache kept it after the rule was dropped: that backend's predict()
// stored nothing for good, where a new session stored. Or when the argument types do: L3 passes
// its window in the type of the store's key (src/cache/l3_store.cpp), and a plan kept after the
// key changed type read the new type's values as the old one's.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace ai_scale::pg {

struct relation_plan {
    SPIPlanPtr plan = nullptr;
    Oid relid = InvalidOid;
    char* name = nullptr;    // the quoted qualified name in the plan's text (TopMemoryContext)
    uint64 rules = 0;        // the relation's rewrite rules when prepared (relation_plan.cpp)
    Oid* argtypes = nullptr; // the argument types it was prepared with (TopMemoryContext)
    int nargs = 0;
};

// The plan of `sql_format` (one %s, replaced by the relation's quoted qualified name) for relid,
// prepared with the given argument types when there is none yet or it was made for another
// relation, another name of it or other argument types. Call while connected to SPI, under
// pg::call: it raises Postgres errors; `what` names the statement in them. cursor_options go to
// SPI_prepare_cursor (CURSOR_OPT_CUSTOM_PLAN: planned again with the values at each execution).
SPIPlanPtr plan_for(relation_plan& cached, Oid relid, const char* sql_format, int nargs,
                    Oid* argtypes, const char* what, int cursor_options = 0);

} // namespace ai_scale::pg
