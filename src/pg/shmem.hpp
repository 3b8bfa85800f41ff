// Shared memory and LWLock requests from components, gathered during _PG_init and served by
// the shmem_request / shmem_startup hooks. Only possible when ai_scale is preloaded.
#pragma once

#include <cstddef>

namespace ai_scale::pg {

// Called once per segment at shmem startup, under AddinShmemInitLock; `found` is true when the
// segment already existed (EXEC_BACKEND re-attach), in which case it must not be reset.
using shmem_init_fn = void (*)(void* segment, bool found);

// Reserves a named segment of `size` bytes; `init` lays it out. Call from _PG_init only.
void request_shmem(const char* name, std::size_t size, shmem_init_fn init);

// Reserves a named LWLock tranche of `count` locks; fetch them with GetNamedLWLockTranche().
void request_lwlocks(const char* tranche, int count);

// Runs `fn` once when the server starts: in the postmaster (or a single-user backend) as it makes
// shared memory, before it starts any other process; not again at a restart after a crash. Not
// under `postgres -C`, which loads shared_preload_libraries (for a setting computed at startup,
// such as shared_memory_size_in_huge_pages) without starting a server. Call from _PG_init only.
void at_server_start(void (*fn)());

// Runs `fn` in the postmaster each time it restarts the server after a crash (reinitialising
// shared memory), before it starts any other process; the processes it starts after see what
// `fn` set in the postmaster's memory. Call from _PG_init only.
void at_crash_restart(void (*fn)());

// Installs the hooks that serve the requests above. Call from _PG_init when preloading.
void install_shmem_hooks();

// True when ai_scale was loaded through shared_preload_libraries in this server.
bool preloaded();
void set_preloaded(bool value);

// Throws a pg::error (55000, naming shared_preload_libraries) unless preloaded.
void require_preload(const char* feature);

} // namespace ai_scale::pg
