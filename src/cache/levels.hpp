// The cache's levels, walked in order: L1 (shared memory, l1_shared.hpp), L2 (Redis, through
// router.hpp), L3 (the prediction store, l3_store.hpp); and the fills of the levels above a hit.
// cache_get, cache_get_many and cache_put (cache_functions.cpp) and predict() and predict_batch
// (src/predict/predict_sql.cpp) are made of these.
#pragma once

#include "cache/key.hpp"
#include "cache/l1_table.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstdint>
#include <vector>

namespace ai_scale::cache {

// The levels cache_get walks, one by one, for predict(). Each counts its
// hits and misses in the stats and fills the levels above it on a hit (not with an L3 row the
// current transaction wrote: it may roll back). keyed_store is the store the keys fold in
// (key_prefix::store): L3 fills them only when the store it reads is that one.
Jsonb* from_l1(const key128& k); // when l1_usable()
// of_batch: the keys are those of a batch of several (read with MGET, even one: l2_read).
std::vector<Jsonb*> from_l2(const std::vector<key128>& keys,
                            bool of_batch = false); // when l2_enabled()
Jsonb* from_l3(const key128& k, Oid keyed_store, text* model, int32 version, Jsonb* input);
// from_l3 for many inputs in one query; the hits go to Redis in one pipelined write.
std::vector<Jsonb*> from_l3(const std::vector<key128>& keys, Oid keyed_store, text* model,
                            int32 version, const std::vector<Jsonb*>& inputs);
// All the levels for a batch, as cache_get_many and predict_batch walk them: each non-null
// input in L1, the misses in L2 (one round trip), what L2 missed in L3 (one query). Sets
// outputs[i] and levels[i] ("l1", "l2", "l3") for the hits; returns, in order, the indexes of
// the non-null inputs no level had.
std::vector<int> from_levels(const std::vector<key128>& keys, Oid keyed_store,
                             const std::vector<Jsonb*>& inputs, text* model, int32 version,
                             std::vector<Jsonb*>& outputs, std::vector<const char*>& levels);
// L1 (when usable; else removes what it holds for k, unless mode is if_absent), as l1_put puts
// it.
void fill_l1(const key128& k, const Jsonb* v, uint64_t ttl_ms,
             l1_table::put_mode mode = l1_table::put_mode::replace);
// What cache_put does: Redis (when configured) and L1 (when usable).
void fill_l1_l2(const key128& k, const Jsonb* v, uint64_t ttl_ms);
// What a hit in the store (L3) does: Redis and L1 as fill_l1_l2, but each level keeps a value
// it already holds for the key (Redis SET NX, L1 put_mode::if_absent), and L1 is left alone for
// a key Redis held: the lookup missed both levels, so such a value was put there since, by a
// cache_put the store's row is older than. The writes to Redis are one pipelined round trip.
void fill_from_store(const std::vector<key128>& keys, const std::vector<const Jsonb*>& values,
                     uint64_t ttl_ms);
// fill_l1_l2 for many keys, the Redis writes in one pipelined round trip; L1 alone when
// ask_redis is false, and Redis alone when use_l1 is false (what L1 holds for the keys is then
// removed, as fill_l1 does in a session that does not use L1). Whether Redis took them: false
// when it was not asked (ask_redis false, L2 off) or failed (not cache_strict; under it,
// throws).
bool fill_l1_l2(const std::vector<key128>& keys, const std::vector<const Jsonb*>& values,
                uint64_t ttl_ms, bool ask_redis = true, bool use_l1 = true);

} // namespace ai_scale::cache
