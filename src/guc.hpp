// Every ai_scale.* setting, declared in one place (src/guc.cpp) and read through these variables.
#pragma once

namespace ai_scale::guc {

// Defines all GUCs; called once from _PG_init.
void define_all();

// --- partition maintenance ---
extern int maintenance_naptime_s;       // seconds between worker runs
extern char* maintenance_databases;     // comma-separated database names ('' = no worker)
extern char* maintenance_role;          // role the worker connects as
extern int maintenance_lock_timeout_ms; // lock_timeout for maintenance DDL
// ai_scale.partition_time_zone is read by the SQL alone (ai_scale._setting).

// Why zone cannot be the zone a table's partitions are aligned in (an error message, with its
// hint in *hint), or nullptr when it can: a tz database name or a POSIX spec. An abbreviation
// that is not also a zone name is refused: it means what the reading session's
// timezone_abbreviations says, which the session registering a table and the worker need not
// share. So is a zone name that is also an abbreviation (read as the abbreviation), unless the
// zone has that one offset all year (EST, UTC): CET keeps summer time, its abbreviation not.
const char* partition_zone_problem(const char* zone, const char** hint);

// --- cache ---
extern int l1_entries;         // postmaster; 0: no L1
extern int l1_max_value_bytes; // postmaster; larger outputs skip L1
extern bool cache_use_l1;
extern char* redis_primary;   // host:port or a socket path, '' disables L2
extern char* redis_replicas;  // comma list of host:port or socket paths
extern char* redis_sentinels; // comma list of host:port; when set, they name primary and replicas
extern char* redis_sentinel_master;
enum class read_from { replica, primary };
extern int redis_read_from; // a read_from value
extern int redis_timeout_ms;
extern int redis_max_value_bytes;    // larger outputs are not written to Redis
extern int redis_replica_max_lag_kb; // -1: no history or lag check
extern int redis_spin_us;            // busy-wait for a reply before sleeping; 0: never
extern char* redis_user;             // '' : AUTH with the password alone (the default user)
// The password itself; the setting ai_scale.redis_password holds only a mask (see guc.cpp).
extern const char* redis_password;
extern int redis_db;
extern int cache_ttl_s;
extern int breaker_failures;
extern int breaker_reset_ms;
extern bool cache_strict;
extern char* store_table;

// --- scoring ---

// Rows score_batched() gathers before scoring them at once.
extern int score_batch_rows;
extern int model_cache_kb; // bound on a backend's compiled models

// --- scoring: GPU offload ---
enum gpu_mode_value { gpu_auto = 0, gpu_on = 1, gpu_off = 2 };
extern int gpu_mode;      // ai_scale.gpu
extern int gpu_min_batch; // ai_scale.gpu_min_batch, rows
extern char* gpu_library; // ai_scale.gpu_library

// --- predict ---
enum store_mode_value { store_sync = 0, store_async = 1, store_off = 2 };
extern int store_mode;     // ai_scale.store_mode: how predict() writes the prediction store
extern int store_queue_kb; // postmaster; shared memory of the async write-behind queue

} // namespace ai_scale::guc
