// The L1 cache: one l1_table in shared memory, its sets guarded by a stripe of LWLocks so
// backends touching different sets never wait for each other.
#pragma once

#include "cache/l1_table.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace ai_scale::cache {

// Called by request_shared_memory() when preloading (does nothing when ai_scale.l1_entries = 0).
void request_l1_memory();

// Whether this server has an L1 and ai_scale.cache_use_l1 is on. Without preload, says so once
// per session with a NOTICE.
bool l1_usable();

// Starts a call's lookups (a cache_get, a batch): the misses l1_get records from here on are
// what this call's fills from lower levels are checked against (l1_put, if_absent).
void l1_lookups_begin();
// A palloc'd copy of the cached output, or nullptr.
Jsonb* l1_get(const key128& k);
// Stores output for ttl_ms; outputs over ai_scale.l1_max_value_bytes are skipped (false), and
// remove what L1 held for k: a put they replaced must not go on answering from L1. With
// if_absent, a value L1 holds for k is kept, and nothing is stored or removed; nor is anything
// where a put or a removal changed k's part of L1 since a lookup of this call missed there (the
// value filled, read from a lower level before that change, may be what it replaced).
bool l1_put(const key128& k, const Jsonb* output, uint64_t ttl_ms,
            l1_table::put_mode mode = l1_table::put_mode::replace);
// Removes k from this server's L1, if it has one (whatever ai_scale.cache_use_l1 says).
void l1_forget(const key128& k);

} // namespace ai_scale::cache
