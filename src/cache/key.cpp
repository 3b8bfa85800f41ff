#include "cache/key.hpp"
#include "cache/l1_shared.hpp"
#include "cache/router.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "access/xlog.h"
}

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <vector>
#include <new>

namespace ai_scale::cache {

namespace {

// Generations live in a fixed array of slots indexed by a hash of (database, model[, version]).
// Two models sharing a slot only means invalidating one also invalidates the other. With Redis
// configured, each slot also lives in Redis (ai_scale:gen:<db>:<slot>, bumped by INCR), and a
// server brings its copy up to Redis's at most once a second per slot: invalidation made on one
// server reaches the others (and survives a restart) within that second.
constexpr uint32_t n_generation_slots = 4096;
constexpr uint64_t generation_sync_ms = 1000;
struct generations {
    std::atomic<uint64_t> slot[n_generation_slots];
    std::atomic<uint64_t> synced_ms[n_generation_slots];
};

generations* shared_generations = nullptr;
generations local_generations; // without shared_preload_libraries: this backend only

generations& gens()
{
    return shared_generations ? *shared_generations : local_generations;
}

void init_generations(void* segment, bool found)
{
    if (!found)
        shared_generations = new (segment) generations();
    else
        shared_generations = static_cast<generations*>(segment);
    if (!found)
        for (uint32_t i = 0; i < n_generation_slots; i++) {
            shared_generations->slot[i].store(0, std::memory_order_relaxed);
            shared_generations->synced_ms[i].store(0, std::memory_order_relaxed);
        }
}

// A primary and its physical standbys share the system identifier; unrelated clusters sharing a
// Redis do not, so their databases (which may have equal OIDs) never share keys.
uint64_t cluster_seed(Oid database)
{
    struct {
        uint64 system;
        Oid database;
    } id = {GetSystemIdentifier(), database};
    return XXH3_64bits(&id, sizeof id);
}

void raise_to(std::atomic<uint64_t>& a, uint64_t v)
{
    uint64_t cur = a.load(std::memory_order_relaxed);
    while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed))
        ;
}

std::string generation_key(Oid database, uint32_t slot)
{
    return "ai_scale:gen:" + std::to_string(cluster_seed(database)) + ":" + std::to_string(slot);
}

// Raises the slots to the generations Redis holds, for slots not synced in the last second.
void sync_generations(Oid database, uint32_t a, uint32_t b)
{
    if (!l2_enabled())
        return;
    auto& g = gens();
    uint64_t now = monotonic_ms();
    std::vector<uint32_t> stale;
    for (uint32_t s : {a, b}) {
        uint64_t last = g.synced_ms[s].load(std::memory_order_relaxed);
        if ((last == 0 || now - last >= generation_sync_ms) &&
            g.synced_ms[s].compare_exchange_strong(last, now, std::memory_order_relaxed))
            stale.push_back(s);
    }
    if (stale.empty())
        return;
    std::vector<std::string> keys;
    for (uint32_t s : stale)
        keys.push_back(generation_key(database, s));
    bool unavailable = false;
    auto values = l2_read(keys, &unavailable);
    for (size_t i = 0; i < stale.size(); i++)
        if (values[i])
            raise_to(g.slot[stale[i]], std::strtoull(values[i]->c_str(), nullptr, 10));
}

uint64_t model_hash(Oid database, const text* model)
{
    return XXH3_64bits_withSeed(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model),
                                cluster_seed(database));
}

uint32_t model_slot(uint64_t mh)
{
    return uint32_t(mh % n_generation_slots);
}
uint32_t version_slot(uint64_t mh, int32 version)
{
    return uint32_t(XXH3_64bits_withSeed(&version, sizeof version, mh) % n_generation_slots);
}

} // namespace

void request_generation_memory()
{
    pg::request_shmem("ai_scale cache generations", sizeof(generations), init_generations);
}

uint64_t input_hash(const Jsonb* input)
{
    return XXH3_64bits(VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input));
}

key128 make_key(Oid database, const text* model, int32 version, const Jsonb* input)
{
    uint64_t mh = model_hash(database, model);
    auto& g = gens();
    sync_generations(database, model_slot(mh), version_slot(mh, version));
    struct {
        uint64_t model;
        uint64_t model_generation;
        uint64_t version_generation;
        uint32_t database;
        int32_t version;
    } prefix = {mh, g.slot[model_slot(mh)].load(std::memory_order_relaxed),
                g.slot[version_slot(mh, version)].load(std::memory_order_relaxed), database,
                version};
    XXH128_hash_t seed = XXH3_128bits(&prefix, sizeof prefix);
    XXH128_hash_t h = XXH3_128bits_withSeed(VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input),
                                            seed.low64 ^ seed.high64);
    return {h.high64, h.low64};
}

std::string redis_key(const key128& k)
{
    static const char hex[] = "0123456789abcdef";
    std::string s = "ai_scale:";
    for (uint64_t part : {k.hi, k.lo})
        for (int shift = 60; shift >= 0; shift -= 4)
            s.push_back(hex[(part >> shift) & 0xf]);
    return s;
}

void bump_generation(Oid database, const text* model, const int32* version)
{
    uint64_t mh = model_hash(database, model);
    uint32_t slot = version ? version_slot(mh, *version) : model_slot(mh);
    auto& g = gens().slot[slot];
    uint64_t next = g.load(std::memory_order_relaxed) + 1;
    if (l2_enabled())
        if (auto shared = l2_increment(generation_key(database, slot)))
            next = std::max(next, *shared);
    raise_to(g, next);
}

} // namespace ai_scale::cache
