#include "partition/worker_registry.hpp"
#include "partition/database_list.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/ipc.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
}

#include <csignal>

namespace {

struct registry {
    slock_t mutex;
    struct {
        Oid database;
        pid_t pid;
    } workers[ai_scale::partition::max_maintenance_databases];
};
registry* shared = nullptr;

void init_registry(void* segment, bool found)
{
    shared = static_cast<registry*>(segment);
    if (!found) {
        memset(shared, 0, sizeof *shared);
        SpinLockInit(&shared->mutex);
    }
}

void unregister_this_worker(int, Datum)
{
    SpinLockAcquire(&shared->mutex);
    for (auto& w : shared->workers)
        if (w.pid == MyProcPid)
            w = {InvalidOid, 0};
    SpinLockRelease(&shared->mutex);
}

pid_t worker_of(Oid database)
{
    pid_t pid = 0;
    SpinLockAcquire(&shared->mutex);
    for (const auto& w : shared->workers)
        if (w.database == database)
            pid = w.pid;
    SpinLockRelease(&shared->mutex);
    return pid;
}

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
// (above), stop our worker there, as Postgres does with autovacuum. The launcher starts no new
// worker for 10 s after one exits, and by then sees the database gone or renamed (or starts it
// again if the statement failed or is done).
void stop_worker_before_database_command(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                                         ProcessUtilityContext context, ParamListInfo params,
                                         QueryEnvironment* env, DestReceiver* dest,
                                         QueryCompletion* qc)
{
    if (const char* name = database_needing_no_sessions(pstmt->utilityStmt)) {
        const Oid database = get_database_oid(name, true);
        if (OidIsValid(database) && database != MyDatabaseId &&
            pg_database_ownercheck(database, GetUserId())) {
            const pid_t pid = worker_of(database);
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

namespace ai_scale::partition {

void install_worker_registry()
{
    pg::request_shmem("ai_scale maintenance workers", sizeof(registry), init_registry);
    previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = stop_worker_before_database_command;
}

void register_this_worker()
{
    SpinLockAcquire(&shared->mutex);
    for (auto& w : shared->workers)
        if (w.database == InvalidOid) {
            w = {MyDatabaseId, MyProcPid};
            break;
        }
    SpinLockRelease(&shared->mutex);
    before_shmem_exit(unregister_this_worker, 0);
}

void wake_all_workers()
{
    pid_t pids[max_maintenance_databases];
    int n = 0;
    SpinLockAcquire(&shared->mutex);
    for (const auto& w : shared->workers)
        if (w.pid != 0)
            pids[n++] = w.pid;
    SpinLockRelease(&shared->mutex);
    // SIGUSR1 with no reason flagged only sets the backend's latch (procsignal_sigusr1_handler).
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGUSR1);
}

} // namespace ai_scale::partition
