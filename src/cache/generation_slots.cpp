#include "cache/generation_slots.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdio>
#include <cstring>

namespace ai_scale::cache::generation {

namespace {
// Bumped when keys are derived differently: the old keys are then never asked for again.
// 2: generations are counted per cluster, not per database.
constexpr uint32_t key_format = 2;
} // namespace

uint64_t database_seed(uint64_t cluster, uint32_t database)
{
    unsigned char id[16];
    std::memcpy(id, &cluster, 8);
    std::memcpy(id + 8, &database, 4);
    std::memcpy(id + 12, &key_format, 4);
    return XXH3_64bits(id, sizeof id);
}

uint64_t model_hash(uint64_t database_seed, const char* model, size_t len)
{
    return XXH3_64bits_withSeed(model, len, database_seed);
}

uint32_t model_slot(uint64_t model_hash)
{
    return uint32_t(model_hash % n_slots);
}

uint32_t version_slot(uint64_t model_hash, int32_t version)
{
    return uint32_t(XXH3_64bits_withSeed(&version, sizeof version, model_hash) % n_slots);
}

std::string redis_key(uint64_t cluster, uint32_t slot)
{
    char buf[64];
    snprintf(buf, sizeof buf, "ai_scale:gen:%016llx:%u",
             (unsigned long long)XXH3_64bits(&cluster, sizeof cluster), slot);
    return buf;
}

} // namespace ai_scale::cache::generation
