// The length of a cache ttl (an interval) in whole microseconds. Pure: unit-tested without a
// server (test/unit/test_ttl.cpp).
#pragma once

#include <cstdint>

namespace ai_scale::cache {

// A month counts 30 days and a day 24 hours, as Postgres compares intervals. Exact: the same sum
// in double seconds lost a millisecond to rounding ('1.001 s' came to 1000.999... ms, kept as
// 1000). 128 bits hold any interval's.
inline __int128 interval_micros(int64_t time, int32_t day, int32_t month)
{
    constexpr int64_t micros_per_day = int64_t(86400) * 1000000;
    return __int128(time) + __int128(day) * micros_per_day + __int128(month) * 30 * micros_per_day;
}

} // namespace ai_scale::cache
