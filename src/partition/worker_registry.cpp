#include "partition/worker_registry.hpp"
#include "partition/database_list.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "commands/dbcommands.h"
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

// Before a DROP DATABASE its owner may run, stop our worker there; dropdb waits up to 5 s for
// the database's other sessions to end. The launcher starts no new worker for 10 s after one
// exits, and sees the database gone by then (or starts it again if the drop failed).
void stop_worker_before_dropdb(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                               ProcessUtilityContext context, ParamListInfo params,
                               QueryEnvironment* env, DestReceiver* dest, QueryCompletion* qc)
{
    if (IsA(pstmt->utilityStmt, DropdbStmt)) {
        const auto* stmt = castNode(DropdbStmt, pstmt->utilityStmt);
        const Oid database = get_database_oid(stmt->dbname, true);
        if (OidIsValid(database) && pg_database_ownercheck(database, GetUserId())) {
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
    ProcessUtility_hook = stop_worker_before_dropdb;
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
