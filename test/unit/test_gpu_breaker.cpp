#include "scoring/gpu_breaker.hpp"

#include <gtest/gtest.h>

using ai_scale::scoring::gpu_breaker;

TEST(GpuBreaker, ClosedUntilAFailureThenWaitsItsBackoff)
{
    gpu_breaker b;
    EXPECT_TRUE(b.allow(0));
    b.failure(1000);
    EXPECT_FALSE(b.allow(1000));
    EXPECT_FALSE(b.allow(1999));
    EXPECT_EQ(b.retry_in_ms(1500), 500u);
    EXPECT_TRUE(b.allow(2000)); // half open: one more try
}

TEST(GpuBreaker, BackoffDoublesUpToTheCapAndASuccessCloses)
{
    gpu_breaker b;
    uint64_t now = 0, expected = gpu_breaker::first_backoff_ms;
    for (int i = 0; i < 20; i++) {
        b.failure(now);
        EXPECT_EQ(b.backoff_ms(), expected);
        EXPECT_FALSE(b.allow(now + expected - 1));
        now += expected;
        EXPECT_TRUE(b.allow(now));
        expected = std::min(expected * 2, gpu_breaker::max_backoff_ms);
    }
    EXPECT_EQ(b.backoff_ms(), gpu_breaker::max_backoff_ms);
    EXPECT_EQ(b.consecutive_failures(), 20u);
    b.success();
    EXPECT_TRUE(b.allow(now));
    EXPECT_EQ(b.consecutive_failures(), 0u);
    b.failure(now);
    EXPECT_EQ(b.backoff_ms(), gpu_breaker::first_backoff_ms);
}
