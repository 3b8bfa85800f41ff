// ai_scale._has_rows_unlocked (install/20_partition_catalog.sql): whether a table holds a row of
// its own, looked at under a lock that is released again at once, unless the transaction held
// it before.
//
// A run looks at the default partition (does it hold rows?) before it locks it ACCESS EXCLUSIVE
// for its attaches. Kept to the end of the transaction, the look's ACCESS SHARE would make that
// lock an upgrade: a transaction that had read the table and then asked for ACCESS EXCLUSIVE on
// the default (LOCK TABLE, TRUNCATE) while the run waited for its own would be failed at once by
// the deadlock detector (specs/default_reader_then_writer.spec). The answer is a hint: the
// steps that act on it look again under their lock.
//
// A scan from C, not a query: it takes that one lock and no other, and gives it back, with no
// subtransaction (rolled back from PL/pgSQL, one needs an error raised, which exit_on_error
// turns into a FATAL).
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

namespace {

// Whether rel has a row visible to snapshot.
bool scan_finds_row(Relation rel, Snapshot snapshot)
{
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
    const bool found = table_scan_getnextslot(scan, ForwardScanDirection, slot);
    table_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    return found;
}

} // namespace

AI_SCALE_FUNCTION(ai_scale_partition_has_rows_unlocked)
{
    const Oid relid = PG_GETARG_OID(0);
    // Refused as SELECT EXISTS (SELECT 1 FROM ONLY rel) would refuse it: without SELECT on the
    // table or any of its columns; seen under the statement's snapshot, as it would see it.
    const char kind = get_rel_relkind(relid);
    if (kind == '\0')
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("relation with OID %u does not exist", relid)));
    const AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
    if (acl != ACLCHECK_OK &&
        pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
        aclcheck_error(acl, get_relkind_objtype(kind), get_rel_name(relid));
    // A partitioned table holds no row of its own.
    if (kind == RELKIND_PARTITIONED_TABLE)
        PG_RETURN_BOOL(false);
    if (!RELKIND_HAS_TABLE_AM(kind))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("\"%s\" is not a table with rows of its own", get_rel_name(relid))));
    Relation rel = try_table_open(relid, AccessShareLock);
    if (rel == nullptr)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("relation with OID %u does not exist", relid)));
    bool found = true; // under row-level security, rows the policies hide might be there
    if (check_enable_rls(relid, InvalidOid, false) != RLS_ENABLED) {
        Snapshot snapshot =
            RegisterSnapshot(ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot());
        found = scan_finds_row(rel, snapshot);
        UnregisterSnapshot(snapshot);
    }
    // Released unless the transaction held it before (a lock is counted per taking).
    table_close(rel, AccessShareLock);
    PG_RETURN_BOOL(found);
}
