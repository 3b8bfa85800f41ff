// Where a model's generations live: a fixed array of slots, indexed by a hash of (database,
// model[, version]), whose Redis copy is one counter per slot for the whole cluster (a primary,
// its standbys, every database). Pure C++ (XXH3 only), so that unit tests and test tools compute
// the same slots as the server.
//
// The slot in shared memory and its Redis counter are one sequence: a server only ever uses a
// generation that Redis holds (or will hold once reachable again), so a restart, or another
// server syncing from Redis, never goes back to a generation that was invalidated. Slots are
// shared by databases; a slot shared by two models (of one database or of two) only means
// invalidating one also drops the other's entries. Data keys stay per database (key.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ai_scale::cache::generation {

constexpr uint32_t n_slots = 4096;

// The seed of every key of a database: the cluster's system identifier (shared by a primary and
// its physical standbys, different for unrelated clusters sharing a Redis), the database OID and
// the key format.
uint64_t database_seed(uint64_t system_id, uint32_t database);

uint64_t model_hash(uint64_t database_seed, const char* model, size_t len);
uint32_t model_slot(uint64_t model_hash);
uint32_t version_slot(uint64_t model_hash, int32_t version);

// The slot's counter in Redis: ai_scale:gen:<16 hex digits of the cluster>:<slot>, no database.
std::string redis_key(uint64_t system_id, uint32_t slot);

// After INCR returned incr for a slot at local: the generation to use from now on.
inline uint64_t after_bump(uint64_t local, uint64_t incr)
{
    return incr > local ? incr : local + 1;
}

// How much Redis's counter at redis must be raised (INCRBY) to reach a generation used here;
// 0 when it is there already. A server raised a slot without Redis (unreachable at the bump):
// until Redis holds it too, a restart or another server would reuse generations already used.
inline uint64_t redis_behind_by(uint64_t used, uint64_t redis)
{
    return used > redis ? used - redis : 0;
}

} // namespace ai_scale::cache::generation
