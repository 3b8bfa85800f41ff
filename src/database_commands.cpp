// Stops ai_scale's background workers in a database before a statement that wants no other
// session in it, instead of letting the statement fail on their connections.
#include "database_commands.hpp"
#include "partition/worker_registry.hpp"
#include "predict/queue.hpp"

extern "C" {
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
}

#include <csignal>
#include <cstring>

namespace ai_scale {

namespace {

ProcessUtility_hook_type previous_hook = nullptr;

// The database a utility statement needs no other session in (Postgres waits up to 5 s for them
// to end, having terminated its autovacuum workers there, then fails with "being accessed by
// other users"): DROP DATABASE, ALTER DATABASE ... RENAME TO and ... SET TABLESPACE, and
// CREATE DATABASE ... TEMPLATE. Null for any other statement.
const char* database_needing_no_sessions(const Node* stmt)
{
    if (IsA(stmt, DropdbStmt))
        return castNode(DropdbStmt, stmt)->dbname;
    if (IsA(stmt, RenameStmt)) {
        const auto* rename = castNode(RenameStmt, stmt);
        return rename->renameType == OBJECT_DATABASE ? rename->subname : nullptr;
    }
    if (IsA(stmt, AlterDatabaseStmt)) {
        const auto* alter = castNode(AlterDatabaseStmt, stmt);
        ListCell* lc;
        foreach (lc, alter->options)
            if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
                return alter->dbname;
        return nullptr;
    }
    if (IsA(stmt, CreatedbStmt)) {
        const auto* create = castNode(CreatedbStmt, stmt);
        ListCell* lc;
        foreach (lc, create->options) {
            const DefElem* option = lfirst_node(DefElem, lc);
            if (strcmp(option->defname, "template") == 0 && option->arg != nullptr)
                return defGetString(const_cast<DefElem*>(option));
        }
        return nullptr;
    }
    return nullptr;
}

// Before a statement its database's owner may run that needs no other session in the database
// (above), stop our workers there, as Postgres does with autovacuum: the maintenance worker
// (the launcher starts no new one for 10 s after one exits, and by then sees the database gone
// or renamed, or starts it again if the statement failed or is done) and the store worker of
// async predict() (it writes what is queued as it stops; the next async predict() starts one).
void stop_workers_before_database_command(PlannedStmt* pstmt, const char* query,
                                          bool read_only_tree, ProcessUtilityContext context,
                                          ParamListInfo params, QueryEnvironment* env,
                                          DestReceiver* dest, QueryCompletion* qc)
{
    if (const char* name = database_needing_no_sessions(pstmt->utilityStmt)) {
        const Oid database = get_database_oid(name, true);
        if (OidIsValid(database) && database != MyDatabaseId &&
            pg_database_ownercheck(database, GetUserId())) {
            for (const pid_t pid :
                 {partition::maintenance_worker_of(database), predict::store_worker_of(database)})
                if (pid != 0)
                    kill(pid, SIGTERM);
        }
    }
    if (previous_hook != nullptr)
        previous_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
}

} // namespace

void install_database_command_hook()
{
    previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = stop_workers_before_database_command;
}

} // namespace ai_scale
