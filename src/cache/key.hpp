// Cache keys: XXH3 over the canonical jsonb binary of the input (canonical_input.hpp: one for
// equal inputs, 9 and 9.0 too), folded with the database OID, the model, its version and the
// model's and version's generations (generations.hpp: bumped by cache_invalidate, so
// invalidation is O(1): old keys are simply never asked for again and age out).
#pragma once

#include "cache/l1_table.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ai_scale::cache {

// XXH3-64 of the input's canonical jsonb binary (what ai_scale.input_hash returns).
uint64_t input_hash(const Jsonb* input);

// What a key folds in before its input: the model's hash and generations (synced with Redis
// where due, generations.hpp) for one version, made once for a batch. Made again for each
// element, a 100 MB model name (1 MB stored) was hashed 1000 times for a 1000-input
// cache_get_many: 18 s.
struct key_prefix {
    uint64_t seed;
    bool unlearned; // a generation this server has not learned yet (unlearned_keys.hpp)
};
key_prefix make_key_prefix(Oid database, const text* model, int32 version);
key128 make_key(const key_prefix& prefix, const Jsonb* input);
key128 make_key(Oid database, const text* model, int32 version, const Jsonb* input);

// The checks of a model's name and version that every function taking them makes, so that each
// refusal has one message and SQLSTATE (22023) everywhere: an empty name, a version below 1.
void check_model_name(std::string_view name);
int32 check_model_version(int32 version);

// The Redis key of a cache key: a fixed prefix and 32 hex digits, revealing nothing of the input.
std::string redis_key(const key128& k);

// The levels cache_get walks (cache_functions.cpp), one by one, for predict(). Each counts its
// hits and misses in the stats and fills the levels above it on a hit (not with an L3 row the
// current transaction wrote: it may roll back).
Jsonb* from_l1(const key128& k);                              // when l1_usable()
std::vector<Jsonb*> from_l2(const std::vector<key128>& keys); // when l2_enabled()
Jsonb* from_l3(const key128& k, text* model, int32 version, Jsonb* input);
// from_l3 for many inputs in one query; the hits go to Redis in one pipelined write.
std::vector<Jsonb*> from_l3(const std::vector<key128>& keys, text* model, int32 version,
                            const std::vector<Jsonb*>& inputs);
// All the levels for a batch, as cache_get_many and predict_batch walk them: each non-null
// input in L1, the misses in L2 (one round trip), what L2 missed in L3 (one query). Sets
// outputs[i] and levels[i] ("l1", "l2", "l3") for the hits; returns, in order, the indexes of
// the non-null inputs no level had.
std::vector<int> from_levels(const std::vector<key128>& keys, const std::vector<Jsonb*>& inputs,
                             text* model, int32 version, std::vector<Jsonb*>& outputs,
                             std::vector<const char*>& levels);
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
// fill_l1_l2 for many keys, the Redis writes in one pipelined round trip.
void fill_l1_l2(const std::vector<key128>& keys, const std::vector<const Jsonb*>& values,
                uint64_t ttl_ms);

} // namespace ai_scale::cache
