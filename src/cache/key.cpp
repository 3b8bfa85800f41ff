#include "cache/key.hpp"
#include "pg/shmem.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <atomic>
#include <new>

namespace ai_scale::cache
{

namespace
{

// Generations live in a fixed array of slots indexed by a hash of (database, model[, version]).
// Two models sharing a slot only means invalidating one also invalidates the other.
constexpr uint32_t n_generation_slots = 4096;
struct generations {
    std::atomic<uint64_t> slot[n_generation_slots];
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
        for (auto& s : shared_generations->slot)
            s.store(0, std::memory_order_relaxed);
}

uint64_t model_hash(Oid database, const text* model)
{
    return XXH3_64bits_withSeed(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), database);
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
    gens().slot[slot].fetch_add(1, std::memory_order_relaxed);
}

} // namespace ai_scale::cache
