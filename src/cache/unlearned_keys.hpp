// Keys made with a generation this server has not learned from Redis (generation_slots.hpp:
// below epoch_floor, the slot's 0 after a start or the bumps made here since, while the read
// of its counter failed). Every start of this server and of its standbys keys with those
// generations again until it reads the counter, so such a key never goes to Redis: a value put
// there under one was served by a later start, after the model had been invalidated
// (test/tap/246_cache_unlearned_generation.pl). L1 keeps them: it lives and dies with this
// server, whose slots only ever rise, so a key made before the slot was learned is never made
// again after. The mark is the key's top bit (set for these keys, clear for every other), so a
// key carries it wherever it goes: a fill at commit is made after the slot may have been learned.
// Pure C++, unit-tested in test/unit/test_unlearned_keys.cpp.
#pragma once

#include "cache/l1_table.hpp"

#include <cstdint>

namespace ai_scale::cache {

constexpr uint64_t unlearned_mark = uint64_t(1) << 63;

// The key k with the mark set (made with an unlearned generation) or cleared. The bit is one of
// hi's: L1's set and distinct_keys' slots come from the low bits.
inline key128 marked(key128 k, bool unlearned)
{
    k.hi = unlearned ? k.hi | unlearned_mark : k.hi & ~unlearned_mark;
    return k;
}

// Whether Redis may be asked for (or given) k's value.
inline bool in_l2(const key128& k)
{
    return (k.hi & unlearned_mark) == 0;
}

} // namespace ai_scale::cache
