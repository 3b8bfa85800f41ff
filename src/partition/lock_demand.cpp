// ai_scale._lock_demand(parent, kept): how many locks a query reading every partition of a
// partitioned table takes, against what the server's lock table is sized for. A run that made
// partitions asks it, so it counts through the catalogs' indexes: the partitions in pg_inherits,
// not in the table's partition descriptor, which the partitions just made invalidated and which
// would be built again from every partition's bound.
#include "pg/guard.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/twophase.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/fmgroids.h"
}

using namespace ai_scale;

namespace {

// The rows of catalog (through its index on key_column) whose key_column is oid: parent's
// children in pg_inherits (detach-pending ones included), or its indexes in pg_index. Read
// without locking parent, which any role may name.
int64 count_rows(Oid catalog, Oid index, AttrNumber key_column, Oid oid)
{
    int64 n = 0;
    pg::call([&] {
        Relation rel = table_open(catalog, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, key_column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(oid));
        SysScanDesc scan = systable_beginscan(rel, index, true, nullptr, 1, &key);
        while (HeapTupleIsValid(systable_getnext(scan)))
            n++;
        systable_endscan(scan);
        table_close(rel, AccessShareLock);
    });
    return n;
}

} // namespace

// _lock_demand(parent regclass, kept bigint, OUT partitions bigint, OUT locks bigint,
// OUT slots bigint): partitions is kept, or when kept is null the partitions parent has; locks
// is what a query reading them all takes (one for each partition and each of its indexes);
// slots is what the lock table is sized for: max_locks_per_transaction for each process and
// prepared transaction (as InitLocks sizes it; it can grow somewhat past that into the spare
// shared memory). A null parent is an error (not the table with no partitions that oid 0 is).
AI_SCALE_FUNCTION(ai_scale_partition_lock_demand)
{
    if (PG_ARGISNULL(0))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "parent must not be null");
    const Oid parent = PG_GETARG_OID(0);
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "_lock_demand must be called in a context that accepts a record");
    const int64 partitions = PG_ARGISNULL(1) ? count_rows(InheritsRelationId, InheritsParentIndexId,
                                                          Anum_pg_inherits_inhparent, parent)
                                             : PG_GETARG_INT64(1);
    if (partitions < 0)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "kept must not be negative");
    // A query's plan locks each partition and each of its indexes (one for each of parent's);
    // past int64, as many as int64 holds.
    const int64 indexes =
        count_rows(IndexRelationId, IndexIndrelidIndexId, Anum_pg_index_indrelid, parent);
    int64 locks;
    if (__builtin_mul_overflow(partitions, 1 + indexes, &locks))
        locks = PG_INT64_MAX;
    const int64 slots = int64(max_locks_per_xact) * (int64(MaxBackends) + max_prepared_xacts);
    Datum values[3] = {Int64GetDatum(partitions), Int64GetDatum(locks), Int64GetDatum(slots)};
    bool nulls[3] = {false, false, false};
    tupdesc = BlessTupleDesc(tupdesc);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
