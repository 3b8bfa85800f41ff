#include "cache/breaker.hpp"

#include <gtest/gtest.h>

using ai_scale::cache::breaker;
using state = breaker::state;

TEST(Breaker, OpensAfterThresholdConsecutiveFailures)
{
    breaker b;
    EXPECT_TRUE(b.allow(0, 100));
    EXPECT_FALSE(b.on_failure(1, 3));
    EXPECT_FALSE(b.on_failure(2, 3));
    b.on_success(); // resets the run
    EXPECT_FALSE(b.on_failure(3, 3));
    EXPECT_FALSE(b.on_failure(4, 3));
    EXPECT_TRUE(b.on_failure(5, 3));
    EXPECT_EQ(b.current, state::open);
    EXPECT_EQ(b.trips, 1u);
    EXPECT_FALSE(b.allow(50, 100));
    EXPECT_FALSE(b.on_failure(6, 3)) << "a late failure does not trip again";
}

TEST(Breaker, HalfOpenProbeClosesOnSuccess)
{
    breaker b;
    b.on_failure(0, 1);
    EXPECT_FALSE(b.allow(99, 100));
    EXPECT_TRUE(b.allow(100, 100));
    EXPECT_EQ(b.current, state::half_open);
    EXPECT_FALSE(b.allow(101, 100)) << "only one probe at a time";
    b.on_success();
    EXPECT_EQ(b.current, state::closed);
    EXPECT_TRUE(b.allow(102, 100));
}

TEST(Breaker, HalfOpenProbeFailureReopens)
{
    breaker b;
    b.on_failure(0, 5);
    b.on_failure(0, 5);
    b.on_failure(0, 5);
    b.on_failure(0, 5);
    EXPECT_TRUE(b.on_failure(0, 5));
    EXPECT_TRUE(b.allow(100, 100));
    EXPECT_TRUE(b.on_failure(110, 5)) << "one failed probe is enough";
    EXPECT_EQ(b.current, state::open);
    EXPECT_EQ(b.trips, 2u);
    EXPECT_FALSE(b.allow(150, 100));
    EXPECT_TRUE(b.allow(210, 100));
}

TEST(Breaker, LostProbeIsReplacedAfterReset)
{
    breaker b;
    b.on_failure(0, 1);
    EXPECT_TRUE(b.allow(100, 100));
    EXPECT_FALSE(b.allow(150, 100));
    EXPECT_TRUE(b.allow(200, 100));
}

TEST(Breaker, Names)
{
    EXPECT_STREQ(breaker::name(state::closed), "closed");
    EXPECT_STREQ(breaker::name(state::open), "open");
    EXPECT_STREQ(breaker::name(state::half_open), "half_open");
}

namespace {
ai_scale::cache::breaker_slot_info used(uint64_t hash, state st, uint64_t last_used)
{
    ai_scale::cache::breaker_slot_info s;
    s.used = true;
    s.name_hash = hash;
    s.state = st;
    s.last_used_ms = last_used;
    return s;
}
} // namespace

TEST(BreakerSlots, OwnSlotThenAFreeOne)
{
    using ai_scale::cache::breaker_slot_info;
    using ai_scale::cache::choose_breaker_slot;
    breaker_slot_info slots[4];
    slots[1] = used(11, state::open, 5);
    EXPECT_EQ(choose_breaker_slot(slots, 4, 11, 10, 100), 1);
    EXPECT_EQ(choose_breaker_slot(slots, 4, 12, 10, 100), 0);
    // A free slot before a reclaimable one: another endpoint's breaker, closed and idle, keeps
    // its counts and last error (shown in redis_status) while there is room.
    slots[2] = used(13, state::closed, 1);
    EXPECT_EQ(choose_breaker_slot(slots, 4, 12, 10, 100), 0);
}

// Full: the least recently used closed slot is reclaimed; open and half-open ones in use are
// kept (a dead endpoint's breaker must stay open), and with none reclaimable the answer is -1,
// never another endpoint's slot (it used to be the last slot, shared: open for a healthy
// endpoint). An open breaker not asked about for reset_ms is reclaimable.
TEST(BreakerSlots, FullReclaimsTheLeastRecentlyUsedClosedSlot)
{
    using ai_scale::cache::breaker_slot_info;
    using ai_scale::cache::choose_breaker_slot;
    breaker_slot_info slots[4] = {used(1, state::open, 90), used(2, state::closed, 50),
                                  used(3, state::closed, 20), used(4, state::half_open, 95)};
    EXPECT_EQ(choose_breaker_slot(slots, 4, 9, 100, 1000), 2);
    EXPECT_EQ(choose_breaker_slot(slots, 4, 4, 100, 1000), 3) << "its own slot, even half open";
    slots[1].state = state::open;
    slots[2].state = state::open;
    EXPECT_EQ(choose_breaker_slot(slots, 4, 9, 100, 1000), -1);
    EXPECT_EQ(choose_breaker_slot(slots, 4, 1, 100, 1000), 0);
    EXPECT_EQ(choose_breaker_slot(slots, 4, 9, 1050, 1000), 2) << "idle for reset_ms";
}

// A closed breaker with failures counted toward its trip is not reclaimed while in use: the
// count of a flaky endpoint would be reset each time its slot changed hands, and it would never
// trip. Once idle for reset_ms, it is.
TEST(BreakerSlots, ClosedSlotWithFailuresIsKept)
{
    using ai_scale::cache::breaker_slot_info;
    using ai_scale::cache::choose_breaker_slot;
    breaker_slot_info slots[2] = {used(1, state::closed, 20), used(2, state::closed, 50)};
    slots[0].failures = 3;
    EXPECT_EQ(choose_breaker_slot(slots, 2, 9, 100, 1000), 1);
    slots[1].failures = 1;
    EXPECT_EQ(choose_breaker_slot(slots, 2, 9, 100, 1000), -1);
    EXPECT_EQ(choose_breaker_slot(slots, 2, 9, 1030, 1000), 0) << "idle for reset_ms";
}

// Each Redis database and ACL user gets a breaker of its own, named so in redis_status() and
// the log; the defaults (db 0, no user) keep the bare endpoint, as before.
TEST(BreakerName, NamesTheDatabaseAndUserWhereSet)
{
    using ai_scale::cache::breaker_name;
    EXPECT_EQ(breaker_name("10.0.0.1:6379", 0, ""), "10.0.0.1:6379");
    EXPECT_EQ(breaker_name("10.0.0.1:6379", 3, ""), "10.0.0.1:6379 (db 3)");
    EXPECT_EQ(breaker_name("10.0.0.1:6379", 0, "app"), "10.0.0.1:6379 (user \"app\")");
    EXPECT_EQ(breaker_name("[::1]:6379", 15, "app"), "[::1]:6379 (db 15, user \"app\")");
    EXPECT_EQ(breaker_name("h:1", 0, "a \"b\", c"), "h:1 (user \"a \"\"b\"\", c\")")
        << "a quote in the name is doubled, so the name reads back whole";
    EXPECT_NE(breaker_name("h:1", 1, ""), breaker_name("h:1", 0, "1"));
}
