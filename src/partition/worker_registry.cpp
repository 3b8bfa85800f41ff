#include "partition/worker_registry.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "postmaster/postmaster.h"
#include "storage/spin.h"
}

#include <csignal>

namespace {

struct worker_entry {
    Oid database;                           // InvalidOid: the entry is free
    pid_t pid;                              // 0 when free, or the pid of the worker that left it
    ai_scale::partition::exit_request exit; // asked to exit between runs, and why
    bool in_run;                            // in a run (set_in_run)
};

// One entry per background-worker slot (max_worker_processes): every maintenance worker holds
// one, so each finds an entry. One per listable database was too few: the workers of a replaced
// launcher still in a run stand beside those of the new one, and a worker that found the
// registry full was never stopped by DROP DATABASE and the other database commands.
struct registry {
    slock_t mutex;
    int n_workers;
    worker_entry workers[FLEXIBLE_ARRAY_MEMBER];

    worker_entry* begin() { return workers; }
    worker_entry* end() { return workers + n_workers; }
};
registry* shared = nullptr;

size_t registry_bytes(int n_workers)
{
    return offsetof(registry, workers) + sizeof(worker_entry) * size_t(n_workers);
}

void init_registry(void* segment, bool found)
{
    shared = static_cast<registry*>(segment);
    if (!found) {
        memset(shared, 0, registry_bytes(max_worker_processes));
        SpinLockInit(&shared->mutex);
        shared->n_workers = max_worker_processes;
    }
}

bool registered(const worker_entry& w)
{
    return w.database != InvalidOid;
}

// The entry of the registered worker with this pid; nullptr when none. With the mutex held.
worker_entry* entry_of(pid_t pid)
{
    for (auto& w : *shared)
        if (registered(w) && w.pid == pid)
            return &w;
    return nullptr;
}

// Frees the worker's entry but leaves its pid there, so that the launcher can tell a worker that
// has exited, and is only waiting for the postmaster to reap it, from one not registered yet.
// The pid is forgotten when a new worker takes the entry.
void unregister_this_worker(int, Datum)
{
    SpinLockAcquire(&shared->mutex);
    if (worker_entry* w = entry_of(MyProcPid))
        *w = {InvalidOid, MyProcPid, ai_scale::partition::exit_request::none, false};
    SpinLockRelease(&shared->mutex);
}

} // namespace

namespace ai_scale::partition {

void install_worker_registry()
{
    pg::request_shmem("ai_scale maintenance workers", registry_bytes(max_worker_processes),
                      init_registry);
}

int maintenance_workers_of(Oid database, pid_t** pids)
{
    *pids = static_cast<pid_t*>(palloc(sizeof(pid_t) * size_t(shared->n_workers)));
    int n = 0;
    SpinLockAcquire(&shared->mutex);
    for (const auto& w : *shared)
        if (registered(w) && w.database == database)
            (*pids)[n++] = w.pid;
    SpinLockRelease(&shared->mutex);
    return n;
}

void register_this_worker()
{
    SpinLockAcquire(&shared->mutex);
    // A never-used entry first, so that an exited worker's pid stays known while there is one.
    worker_entry* free = nullptr;
    for (auto& w : *shared) {
        if (registered(w))
            continue;
        if (w.pid == MyProcPid)
            w.pid = 0; // left by an exited worker whose pid this one was given
        if (free == nullptr || (w.pid == 0 && free->pid != 0))
            free = &w;
    }
    if (free != nullptr)
        *free = {MyDatabaseId, MyProcPid, exit_request::none, false};
    SpinLockRelease(&shared->mutex);
    before_shmem_exit(unregister_this_worker, 0);
}

void wake_all_workers()
{
    auto* pids = static_cast<pid_t*>(palloc(sizeof(pid_t) * size_t(shared->n_workers)));
    int n = 0;
    SpinLockAcquire(&shared->mutex);
    for (const auto& w : *shared)
        if (registered(w))
            pids[n++] = w.pid;
    SpinLockRelease(&shared->mutex);
    // SIGUSR1 with no reason flagged only sets the backend's latch (procsignal_sigusr1_handler).
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGUSR1);
    pfree(pids);
}

exit_request_outcome request_exit_between_runs(pid_t pid, exit_request why)
{
    auto outcome = exit_request_outcome::not_registered;
    SpinLockAcquire(&shared->mutex);
    for (auto& w : *shared) {
        if (w.pid != pid || pid == 0)
            continue;
        if (!registered(w)) {
            outcome = exit_request_outcome::exited;
            continue; // a live entry of a reused pid outranks it
        }
        // Taken out of the list outranks a turn given up: the worker then says why it exits.
        if (w.exit != exit_request::unlisted)
            w.exit = why;
        outcome = exit_request_outcome::asked;
        break;
    }
    SpinLockRelease(&shared->mutex);
    if (outcome == exit_request_outcome::asked)
        kill(pid, SIGUSR1);
    return outcome;
}

exit_request exit_between_runs_requested()
{
    SpinLockAcquire(&shared->mutex);
    const worker_entry* w = entry_of(MyProcPid);
    const exit_request asked = w != nullptr ? w->exit : exit_request::none;
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
