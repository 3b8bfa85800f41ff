#include "predict/store.hpp"
#include "predict/queue.hpp"
#include "guc.hpp"
#include "cache/l3_store.hpp"
#include "pg/guard.hpp"
#include "pg/relation_plan.hpp"
#include "pg/pinned_settings.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "storage/lmgr.h"
#include "utils/varlena.h"
}

namespace ai_scale::predict {

namespace {

// The INSERT is planned once per backend for the table it was made for.
pg::relation_plan plan;

// The store_table setting this backend last warned of, in TopMemoryContext.
char* warned_store = nullptr;

// A WARNING that predict() stores nothing, once per backend and value of store_table: a typo
// there (or a store never made, or dropped) would otherwise store nothing unseen. Not where
// nothing is to be stored on purpose (store_mode off, a standby, a read-only transaction).
// Given again once that setting has named a store since (store() forgets it): a store dropped
// after it was made stored nothing unseen in a backend that had warned before it was made, as
// a pooler's server connections are, serving one client after another.
void warn_no_store()
{
    if (warned_store != nullptr && strcmp(warned_store, guc::store_table) == 0)
        return;
    // (Said without it, a view's name, or a table's name without its schema found on the
    // search_path, read as a typo.)
    const std::string why = cache::store_table_not_table_detail();
    pg::call([&] {
        if (warned_store != nullptr)
            pfree(warned_store);
        warned_store = MemoryContextStrdup(TopMemoryContext, guc::store_table);
        ereport(WARNING,
                (errcode(ERRCODE_UNDEFINED_TABLE),
                 errmsg("ai_scale.store_table \"%s\" names no table in this database: predict() "
                        "stores nothing",
                        guc::store_table),
                 why.empty() ? 0 : errdetail("%s", why.c_str()),
                 errhint("Make the store with ai_scale.create_prediction_store(), or set "
                         "ai_scale.store_mode = off to store nothing.")));
    });
}

ArrayType* array_of(const std::vector<Datum>& values, Oid type)
{
    int16 len;
    bool byval;
    char align;
    get_typlenbyvalalign(type, &len, &byval, &align);
    return construct_array(const_cast<Datum*>(values.data()), int(values.size()), type, len, byval,
                           align);
}

// One multi-row INSERT into the store table relid in the current transaction.
void insert_rows(Oid relid, text* model, int32 version, const std::vector<new_prediction>& rows)
{
    std::vector<Datum> inputs, outputs, hashes;
    for (const auto& r : rows) {
        inputs.push_back(PointerGetDatum(r.input));
        outputs.push_back(PointerGetDatum(r.output));
        hashes.push_back(Int64GetDatum(r.input_hash));
    }
    // The table's triggers and defaults run under it too, as under predict_batch's SET clause.
    pg::pinned_settings pinned;
    pg::call([&] {
        Datum values[5] = {PointerGetDatum(model), Int32GetDatum(version),
                           PointerGetDatum(array_of(inputs, JSONBOID)),
                           PointerGetDatum(array_of(outputs, JSONBOID)),
                           PointerGetDatum(array_of(hashes, INT8OID))};
        SPI_connect();
        Oid types[5] = {TEXTOID, INT4OID, JSONBARRAYOID, JSONBARRAYOID, INT8ARRAYOID};
        SPIPlanPtr p = pg::plan_for(plan, relid, insert_format, 5, types, "store insert");
        int rc = SPI_execute_plan(p, values, nullptr, false, 0);
        // SPI_OK_REWRITTEN: a DO INSTEAD rule of the store's did something else, as it would
        // with the same INSERT from a client.
        if (rc != SPI_OK_INSERT && rc != SPI_OK_REWRITTEN)
            elog(ERROR, "ai_scale: store insert failed: %s", SPI_result_code_string(rc));
        SPI_finish();
    });
}

// insert_rows, its error told what to do when the role may not insert into the store: the
// usual case for an application role at its first predict(), the store being another role's.
// Postgres's "permission denied for table ..." says nothing of the way out without a grant,
// storing nothing. Other errors, 42501 from a row-level security policy among them, pass as
// they are.
void insert_now(Oid relid, text* model, int32 version, const std::vector<new_prediction>& rows)
{
    // The caller, read before the insert: an ERROR in a SECURITY DEFINER function the insert
    // ran (a trigger's) leaves its owner as the current user until the abort, and the hint
    // named that role, for a table it had no part in.
    const Oid caller = GetUserId();
    try {
        insert_rows(relid, model, version, rows);
    } catch (const pg::postgres_error& e) {
        if (e.sqlstate() != ERRCODE_INSUFFICIENT_PRIVILEGE || !e.hint().empty())
            throw;
        // Asked only once the insert failed, not before every insert. USAGE on the store's
        // schema too: without it the insert fails on the schema (a new application role's
        // usual state), with Postgres's bare "permission denied for schema".
        bool lacks_insert = false, lacks_usage = false;
        const char* table_name = nullptr;
        const char* schema_name = nullptr;
        const char* role_name = nullptr;
        pg::call([&] {
            const Oid schema = get_rel_namespace(relid);
            lacks_usage = pg_namespace_aclcheck(schema, caller, ACL_USAGE) != ACLCHECK_OK;
            lacks_insert = pg_class_aclcheck(relid, caller, ACL_INSERT) != ACLCHECK_OK;
            if (!lacks_insert && !lacks_usage)
                return;
            const char* nsp = get_namespace_name(schema);
            schema_name = quote_identifier(nsp);
            table_name = quote_qualified_identifier(nsp, get_rel_name(relid));
            role_name = quote_identifier(GetUserNameFromId(caller, false));
        });
        if (!lacks_insert && !lacks_usage)
            throw;
        const std::string table(table_name), schema(schema_name), role(role_name);
        const std::string grants =
            (lacks_usage ? "GRANT USAGE ON SCHEMA " + schema + " TO " + role + "; " : "") +
            (lacks_insert ? "GRANT INSERT, SELECT ON " + table + " TO " + role + "; " : "");
        pg::postgres_error hinted(
            e.sqlstate(), e.what(),
            "predict() stores each input it scores in ai_scale.store_table, as its caller.",
            "Grant the role INSERT on it if it may put answers into the cache, as cache_put "
            "does (what it inserts there, every role's predict() answers): " +
                grants + "or have it store nothing: ALTER ROLE " + role +
                " SET ai_scale.store_mode = off;");
        hinted.names = e.names;
        throw hinted;
    }
}

} // namespace

const char* const insert_format =
    "INSERT INTO %s (model_name, model_version, input_data, output_data, input_hash) "
    "SELECT $1, $2, t.i, t.o, t.h FROM ROWS FROM (pg_catalog.unnest($3), "
    "pg_catalog.unnest($4), pg_catalog.unnest($5)) AS t(i, o, h)";

bool lock_install(Oid catalog)
{
    LockRelationOid(catalog, AccessShareLock);
    return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(catalog));
}

