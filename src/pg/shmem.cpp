#include "pg/shmem.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
}

#include <string>

namespace ai_scale::pg {

namespace {

struct segment_request {
    const char* name;
    std::size_t size;
    shmem_init_fn init;
};

struct lwlock_request {
    const char* tranche;
    int count;
};

constexpr int max_requests = 16;
segment_request segments[max_requests];
int n_segments = 0;
lwlock_request lwlocks[max_requests];
int n_lwlocks = 0;
void (*start_callbacks[max_requests])();
int n_start_callbacks = 0;
void (*crash_restart_callbacks[max_requests])();
int n_crash_restart_callbacks = 0;
bool server_started = false;

bool is_preloaded = false;
shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void on_shmem_request()
{
    if (prev_shmem_request_hook)
        prev_shmem_request_hook();
    for (int i = 0; i < n_segments; i++)
        RequestAddinShmemSpace(MAXALIGN(segments[i].size));
    for (int i = 0; i < n_lwlocks; i++)
        RequestNamedLWLockTranche(lwlocks[i].tranche, lwlocks[i].count);
}

void on_shmem_startup()
{
    if (prev_shmem_startup_hook)
        prev_shmem_startup_hook();
    // The postmaster's first startup (a crash's reinitialisation calls this again); a process
    // under the postmaster calls it only under EXEC_BACKEND, to attach.
    if (!IsUnderPostmaster && !server_started) {
        server_started = true;
        for (int i = 0; i < n_start_callbacks; i++)
            start_callbacks[i]();
    } else if (!IsUnderPostmaster) {
        for (int i = 0; i < n_crash_restart_callbacks; i++)
            crash_restart_callbacks[i]();
    }
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    for (int i = 0; i < n_segments; i++) {
        bool found = false;
        void* mem = ShmemInitStruct(segments[i].name, segments[i].size, &found);
        segments[i].init(mem, found);
    }
    LWLockRelease(AddinShmemInitLock);
}

} // namespace

void request_shmem(const char* name, std::size_t size, shmem_init_fn init)
{
    if (n_segments == max_requests)
        elog(FATAL, "ai_scale: too many shared memory segments requested");
    segments[n_segments++] = {name, size, init};
}

void request_lwlocks(const char* tranche, int count)
{
    if (n_lwlocks == max_requests)
        elog(FATAL, "ai_scale: too many LWLock tranches requested");
    lwlocks[n_lwlocks++] = {tranche, count};
}

void at_server_start(void (*fn)())
{
    if (n_start_callbacks == max_requests)
        elog(FATAL, "ai_scale: too many server start callbacks");
    start_callbacks[n_start_callbacks++] = fn;
}

void at_crash_restart(void (*fn)())
{
    if (n_crash_restart_callbacks == max_requests)
        elog(FATAL, "ai_scale: too many crash restart callbacks");
    crash_restart_callbacks[n_crash_restart_callbacks++] = fn;
}

void install_shmem_hooks()
{
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = on_shmem_request;
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = on_shmem_startup;
}

bool preloaded()
{
    return is_preloaded;
}
void set_preloaded(bool value)
{
    is_preloaded = value;
}

void require_preload(const char* feature)
{
    if (is_preloaded)
        return;
    throw error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                std::string(feature) + " requires ai_scale to be loaded at server start",
                "ai_scale is loaded in this session but is not in shared_preload_libraries.",
                "Add ai_scale to shared_preload_libraries in postgresql.conf and restart the "
                "server.");
}

} // namespace ai_scale::pg
