// The locks the PL/pgSQL of maintenance takes by a relation's OID rather than its name: on a
// relation about to be dropped, and on the table a row of partition_config is about to name.
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/syscache.h"
}

using namespace ai_scale;

// _lock_to_drop(rel regclass) -> whether rel still exists once locked ACCESS EXCLUSIVE by its
// OID, as a DROP locks it (the parent first, when it is a partition), waiting at most
// lock_timeout. A DROP by the name the run read earlier looked the name up again after its
// wait: another session may have dropped the table meanwhile (42P01, the run's error), and
// made another of the same name, which the DROP then dropped. Locked only for a role that may
// drop it (a member of its owner's role), as a DROP would: for another, nothing is locked and
// the DROP refuses it.
AI_SCALE_FUNCTION(ai_scale_partition_lock_to_drop)
{
    const Oid rel = PG_GETARG_OID(0);
    const bool exists = pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return false;
        const auto* cls = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        const Oid owner = cls->relowner;
        const bool partition = cls->relispartition;
        ReleaseSysCache(tuple);
        if (!has_privs_of_role(GetUserId(), owner))
            return true;
        if (partition) {
            const Oid parent = get_partition_parent(rel, true);
            if (OidIsValid(parent))
                LockRelationOid(parent, AccessExclusiveLock);
        }
        LockRelationOid(rel, AccessExclusiveLock);
        return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(rel));
    });
    PG_RETURN_BOOL(exists);
}

// _lock_config_parent(rel regclass) -> rel's relpersistence, NULL when rel does not exist; for
// the trigger on partition_config, before a row names rel. For a role with the rights of rel's
// owner (the only one the trigger lets write the row) rel is also locked ACCESS SHARE until the
// transaction ends: a DROP that commits before the row does would forget no row (its event
// trigger cannot see it), and leave one for whatever table gets rel's OID next.
AI_SCALE_FUNCTION(ai_scale_partition_lock_config_parent)
{
    const Oid rel = PG_GETARG_OID(0);
    const char persistence = pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return '\0';
        const auto* cls = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        const Oid owner = cls->relowner;
        char found = cls->relpersistence;
        ReleaseSysCache(tuple);
        if (!has_privs_of_role(GetUserId(), owner))
            return found;
        LockRelationOid(rel, AccessShareLock);
        tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple)) { // dropped while the lock was awaited
            UnlockRelationOid(rel, AccessShareLock);
            return '\0';
        }
        found = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relpersistence;
        ReleaseSysCache(tuple);
        return found;
    });
    if (persistence == '\0')
        PG_RETURN_NULL();
    PG_RETURN_CHAR(persistence);
}
