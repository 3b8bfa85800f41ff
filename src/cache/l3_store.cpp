#include "cache/l3_store.hpp"
#include "cache/key.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"

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
SPIPlanPtr plan = nullptr;
Oid plan_relid = InvalidOid;

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
        if (plan == nullptr || plan_relid != relid) {
            if (plan != nullptr)
                SPI_freeplan(plan);
            plan = nullptr;
            const char* rel = quote_qualified_identifier(
                get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
            char* sql =
                psprintf("SELECT output_data FROM %s WHERE model_name = $1 AND model_version = $2 "
                         "AND input_hash = $3 AND input_data = $4 "
                         "AND created_at >= now() - make_interval(secs => $5) "
                         "ORDER BY created_at DESC LIMIT 1",
                         rel);
            Oid types[5] = {TEXTOID, INT4OID, INT8OID, JSONBOID, FLOAT8OID};
            SPIPlanPtr p = SPI_prepare(sql, 5, types);
            if (p == nullptr)
                elog(ERROR, "ai_scale: cannot prepare the L3 lookup: %s",
                     SPI_result_code_string(SPI_result));
            SPI_keepplan(p);
            plan = p;
            plan_relid = relid;
        }
        Datum values[5] = {PointerGetDatum(model), Int32GetDatum(version), Int64GetDatum(hash),
                           PointerGetDatum(input), Float8GetDatum(double(ttl_s))};
        int rc = SPI_execute_plan(plan, values, nullptr, true, 1);
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
