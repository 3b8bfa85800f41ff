#include "cache/l3_store.hpp"
#include "cache/key.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/relation_plan.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"
}

namespace ai_scale::cache {

namespace {

// The plan is kept per backend for the table it was made for.
pg::relation_plan plan;

// The store table, if the current user may read it.
Oid readable_store_relid()
{
    Oid relid = store_table_relid();
    if (relid == InvalidOid)
        return InvalidOid;
    bool readable =
        pg::call([&] { return pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK; });
    return readable ? relid : InvalidOid;
}

} // namespace

Oid store_table_relid()
{
    if (guc::store_table == nullptr || guc::store_table[0] == '\0')
        return InvalidOid;
    return pg::call([] {
        List* names = stringToQualifiedNameList(guc::store_table);
        return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
    });
}

bool l3_available()
{
    return readable_store_relid() != InvalidOid;
}

Jsonb* l3_get(text* model, int32 version, Jsonb* input, int ttl_s)
{
    Oid relid = readable_store_relid();
    if (relid == InvalidOid)
        return nullptr;
    int64 hash = int64(input_hash(input));
    MemoryContext caller = CurrentMemoryContext;
    Jsonb* out = nullptr;
    pg::call([&] {
        SPI_connect();
        Oid types[5] = {TEXTOID, INT4OID, INT8OID, JSONBOID, FLOAT8OID};
        SPIPlanPtr p =
            pg::plan_for(plan, relid,
                         "SELECT output_data FROM %s WHERE model_name = $1 AND model_version = $2 "
                         "AND input_hash = $3 AND input_data = $4 "
                         "AND created_at >= now() - make_interval(secs => $5) "
                         "ORDER BY created_at DESC LIMIT 1",
                         5, types, "L3 lookup");
        Datum values[5] = {PointerGetDatum(model), Int32GetDatum(version), Int64GetDatum(hash),
                           PointerGetDatum(input), Float8GetDatum(double(ttl_s))};
        int rc = SPI_execute_plan(p, values, nullptr, true, 1);
        if (rc == SPI_OK_SELECT && SPI_processed == 1) {
            bool isnull = false;
            Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            if (!isnull) {
                MemoryContext spi = MemoryContextSwitchTo(caller);
                out = DatumGetJsonbPCopy(d);
                MemoryContextSwitchTo(spi);
            }
        }
        SPI_finish();
    });
    return out;
}

} // namespace ai_scale::cache
