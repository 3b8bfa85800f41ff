#include "cache/key.hpp"
#include "cache/canonical_input.hpp"
#include "cache/database_incarnation.hpp"
#include "cache/extension_incarnation.hpp"
#include "cache/generation_slots.hpp"
#include "cache/generations.hpp"
#include "cache/store_scope.hpp"
#include "cache/unlearned_keys.hpp"
#include "pg/guard.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <string>

namespace ai_scale::cache {

uint64_t input_hash(const Jsonb* input)
{
    const canonical_input bytes(input);
    return XXH3_64bits(bytes.data(), bytes.size());
}

key_prefix make_key_prefix(Oid database, const text* model, int32 version)
{
    const Oid store = store_scope();
    const key_generations gen = generations_for_key(database, model, version);
    struct {
        uint64_t model;
        uint64_t model_generation;
        uint64_t version_generation;
        uint64_t store; // wider than an Oid: no padding, whose bytes would be hashed too
        uint32_t database;
        int32_t version;
        uint32_t incarnation;
        uint32_t extension;
    } folded = {gen.model_hash,
                gen.model,
                gen.version,
                store,
                database,
                version,
                database_incarnation(database),
                extension_incarnation()};
    static_assert(sizeof folded == 6 * sizeof(uint64_t), "no padding in what is hashed");
    XXH128_hash_t seed = XXH3_128bits(&folded, sizeof folded);
    // Marked from the generations folded in, not from the slots read again: the slots may be
    // learned meanwhile.
    return {seed.low64 ^ seed.high64,
            !generation::learned(gen.model) || !generation::learned(gen.version), store};
}

key128 make_key(const key_prefix& prefix, const Jsonb* input)
{
    const canonical_input bytes(input);
    XXH128_hash_t h = XXH3_128bits_withSeed(bytes.data(), bytes.size(), prefix.seed);
    return marked({h.high64, h.low64}, prefix.unlearned);
}

key128 make_key(Oid database, const text* model, int32 version, const Jsonb* input)
{
    return make_key(make_key_prefix(database, model, version), input);
}

void check_model_name(std::string_view name)
{
    if (name.empty())
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "model name must not be empty");
}

int32 check_model_version(int32 version)
{
    if (version < 1)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "model version must be positive",
                        "The version given was " + std::to_string(version) + ".");
    return version;
}

std::string redis_key(const key128& k)
{
    // Written in place, at its final length: pushed a digit at a time, the string grew (and
    // was copied) twice, 2,200 instructions a key of cache_get_many's 100.
    static const char hex[] = "0123456789abcdef";
    static const char prefix[] = "ai_scale:";
    constexpr size_t n = sizeof prefix - 1;
    std::string s(n + 32, '0');
    memcpy(s.data(), prefix, n);
    char* d = s.data() + n;
    for (uint64_t part : {k.hi, k.lo})
        for (int shift = 60; shift >= 0; shift -= 4)
            *d++ = hex[(part >> shift) & 0xf];
    return s;
}

} // namespace ai_scale::cache
