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
