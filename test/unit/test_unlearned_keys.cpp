// Keys made with a generation this server has not learned from Redis (cache/unlearned_keys.hpp)
// stay out of Redis: a start that has not learned a slot uses the generation every other start
// used while it had not either.
#include "cache/generation_slots.hpp"
#include "cache/l1_table.hpp"
#include "cache/unlearned_keys.hpp"

#include <gtest/gtest.h>

using namespace ai_scale::cache;

// Learned is taken from a counter Redis holds (an epoch, at or past epoch_floor); 0 after a
// start, and the bumps made here while Redis was unreachable, are not.
TEST(UnlearnedKeys, LearnedIsAnEpochFromRedis)
{
    EXPECT_FALSE(generation::learned(0));
    EXPECT_FALSE(generation::learned(3)); // bumped here without Redis since the start
    EXPECT_FALSE(generation::learned(generation::epoch_floor - 1)); // counted by an old build
    EXPECT_TRUE(generation::learned(generation::epoch_floor));
    EXPECT_TRUE(generation::learned(generation::new_epoch(0, 0, 12345)));
    // Every way a sync leaves a slot is learned, bumps made without Redis included.
    const uint64_t redis = generation::epoch_floor + 9;
    EXPECT_TRUE(generation::learned(redis + generation::unsynced_bumps(2, redis)));
}

TEST(UnlearnedKeys, TheMarkKeepsAKeyOutOfRedis)
{
    const key128 k{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    EXPECT_TRUE(in_l2(marked(k, false)));
    EXPECT_FALSE(in_l2(marked(k, true)));
    // A hash whose top bit is set is cleared for a learned key: it goes to Redis.
    const key128 top{~uint64_t(0), 1};
    EXPECT_TRUE(in_l2(marked(top, false)));
    EXPECT_FALSE(in_l2(marked(top, true)));
    // The same hash made before and after the slot is learned are two keys (in L1 too).
    EXPECT_FALSE(marked(k, true) == marked(k, false));
}

// The mark is a bit of hi: L1's set (lo) and the low bits distinct_keys and key128_hash use
// stay as the hash made them.
TEST(UnlearnedKeys, TheMarkLeavesTheBitsL1UsesAlone)
{
    const key128 k{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    EXPECT_EQ(marked(k, true).lo, k.lo);
    EXPECT_EQ(marked(k, false).lo, k.lo);
    EXPECT_EQ(key128_hash()(marked(k, true)) & 0xffffffffULL,
              key128_hash()(marked(k, false)) & 0xffffffffULL);
}
