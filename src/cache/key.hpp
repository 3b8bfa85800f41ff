// Cache keys: XXH3 over the canonical jsonb binary of the input (canonical_input.hpp: one for
// equal inputs, 9 and 9.0 too), folded with the database (its OID and which database of that
// OID: database_incarnation.hpp), the store the session's ai_scale.store_table names
// (store_scope.hpp: a cache a store), the model, its version and the model's and version's
// generations (generations.hpp: bumped by cache_invalidate, so invalidation is O(1): old keys
// are simply never asked for again and age out).
#pragma once

#include "cache/l1_table.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstdint>
#include <string>
#include <string_view>

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
    // The store folded in (store_scope()): an L3 hit fills the levels above under these keys
    // only from that store. The store a lookup reads is resolved again, after the catalog's
    // changes have been taken in: with one made meanwhile under the name (the setting named
    // none when the key was made), its rows went into the cache of sessions without a store.
    Oid store;
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

} // namespace ai_scale::cache
