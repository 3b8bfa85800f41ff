#include "guc.hpp"
#include "pg/postgres.hpp"

#include <climits>

extern "C" {
#include "utils/guc.h"
}

namespace ai_scale::guc
{

// --- partition maintenance ---
int maintenance_naptime_s = 60;
char* maintenance_databases = nullptr;
char* maintenance_role = nullptr;
int maintenance_lock_timeout_ms = 50;
char* partition_time_zone = nullptr;

// --- cache ---

// --- scoring ---

int score_batch_rows = 4096;

// --- scoring: GPU offload ---
int gpu_mode = gpu_auto;
int gpu_min_batch = 10000;
char* gpu_library = nullptr;

namespace {
const struct config_enum_entry gpu_mode_options[] = {
    {"auto", gpu_auto, false}, {"on", gpu_on, false}, {"off", gpu_off, false}, {nullptr, 0, false}};
}

void define_all()
{
    // --- partition maintenance ---
    // Postgres allows PGC_POSTMASTER settings only while preloading; loaded later (no workers
    // then anyway) they are plain reloadable settings.
    const GucContext startup_only =
        process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP;
    DefineCustomIntVariable("ai_scale.maintenance_naptime",
                            "Time between partition maintenance runs of the background worker.",
                            nullptr, &maintenance_naptime_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
                            nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "ai_scale.maintenance_databases",
        "Comma-separated databases the maintenance worker runs in; empty starts no worker.",
        nullptr, &maintenance_databases, "", startup_only, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.maintenance_role",
                               "Role the maintenance worker connects as; empty means the bootstrap "
                               "superuser.",
                               nullptr, &maintenance_role, "", startup_only, 0, nullptr, nullptr,
                               nullptr);
    DefineCustomIntVariable("ai_scale.maintenance_lock_timeout",
                            "Longest wait for a lock by partition maintenance before it skips the "
                            "action and retries on the next run.",
                            nullptr, &maintenance_lock_timeout_ms, 50, 1, 600000, PGC_USERSET,
                            GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.partition_time_zone",
                               "Time zone partition boundaries are aligned in, unless "
                               "manage_partitions names one.",
                               nullptr, &partition_time_zone, "UTC", PGC_USERSET, 0, nullptr,
                               nullptr, nullptr);

    // --- cache ---

    // --- scoring ---

    DefineCustomIntVariable("ai_scale.score_batch_rows",
                            "Rows the window function score_batched() gathers per batch.",
                            "Larger batches pay off on the GPU; the window's buffer holds them "
                            "in work_mem.",
                            &score_batch_rows, 4096, 1, 1024 * 1024, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);

    // --- scoring: GPU offload ---
    DefineCustomEnumVariable("ai_scale.gpu", "Whether large scoring batches run on the GPU.",
                             "auto: on the GPU when one is usable, else on the CPU; on: the GPU "
                             "is required (an error if it cannot score a batch); off: CPU only.",
                             &gpu_mode, gpu_auto, gpu_mode_options, PGC_USERSET, 0, nullptr,
                             nullptr, nullptr);
    DefineCustomIntVariable("ai_scale.gpu_min_batch",
                            "Smallest batch, in rows, worth sending to the GPU.",
                            "Smaller batches are scored on the CPU, which is faster for them.",
                            &gpu_min_batch, 10000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomStringVariable("ai_scale.gpu_library", "Path of the GPU module ai_scale_gpu.so.",
                               "A leading $libdir stands for the server's library directory. "
                               "Loaded on first use in each backend.",
                               &gpu_library, "$libdir/ai_scale_gpu.so", PGC_SUSET, 0, nullptr,
                               nullptr, nullptr);

    MarkGUCPrefixReserved("ai_scale");
}

} // namespace ai_scale::guc
