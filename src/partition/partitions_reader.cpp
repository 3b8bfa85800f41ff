// partitions_reader (partitions_reader.hpp): which role keeps the lock its read took.
#include "partition/partitions_reader.hpp"

extern "C" {
#include "access/table.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
}

namespace ai_scale::partition {

partitions_reader::partitions_reader(Oid table)
{
    LOCKTAG tag;
    SET_LOCKTAG_RELATION(tag, MyDatabaseId, table);
    const Oid user = GetUserId();
    keep_lock_ =
        LockHeldByMe(&tag, AccessShareLock) || pg_class_ownercheck(table, user) ||
        pg_class_aclmask(table, user, ACL_ALL_RIGHTS_RELATION, ACLMASK_ANY) != 0 ||
        pg_attribute_aclcheck_all(table, user, ACL_ALL_RIGHTS_COLUMN, ACLMASK_ANY) == ACLCHECK_OK;
    rel_ = try_table_open(table, AccessShareLock);
}

void partitions_reader::close()
{
    table_close(rel_, keep_lock_ ? NoLock : AccessShareLock);
}

} // namespace ai_scale::partition
