#include "cache/ttl.hpp"

#include <gtest/gtest.h>

#include <cstdint>

using ai_scale::cache::interval_micros;

// Every whole-millisecond ttl comes back in whole milliseconds: in double seconds, 1,482 of
// those under 200 s lost one ('1.001 s' was 1000 ms in Redis's PX, '2.002 s' 2001).
TEST(CacheTtl, WholeMillisecondsStayWhole)
{
    for (int64_t ms = 1; ms < 200000; ms++)
        ASSERT_EQ(interval_micros(ms * 1000, 0, 0) / 1000, ms) << ms;
    EXPECT_EQ(interval_micros(1001000, 0, 0) / 1000, 1001);
}

TEST(CacheTtl, DaysAndMonthsCountAsPostgresComparesThem)
{
    const __int128 day = __int128(86400) * 1000000;
    EXPECT_EQ(interval_micros(0, 1, 0), day);
    EXPECT_EQ(interval_micros(0, 0, 1), 30 * day);
    EXPECT_EQ(interval_micros(0, 5, 12), 365 * day); // '1 year 5 days'
    EXPECT_EQ(interval_micros(-1, 1, 0), day - 1);
    // The extremes do not overflow.
    EXPECT_GT(interval_micros(INT64_MAX, INT32_MAX, INT32_MAX), __int128(INT64_MAX));
    EXPECT_LT(interval_micros(INT64_MIN, INT32_MIN, INT32_MIN), __int128(INT64_MIN));
}