bool store(text* model, int32 version, const std::vector<new_prediction>& rows,
           bool version_uncommitted, Oid catalog)
{
    // A read-only transaction stores nothing, as on a hot standby (where every transaction is
    // read-only): async would write behind its back, and sync would fail with 25006.
    if (guc::store_mode == guc::store_off || rows.empty() || RecoveryInProgress() || XactReadOnly)
        return false;
    const Oid relid = cache::store_table_relid();
    if (relid == InvalidOid) {
        if (guc::store_table != nullptr && guc::store_table[0] != '\0') // '' is no store
            warn_no_store();
        return false;
    }
    // The setting warned of names a store now: a later drop of it is warned of again. (Not for
    // another setting's store: a session switching between a setting that names none and one
    // that names one, by a function's SET clause say, was warned at every switch.)
    if (warned_store != nullptr && strcmp(warned_store, guc::store_table) == 0) {
        pfree(warned_store);
        warned_store = nullptr;
    }
    if (guc::store_mode == guc::store_async && !version_uncommitted) {
        // The worker inserts as this user, but policies would see the worker's session: only
        // rows this user may insert, into a table without row-level security, are queued; the
        // others go through insert_now, which applies the user's privileges and policies.
        // A temporary store (store_table = 'pg_temp.t') is this session's alone: the worker
        // cannot write it, and lost every row queued for it.
        bool may_queue = pg::call([&] {
            return pg_namespace_aclcheck(get_rel_namespace(relid), GetUserId(), ACL_USAGE) ==
                       ACLCHECK_OK &&
                   pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) == ACLCHECK_OK &&
                   check_enable_rls(relid, InvalidOid, true) == RLS_NONE &&
                   get_rel_persistence(relid) != RELPERSISTENCE_TEMP;
        });
        if (may_queue && pg::call([&] { return enqueue(relid, model, version, rows); }))
            return false;
    }
    // As the store worker's insert does (lock_install): without it, DROP and CREATE EXTENSION
    // went on while these rows were uncommitted, and L3 answered a new model given their
    // version's number with them (TAP 287). An install dropped since stores nothing.
    if (OidIsValid(catalog) && !pg::call([&] { return lock_install(catalog); }))
        return false;
    // Locked only here: a queued row takes no lock on the store (the worker's insert does).
    if (!cache::lock_store_for_insert(relid))
        return false;
    insert_now(relid, model, version, rows);
    return true;
}

} // namespace ai_scale::predict
