// The unsent mark of a generation slot (src/cache/unsent_mark.hpp): a take's clear clears that
// take alone.
#include "cache/unsent_mark.hpp"

#include <gtest/gtest.h>

using namespace ai_scale::cache;

namespace {

unsent_mark::state state(const std::atomic<unsent_mark::word>& m)
{
    return unsent_mark::state_of(m.load());
}

} // namespace

TEST(UnsentMark, ASlotNotMarkedIsNotTaken)
{
    std::atomic<unsent_mark::word> m{unsent_mark::sent};
    EXPECT_EQ(unsent_mark::take(m), 0u);
    EXPECT_EQ(state(m), unsent_mark::sent);
}

TEST(UnsentMark, MarkTakeAndClear)
{
    std::atomic<unsent_mark::word> m{unsent_mark::sent};
    EXPECT_TRUE(unsent_mark::mark(m)) << "the first mark of a slot sent";
    EXPECT_FALSE(unsent_mark::mark(m)) << "marked already";
    const auto stamp = unsent_mark::take(m);
    ASSERT_NE(stamp, 0u);
    EXPECT_EQ(state(m), unsent_mark::sending);
    EXPECT_FALSE(unsent_mark::mark(m)) << "being sent is marked";
    EXPECT_EQ(state(m), unsent_mark::unsent);
    // Marked again since the take: its clear leaves the new bump marked.
    unsent_mark::taken(m, stamp);
    EXPECT_EQ(state(m), unsent_mark::unsent);
    const auto again = unsent_mark::take(m);
    ASSERT_NE(again, 0u);
    EXPECT_NE(again, stamp);
    unsent_mark::taken(m, again);
    EXPECT_EQ(state(m), unsent_mark::sent);
    EXPECT_EQ(unsent_mark::take(m), 0u);
    EXPECT_TRUE(unsent_mark::mark(m)) << "sent again: a new mark";
}

// X takes the mark, a bump made without Redis marks it again, Z takes it, and X's bumps are
// taken: the mark stays Z's, for Z (or, should Z end without sending, the next sync and the
// file) to send.
TEST(UnsentMark, AnEarlierTakesClearLeavesALaterTake)
{
    std::atomic<unsent_mark::word> m{unsent_mark::sent};
    unsent_mark::mark(m);
    const auto x = unsent_mark::take(m);
    unsent_mark::mark(m);
    const auto z = unsent_mark::take(m);
    ASSERT_NE(x, 0u);
    ASSERT_NE(z, 0u);
    EXPECT_NE(x, z);
    unsent_mark::taken(m, x);
    EXPECT_EQ(state(m), unsent_mark::sending) << "X cleared Z's take";
    // Z ended without sending: the next caller finds the slot marked.
    const auto next = unsent_mark::take(m);
    ASSERT_NE(next, 0u);
    unsent_mark::taken(m, z); // Z's clear, had it come late, leaves the next caller's take
    EXPECT_EQ(state(m), unsent_mark::sending);
    unsent_mark::taken(m, next);
    EXPECT_EQ(state(m), unsent_mark::sent);
}

// Two takes in a row without a mark between them (both send the same bumps): the older one's
// clear leaves the newer one's take.
TEST(UnsentMark, TwoTakesEachClearTheirOwn)
{
    std::atomic<unsent_mark::word> m{unsent_mark::sent};
    unsent_mark::mark(m);
    const auto a = unsent_mark::take(m);
    const auto b = unsent_mark::take(m);
    ASSERT_NE(a, 0u);
    ASSERT_NE(b, 0u);
    EXPECT_NE(a, b);
    unsent_mark::taken(m, a);
    EXPECT_EQ(state(m), unsent_mark::sending);
    unsent_mark::taken(m, b);
    EXPECT_EQ(state(m), unsent_mark::sent);
}

// The take numbers come round after 2^30 takes, never giving 0 or another state's bits.
TEST(UnsentMark, TakeNumbersWrapToAStamp)
{
    std::atomic<unsent_mark::word> m{~unsent_mark::word(3) | unsent_mark::unsent};
    const auto stamp = unsent_mark::take(m);
    EXPECT_NE(stamp, 0u);
    EXPECT_EQ(unsent_mark::state_of(stamp), unsent_mark::sending);
    unsent_mark::taken(m, stamp);
    EXPECT_EQ(state(m), unsent_mark::sent);
}
