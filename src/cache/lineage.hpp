// This server's cache lineage (lineage_rules.hpp): drawn anew by the postmaster at a start
// restored from a backup, read from the data directory's file otherwise.
#pragma once

#include <cstdint>

namespace ai_scale::cache::lineage {

// At the server's start (pg::at_server_start, with shared_preload_libraries): when the data
// directory was restored from a backup, draws a new lineage and writes it durably (FATAL when it
// cannot: the server would otherwise share the original's cache); then reads the file for every
// backend (FATAL when it is there but holds no lineage: lineage 0 would be the original's keys).
void settle_at_start();

// The identity this server's cache keys and generation counters derive from. A backend of a
// server without preload reads the file at its first call (pg::error XX001 when it holds no
// lineage).
uint64_t identity();

} // namespace ai_scale::cache::lineage
