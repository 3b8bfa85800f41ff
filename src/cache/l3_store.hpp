// L3: the prediction store (ai_scale.store_table) looked up by (model_name, model_version,
// input_hash, input_data) within the cache TTL, so partition pruning keeps the scan to recent
// partitions. A missing store, or one the user may not read, is a miss.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <string>
#include <vector>

namespace ai_scale::cache {

// The table ai_scale.store_table names, or InvalidOid when it is unset, does not exist or is
// not a table or a partitioned table (a view is never used: it would run its owner's code with
// the caller's rights, see is_table). What predict() writes.
Oid store_table_relid();

// Locks store_table_relid()'s table for an INSERT; false when it was dropped since it was found
// (there is then no store).
bool lock_store_for_insert(Oid relid);

// The store table if it exists, is a table or a partitioned table, the current user may use
// its schema and read it, and it is not an unlogged store on a standby (whose rows cannot be
// read there), else InvalidOid (never an error; _readable_store() says it).
// Locked (ACCESS SHARE) when it is returned: one dropped while this waited for it is missing.
Oid l3_readable_store();

// The table a value of ai_scale.store_table would name (as store_table_relid() resolves the
// setting), or InvalidOid; an error for a value the setting refuses (stringToQualifiedNameList).
Oid store_named(const char* name);

// Why ai_scale.store_table names no store where its text alone does not say (a view; a name
// without a schema, looked up in public), as a sentence; empty otherwise.
std::string store_table_not_table_detail();

// l3_readable_store(), or InvalidOid for a store keyed by date, which no lookup reads (with a
// WARNING, once per backend and store): what the lookups below read. An error (42703) naming
// the column for a store without one of those the lookups read.
Oid l3_lookup_store();

// The newest output stored in relid for the input within ttl_s, palloc'd in the caller's
// context; null when none. *unsettled says whether the store may not hold that row once the
// transactions at work on it end, so that it must not be copied to L1 or Redis now: written by
// the current transaction (or one of its subtransactions), which may roll back, or deleted or
// updated by a transaction running or committed (a delete that this snapshot does not see yet,
// made before a cache_invalidate that the fill would then undo; a lock, or a delete rolled
// back, leaves the row: row_removal.hpp), or read from a temporary store,
// whose rows are the reading session's own, or older than ttl_s by the wall clock (found
// because the window counts from now(), the start of a transaction that began before), or not
// what a lookup made now would find (looked up again with the latest snapshot when it differs
// from the active one; in parallel mode, where no latest one can be taken, every hit whose
// snapshot differs from one taken to compare). Raises (as
// pg::postgres_error) only for real query errors.
Jsonb* l3_get(Oid relid, text* model, int32 version, Jsonb* input, int ttl_s, bool* unsettled);

// l3_get for many inputs (none null) in one query: one output or null per input, in order;
// (*unsettled)[i] as l3_get's.
std::vector<Jsonb*> l3_get_many(Oid relid, text* model, int32 version,
                                const std::vector<Jsonb*>& inputs, int ttl_s,
                                std::vector<bool>* unsettled);

} // namespace ai_scale::cache
