// Every ai_scale.* setting, declared in one place (src/guc.cpp) and read through these variables.
#pragma once

namespace ai_scale::guc {

// Defines all GUCs; called once from _PG_init.
void define_all();

// --- partition maintenance ---

// --- cache ---
extern int l1_entries;         // postmaster; 0: no L1
extern int l1_max_value_bytes; // postmaster; larger outputs skip L1
extern bool cache_use_l1;
extern char* redis_primary;  // host:port, '' disables L2
extern char* redis_replicas; // comma list of host:port
enum class read_from { replica, primary };
extern int redis_read_from; // a read_from value
extern int redis_timeout_ms;
extern char* redis_password;
extern int redis_db;
extern int cache_ttl_s;
extern int breaker_failures;
extern int breaker_reset_ms;
extern bool cache_strict;
extern char* store_table;

// --- scoring ---

} // namespace ai_scale::guc
