// Every ai_scale.* setting, declared in one place (src/guc.cpp) and read through these variables.
#pragma once

namespace ai_scale::guc
{

// Defines all GUCs; called once from _PG_init.
void define_all();

// --- partition maintenance ---
extern int maintenance_naptime_s;       // seconds between worker runs
extern char* maintenance_databases;     // comma-separated database names ('' = no worker)
extern char* maintenance_role;          // role the worker connects as
extern int maintenance_lock_timeout_ms; // lock_timeout for maintenance DDL
extern char* partition_time_zone;       // default zone partition bounds are aligned in

// --- cache ---

// --- scoring ---

} // namespace ai_scale::guc
