#include "cache/distinct_keys.hpp"

#include <gtest/gtest.h>

#include <vector>

using ai_scale::cache::distinct_keys;
using ai_scale::cache::key128;

TEST(DistinctKeys, NumbersKeysInOrderOfFirstAppearance)
{
    distinct_keys d(4);
    EXPECT_EQ(d.add({1, 2}), 0u);
    EXPECT_EQ(d.add({3, 4}), 1u);
    EXPECT_EQ(d.add({1, 2}), 0u);
    EXPECT_EQ(d.add({1, 3}), 2u); // shares a half with the first
    EXPECT_EQ(d.add({3, 4}), 1u);
    ASSERT_EQ(d.size(), 3u);
    EXPECT_TRUE(d.keys()[0] == (key128{1, 2}));
    EXPECT_TRUE(d.keys()[1] == (key128{3, 4}));
    EXPECT_TRUE(d.keys()[2] == (key128{1, 3}));
}

TEST(DistinctKeys, CollidingSlotsAndMoreThanExpected)
{
    // Every key lands in slot 0 of any table (lo ^ hi == 0): the probe walks past each.
    distinct_keys d(1);
    for (uint64_t i = 0; i < 1000; i++)
        EXPECT_EQ(d.add({i, i}), uint32_t(i));
    for (uint64_t i = 0; i < 1000; i++)
        EXPECT_EQ(d.add({i, i}), uint32_t(i));
    EXPECT_EQ(d.size(), 1000u);
}

// Keys spread over the table, far more than expected: each growth places them where add looks
// for them, and every copy gets its key's number. (The test above, all keys in one slot, walks
// the whole run and finds a key wherever a growth put it.)
TEST(DistinctKeys, SpreadKeysFoundAfterGrowing)
{
    distinct_keys d(1);
    for (uint64_t i = 0; i < 1000; i++)
        EXPECT_EQ(d.add({i * 0x9E3779B97F4A7C15ULL, i}), uint32_t(i));
    for (uint64_t i = 0; i < 1000; i++)
        EXPECT_EQ(d.add({i * 0x9E3779B97F4A7C15ULL, i}), uint32_t(i)) << i;
    EXPECT_EQ(d.size(), 1000u);
}

TEST(DistinctKeys, ReleaseTableKeepsKeys)
{
    distinct_keys d(100);
    for (uint64_t i = 0; i < 100; i++)
        d.add({i * 0x9E3779B97F4A7C15ULL, i});
    d.release_table();
    ASSERT_EQ(d.size(), 100u);
    EXPECT_TRUE(d.keys()[99] == (key128{99 * 0x9E3779B97F4A7C15ULL, 99}));
}
