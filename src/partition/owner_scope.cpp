// ai_scale._as_owner(rel, statement) and _as_owner_rows(rel, query): maintenance of a managed
// table (all of it: its queries, its DDL, moving rows out of its default partition) runs as the
// table's owner, in a security-restricted operation, as Postgres runs VACUUM, ANALYZE and index
// builds. It fires the table's triggers and rules and evaluates its CHECK constraints, domains,
// generated columns and index expressions (planning a query on the table, or copying its index
// definitions, folds their constant parts): code of the owner's, which must not run with the
// rights of whoever runs maintenance (the worker's superuser, often). A SET ROLE would not do:
// under it, the owner's code could RESET ROLE back to the session's superuser; a
// security-restricted operation refuses that, and the GUC level opened here undoes any setting
// that code changes. register_model reads a prediction store in the same scope
// (scoring/store_highest_version.cpp).
#include "partition/owner_scope.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "utils/tuplestore.h"
}

using namespace ai_scale;

Oid partition::owner_of(Oid rel)
{
    return pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return InvalidOid;
        Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

Oid partition::require_owner_rights(Oid rel)
{
    const Oid owner = owner_of(rel);
    if (owner == InvalidOid)
        throw pg::error(ERRCODE_UNDEFINED_TABLE,
                        "relation with OID " + std::to_string(rel) + " does not exist");
    const bool allowed = pg::call([&] { return has_privs_of_role(GetUserId(), owner); });
    if (!allowed) {
        // Named as the SQL functions' errors name them (rel::regclass, owner::regrole, under
        // the extension's search path): the table schema-qualified, both quoted where needed.
        // get_rel_name gave the bare name, unquoted, and "?" for a table just dropped.
        const char* rel_name = pg::call([&] {
            return DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(rel)));
        });
        const char* owner_name =
            pg::call([&] { return quote_identifier(GetUserNameFromId(owner, false)); });
        throw pg::error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                        std::string("permission denied to act as the owner of table ") + rel_name,
                        std::string("Only the table's owner (") + owner_name +
                            "), its members and superusers may.");
    }
    return owner;
}

void partition::in_owner_scope(Oid owner, void (*body)(void* arg), void* arg)
{
    pg::call([&] {
        Oid saved_user;
        int saved_context;
        GetUserIdAndSecContext(&saved_user, &saved_context);
        const int level = NewGUCNestLevel();
        PG_TRY();
        {
            SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                              SECURITY_RESTRICTED_OPERATION);
            set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
            set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                              true, 0, false);
            body(arg);
        }
        PG_CATCH();
        {
            // The (sub)transaction's abort undoes the GUC level and SPI; the identity is put
            // back now, before anything else runs.
            SetUserIdAndSecContext(saved_user, saved_context);
            PG_RE_THROW();
        }
        PG_END_TRY();
        AtEOXact_GUC(false, level);
        SetUserIdAndSecContext(saved_user, saved_context);
    });
}

namespace {

struct statement_run {
    const char* statement;
    Tuplestorestate* store;
    TupleDesc desc;
    uint64 rows;
};

// Runs run->statement through SPI; puts its rows into run->store when one is given (they must
// have the types of run->desc).
void run_statement(void* arg)
{
    auto* run = static_cast<statement_run*>(arg);
    SPI_connect();
    const int rc = SPI_execute(run->statement, false, 0);
    // The two a caller's statement can make SPI refuse: not an internal error (XX000).
    // Each message whole, not built from pieces (Postgres's rule for translatable messages).
    if (rc == SPI_ERROR_COPY)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("COPY to or from the client cannot run as the owner of a table")));
    if (rc == SPI_ERROR_TRANSACTION)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("a transaction control statement cannot run as the owner of a "
                               "table")));
    if (rc < 0)
        elog(ERROR, "ai_scale: statement failed: %s", SPI_result_code_string(rc));
    run->rows = SPI_processed;
    if (run->store != nullptr) {
        TupleDesc got = SPI_tuptable != nullptr ? SPI_tuptable->tupdesc : nullptr;
        bool same = got != nullptr && got->natts == run->desc->natts;
        for (int i = 0; same && i < run->desc->natts; i++)
            same = TupleDescAttr(got, i)->atttypid == TupleDescAttr(run->desc, i)->atttypid;
        if (!same)
            ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                            errmsg("ai_scale: the statement's rows do not have the columns asked "
                                   "for")));
        for (uint64 i = 0; i < run->rows; i++)
            tuplestore_puttuple(run->store, SPI_tuptable->vals[i]);
    }
    SPI_finish();
}

// Runs statement as owner (in_owner_scope); puts its rows into store when one is given.
// Returns the rows it processed.
uint64 run_as(Oid owner, const char* statement, Tuplestorestate* store, TupleDesc desc)
{
    statement_run run{statement, store, desc, 0};
    partition::in_owner_scope(owner, run_statement, &run);
    return run.rows;
}

const char* statement_arg(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "relation and statement must not be null");
    return pg::call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(1)); });
}

} // namespace

// _as_owner(rel regclass, statement text) -> bigint: runs statement (one SQL statement, without
// parameters) as the owner of rel (run_as); returns the rows it processed.
AI_SCALE_FUNCTION(ai_scale_partition_as_owner)
{
    const char* statement = statement_arg(fcinfo);
    const Oid owner = partition::require_owner_rights(PG_GETARG_OID(0));
    PG_RETURN_INT64(int64(run_as(owner, statement, nullptr, nullptr)));
}

// _as_owner_rows(rel regclass, query text) -> setof record: the same for a query, returning its
// rows (the caller names their columns: AS t(...)). Maintenance runs a table's whole _maintain
// this way: even planning a query on the table, or copying its index definitions, evaluates
// the constant parts of its index expressions, code of the owner's.
AI_SCALE_FUNCTION(ai_scale_partition_as_owner_rows)
{
    const char* query = statement_arg(fcinfo);
    const Oid owner = partition::require_owner_rights(PG_GETARG_OID(0));
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    pg::call([&] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
    run_as(owner, query, rsinfo->setResult, rsinfo->setDesc);
    return Datum(0);
}
