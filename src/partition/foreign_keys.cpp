#include "partition/foreign_keys.hpp"

extern "C" {
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "storage/lockdefs.h"
#include "utils/fmgroids.h"
#include "utils/syscache.h"
}

namespace ai_scale::partition {

// pg_constraint has no index on the referenced table (confrelid), and a scan of it grows with
// every constraint in the database. A foreign key depends on each column it references, so
// pg_depend's index on the referenced object finds it: the entries on rel's columns
// (refobjsubid > 0), leaving out those on rel as a whole, one for each partition of a parent.
Oid first_referencing_foreign_key(Oid rel)
{
    ScanKeyData key[3];
    ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(RelationRelationId));
    ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(rel));
    ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTGreaterStrategyNumber, F_INT4GT,
                Int32GetDatum(0));
    Relation depend = table_open(DependRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 3, key);
    Oid first = InvalidOid;
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        const auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
        if (dep->classid != ConstraintRelationId || (OidIsValid(first) && dep->objid >= first))
            continue;
        HeapTuple constraint = SearchSysCache1(CONSTROID, ObjectIdGetDatum(dep->objid));
        if (!HeapTupleIsValid(constraint))
            continue;
        const auto* con = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(constraint));
        if (con->contype == CONSTRAINT_FOREIGN && con->confrelid == rel)
            first = dep->objid;
        ReleaseSysCache(constraint);
    }
    systable_endscan(scan);
    table_close(depend, AccessShareLock);
    return first;
}

} // namespace ai_scale::partition
