// The cache fills of predictions that predict() inserted into the store in the calling
// transaction (store_mode = sync, or async falling back to sync). They wait for the commit: a
// rolled back insert must not leave in L1 and Redis a prediction the store never got, which
// would then be served and never stored. A subtransaction that aborts drops its own.
#pragma once

#include "cache/l1_table.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstdint>

namespace ai_scale::predict {

// Fills L1 and Redis with v (copied) for k when the current transaction commits.
void fill_at_commit(const cache::key128& k, const Jsonb* v, uint64_t ttl_ms);

// The output this transaction stored for k and will cache at commit, or nullptr: the
// transaction's own prediction, answered without scoring or storing it again (counted as an
// L3 hit).
Jsonb* pending_output(const cache::key128& k);

} // namespace ai_scale::predict
