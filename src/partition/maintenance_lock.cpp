// ai_scale._lock_for_maintenance(parent): the lock on which maintenance runs of one table,
// rescues from its default partition, and manage/unmanage_partitions of it serialize. It is an
// advisory lock of a class of its own: SQL's pg_advisory_* functions take only classes 1 and 2,
// so no role can hold this one but through this function, which asks for the table owner's
// privileges. (With an SQL advisory lock, any role could hold a table's key and keep its
// maintenance skipped for as long as it liked.)
#include "partition/owner_scope.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "storage/lock.h"
}

using namespace ai_scale;

namespace {

// locktag_field4 of the lock: pg_locks shows it as objsubid (and the table's OID as objid).
constexpr uint16 maintenance_lock_class = 16713;

} // namespace

// _lock_for_maintenance(parent regclass) -> void: waits (within lock_timeout) for the lock and
// holds it to the end of the transaction; taking it again in the same transaction returns at
// once. Refused (42501) to a caller without the owner's privileges; a table that no longer
// exists needs no lock.
AI_SCALE_FUNCTION(ai_scale_partition_lock_for_maintenance)
{
    const Oid rel = PG_GETARG_OID(0);
    if (partition::owner_of(rel) == InvalidOid)
        PG_RETURN_VOID();
    partition::require_owner_rights(rel);
    pg::call([&] {
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, rel, maintenance_lock_class);
        (void)LockAcquire(&tag, ExclusiveLock, false, false);
    });
    PG_RETURN_VOID();
}
