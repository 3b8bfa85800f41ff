#include "cache/database_incarnation.hpp"
#include "pg/guard.hpp"

#include <string>

extern "C" {
#include "access/htup_details.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace ai_scale::cache {

namespace {

Oid known_database = InvalidOid; // whose incarnation is known, none when InvalidOid
uint32_t known_incarnation = 0;
bool callback_registered = false;

void forget_incarnation(Datum, int, uint32)
{
    known_database = InvalidOid;
}

} // namespace

uint32_t database_incarnation(Oid database)
{
    if (database == known_database)
        return known_incarnation;
    // -1: no such database.
    const int64_t incarnation = pg::call([&] {
        if (!callback_registered) {
            CacheRegisterSyscacheCallback(DATABASEOID, forget_incarnation, 0);
            callback_registered = true;
        }
        HeapTuple row = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database));
        if (!HeapTupleIsValid(row))
            return int64_t(-1);
        const int64_t xmin = HeapTupleHeaderGetRawXmin(row->t_data);
        ReleaseSysCache(row);
        return xmin;
    });
    if (incarnation < 0)
        throw pg::error(ERRCODE_UNDEFINED_DATABASE,
                        "database with OID " + std::to_string(database) + " does not exist");
    known_database = database;
    known_incarnation = uint32_t(incarnation);
    return known_incarnation;
}

} // namespace ai_scale::cache
