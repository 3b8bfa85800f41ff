// ai_scale._rows_left (install/20_partition_move.sql): of rows of a table named by their ctid,
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
#include "access/tableam.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

using namespace ai_scale;

namespace {

// The version of a row a tid names, as heap_fetch reads it: visible to the snapshot or not,
// and where not, the next version's tid (where an update made one in this table: not a delete,
// nor an update into another partition, which marks the tuple so) and the update's transaction.
struct version {
    bool fetched = false; // a tuple is there (a line pointer in use)
    bool visible = false;
    bool moved_out = false; // updated into another partition
    bool updated = false;   // updated in this table: next names the new version
    ItemPointerData next;
    TransactionId xmin = InvalidTransactionId;
    TransactionId updater = InvalidTransactionId;
};

version read_version(Relation rel, Snapshot snapshot, ItemPointer tid, BlockNumber blocks)
{
    version v;
    ItemPointerSetInvalid(&v.next);
    if (!ItemPointerIsValid(tid) || ItemPointerGetBlockNumber(tid) >= blocks)
        return v;
    HeapTupleData tuple;
    tuple.t_self = *tid;
    Buffer buffer = InvalidBuffer;
    v.visible = heap_fetch(rel, snapshot, &tuple, &buffer, true);
    if (!BufferIsValid(buffer))
        return v;
    v.fetched = true;
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    const HeapTupleHeader header = tuple.t_data;
    v.xmin = HeapTupleHeaderGetXmin(header);
    v.moved_out = HeapTupleHeaderIndicatesMovedPartitions(header);
    v.updated = !v.moved_out && !ItemPointerEquals(&tuple.t_self, &header->t_ctid);
    if (v.updated) {
        v.next = header->t_ctid;
        v.updater = HeapTupleHeaderGetUpdateXid(header);
    }
    UnlockReleaseBuffer(buffer);
    return v;
}

enum class row_fate { deleted, kept, changed };

// What became of the row at tid: still visible to snapshot (kept); gone, with a later version
// visible, in this table or another partition (changed); or gone (deleted; also a line pointer
// no longer in use, which only a vacuum of a row deleted for all could free). An update chain is
// followed to its end: a row a rule updated and then deleted (a cascade that marks a row first)
// is deleted, where the first version's header alone called it changed.
row_fate fate_of(Relation rel, Snapshot snapshot, ItemPointer tid, BlockNumber blocks)
{
    version v = read_version(rel, snapshot, tid, blocks);
    if (!v.fetched)
        return row_fate::deleted;
    if (v.visible)
        return row_fate::kept;
    // A chain is as long as the updates of the row in the transaction; bounded all the same.
    for (int hops = 0; hops < 100000; hops++) {
        if (v.moved_out)
            return row_fate::changed;
        if (!v.updated)
            return row_fate::deleted;
        CHECK_FOR_INTERRUPTS();
        const TransactionId updater = v.updater;
        ItemPointerData next = v.next;
        v = read_version(rel, snapshot, &next, blocks);
        // The next version is not there, or is another row's (its line pointer was freed and
        // used again): the chain ends in a version gone for all.
        if (!v.fetched || !TransactionIdEquals(v.xmin, updater))
            return row_fate::deleted;
        if (v.visible)
            return row_fate::changed;
    }
    return row_fate::changed;
}

} // namespace

// _rows_left(rel regclass, rows tid[], OUT kept bigint, OUT changed bigint), for a role that may
// read the whole table: of rows, those still visible to the statement's snapshot, and those gone
// with a later version visible (updated, also into another partition). A heap table only.
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
    // SELECT on the table, as a scan of it needs (a column's is not enough: the header tells of
    // whole rows); not under row-level security, whose policies might hide rows it would count.
    const AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
    if (acl != ACLCHECK_OK)
        aclcheck_error(acl, get_relkind_objtype(kind), get_rel_name(relid));
    if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("cannot tell what became of rows of \"%s\" under row-level security",
                               get_rel_name(relid))));
    if (ARR_NDIM(rows) > 1 || ARR_ELEMTYPE(rows) != TIDOID)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("rows must be a one-dimensional array of tid")));
    Relation rel = try_table_open(relid, AccessShareLock);
    if (rel == nullptr) // dropped while the lock was awaited
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("relation with OID %u does not exist", relid)));
    if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_tableam != GetHeapamTableAmRoutine())
        ereport(ERROR,
                (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                 errmsg("cannot tell what became of rows of \"%s\": it is not a heap table",
                        RelationGetRelationName(rel)),
                 errdetail("Only a heap table's row headers tell a row deleted from one updated "
                           "into a new version.")));
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
