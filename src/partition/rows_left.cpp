// ai_scale._rows_left (install/20_partition_common.sql): of rows of a table named by their ctid,
// which were not deleted: still there (kept), or updated into a new version (changed).
//
// A move that copies rows out of the default partition and then deletes them (_copy_then_delete:
// the default has a DO ALSO rule on DELETE) finds some it copied missing from those its DELETE
// removed. A rule's action runs before the DELETE: one that deletes related rows of the range (a
// cascade) took nothing from the move, as the copy holds them; one that UPDATEs a row out of the
// range (or into another partition, through the parent) leaves the row changed where it went,
// and the copy would make it twice; a BEFORE DELETE trigger that returned NULL kept it. SQL sees
// none of that: a deleted and an updated row are both gone from its snapshot. The tuple header
// tells them apart: an updated tuple points on to its new version, or is marked as moved to
// another partition; a deleted one points to itself.
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

using namespace ai_scale;

namespace {

enum class row_fate { deleted, kept, changed };

// What became of the tuple at tid: still visible to snapshot (kept), gone with a newer version
// (changed), or gone (deleted; also a line pointer no longer in use, which only a vacuum of a
// row deleted for all could free).
row_fate fate_of(Relation rel, Snapshot snapshot, ItemPointer tid, BlockNumber blocks)
{
    if (!ItemPointerIsValid(tid) || ItemPointerGetBlockNumber(tid) >= blocks)
        return row_fate::deleted;
    HeapTupleData tuple;
    tuple.t_self = *tid;
    Buffer buffer = InvalidBuffer;
    if (heap_fetch(rel, snapshot, &tuple, &buffer, true)) {
        ReleaseBuffer(buffer);
        return row_fate::kept;
    }
    if (!BufferIsValid(buffer))
        return row_fate::deleted;
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    const HeapTupleHeader header = tuple.t_data;
    const bool changed = HeapTupleHeaderIndicatesMovedPartitions(header) ||
                         !ItemPointerEquals(&tuple.t_self, &header->t_ctid);
    UnlockReleaseBuffer(buffer);
    return changed ? row_fate::changed : row_fate::deleted;
}

} // namespace

// _rows_left(rel regclass, rows tid[], OUT kept bigint, OUT changed bigint), for a role that may
// read the table (as SELECT ctid would need): of rows, those still visible to the statement's
// snapshot, and those gone with a newer version (updated, also into another partition). A heap
// table only.
AI_SCALE_FUNCTION(ai_scale_partition_rows_left)
{
    const Oid relid = PG_GETARG_OID(0);
    ArrayType* rows = PG_GETARG_ARRAYTYPE_P(1);
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "_rows_left must be called in a context that accepts a record");
    const char kind = get_rel_relkind(relid);
    if (kind == '\0')
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("relation with OID %u does not exist", relid)));
    const AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
    if (acl != ACLCHECK_OK &&
        pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
        aclcheck_error(acl, get_relkind_objtype(kind), get_rel_name(relid));
    if (ARR_NDIM(rows) > 1 || ARR_ELEMTYPE(rows) != TIDOID)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("rows must be a one-dimensional array of tid")));
    Relation rel = table_open(relid, AccessShareLock);
    if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot tell what became of rows of \"%s\": it is not a heap table",
                               RelationGetRelationName(rel))));
    Datum* elements;
    bool* element_nulls;
    int count;
    deconstruct_array(rows, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT, &elements,
                      &element_nulls, &count);
    const BlockNumber blocks = RelationGetNumberOfBlocks(rel);
    Snapshot snapshot = RegisterSnapshot(GetActiveSnapshot());
    int64 kept = 0;
    int64 changed = 0;
    for (int i = 0; i < count; i++) {
        CHECK_FOR_INTERRUPTS();
        if (element_nulls[i])
            continue;
        switch (fate_of(rel, snapshot, reinterpret_cast<ItemPointer>(DatumGetPointer(elements[i])),
                        blocks)) {
        case row_fate::kept:
            kept++;
            break;
        case row_fate::changed:
            changed++;
            break;
        case row_fate::deleted:
            break;
        }
    }
    UnregisterSnapshot(snapshot);
    table_close(rel, AccessShareLock);
    Datum values[2] = {Int64GetDatum(kept), Int64GetDatum(changed)};
    bool nulls[2] = {false, false};
    tupdesc = BlessTupleDesc(tupdesc);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
