#include "guc.hpp"
#include "pg/postgres.hpp"

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

    MarkGUCPrefixReserved("ai_scale");
}

} // namespace ai_scale::guc
