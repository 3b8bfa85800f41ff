// Whether a store row an L3 lookup found may be gone once the transactions at work on it end
// (row_removal.cpp): read from the row's header, which tells a lock from a delete.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "storage/itemptr.h"
}

namespace ai_scale::cache {

// Whether the row at tid of the table relid, found by a lookup (which holds the table's lock)
// with its xmax set, is deleted or updated by a transaction that is running or committed. A
// row only locked (FOR KEY SHARE, as every insert into a table with a foreign key to the store
// locks the row it references), or whose delete or update rolled back, stays: its xmax stays
// set until the page is frozen, and read from the xmax alone it was never cached again.
// True when it cannot tell (a foreign partition, another table access method, the row not
// where the lookup found it). In a transaction.
bool row_may_be_removed(Oid relid, ItemPointer tid);

} // namespace ai_scale::cache
