// ai_scale._as_owner(rel, statement): the statements of maintenance that read and write the
// rows of a managed table (moving rows out of its default partition) run as the table's owner,
// in a security-restricted operation, as Postgres runs VACUUM, ANALYZE and index builds. They
// fire the table's triggers and rules and evaluate its CHECK constraints, domains, generated
// columns and index expressions: code of the owner's, which must not run with the rights of
// whoever runs maintenance (the worker's superuser, often). A SET ROLE would not do: under it,
// the owner's code could RESET ROLE back to the session's superuser; a security-restricted
// operation refuses that, and the GUC level opened here undoes any setting that code changes.
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
}

using namespace ai_scale;

namespace {

Oid owner_of(Oid rel)
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

} // namespace

// _as_owner(rel regclass, statement text) -> bigint: runs statement (one SQL statement, without
// parameters) as the owner of rel, with row-level security off (a statement a policy would
// filter fails, 42501, rather than move part of the rows) and search_path pg_catalog, pg_temp;
// returns the rows it processed. The caller must have the owner's privileges (42501 otherwise):
// it only ever gives up rights.
AI_SCALE_FUNCTION(ai_scale_partition_as_owner)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "relation and statement must not be null");
    const Oid rel = PG_GETARG_OID(0);
    const char* statement = pg::call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(1)); });
    const Oid owner = owner_of(rel);
    if (owner == InvalidOid)
        throw pg::error(ERRCODE_UNDEFINED_TABLE, "relation " + std::to_string(rel) +
                                                     " does not exist");
    const bool allowed = pg::call([&] { return has_privs_of_role(GetUserId(), owner); });
    if (!allowed) {
        const char* rel_name = pg::call([&] { return get_rel_name(rel); });
        const char* owner_name = pg::call([&] { return GetUserNameFromId(owner, false); });
        throw pg::error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                        std::string("permission denied to act as the owner of table ") +
                            (rel_name != nullptr ? rel_name : "?"),
                        std::string("Only the table's owner (") + owner_name +
                            "), its members and superusers may.");
    }
    const uint64 processed = pg::call([&] {
        Oid saved_user;
        int saved_context;
        GetUserIdAndSecContext(&saved_user, &saved_context);
        const int level = NewGUCNestLevel();
        uint64 rows = 0;
        PG_TRY();
        {
            SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                              SECURITY_RESTRICTED_OPERATION);
            set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
            set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                              true, 0, false);
            SPI_connect();
            const int rc = SPI_execute(statement, false, 0);
            if (rc < 0)
                elog(ERROR, "ai_scale: statement failed: %s", SPI_result_code_string(rc));
            rows = SPI_processed;
            SPI_finish();
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
        return rows;
    });
    PG_RETURN_INT64(int64(processed));
}
