#include "partition/worker_registry.hpp"
#include "partition/database_list.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/spin.h"
}

#include <csignal>

namespace {

struct worker_entry {
    Oid database;
    pid_t pid;
    bool yield;  // asked to give up its slot (request_yield)
    bool in_run; // in a run (set_in_run)
};

struct registry {
    slock_t mutex;
    worker_entry workers[ai_scale::partition::max_maintenance_databases];
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

// The entry of the worker with this pid; nullptr when none. With the mutex held.
worker_entry* entry_of(pid_t pid)
{
    for (auto& w : shared->workers)
        if (w.pid == pid && pid != 0)
            return &w;
    return nullptr;
}

void unregister_this_worker(int, Datum)
{
    SpinLockAcquire(&shared->mutex);
    if (worker_entry* w = entry_of(MyProcPid))
        *w = {InvalidOid, 0, false, false};
    SpinLockRelease(&shared->mutex);
}

} // namespace

namespace ai_scale::partition {

void install_worker_registry()
{
    pg::request_shmem("ai_scale maintenance workers", sizeof(registry), init_registry);
}

pid_t maintenance_worker_of(Oid database)
{
    pid_t pid = 0;
    SpinLockAcquire(&shared->mutex);
    for (const auto& w : shared->workers)
        if (w.database == database)
            pid = w.pid;
    SpinLockRelease(&shared->mutex);
    return pid;
}

void register_this_worker()
{
    SpinLockAcquire(&shared->mutex);
    for (auto& w : shared->workers)
        if (w.database == InvalidOid) {
            w = {MyDatabaseId, MyProcPid, false, false};
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

bool request_yield(pid_t pid)
{
    SpinLockAcquire(&shared->mutex);
    worker_entry* w = entry_of(pid);
    if (w != nullptr)
        w->yield = true;
    SpinLockRelease(&shared->mutex);
    if (w != nullptr)
        kill(pid, SIGUSR1);
    return w != nullptr;
}

bool yield_requested()
{
    SpinLockAcquire(&shared->mutex);
    const worker_entry* w = entry_of(MyProcPid);
    const bool asked = w != nullptr && w->yield;
    SpinLockRelease(&shared->mutex);
    return asked;
}

void set_in_run(bool in_run)
{
    SpinLockAcquire(&shared->mutex);
    if (worker_entry* w = entry_of(MyProcPid))
        w->in_run = in_run;
    SpinLockRelease(&shared->mutex);
}

bool worker_in_run(pid_t pid)
{
    SpinLockAcquire(&shared->mutex);
    const worker_entry* w = entry_of(pid);
    const bool in_run = w != nullptr && w->in_run;
    SpinLockRelease(&shared->mutex);
    return in_run;
}

} // namespace ai_scale::partition
