// The time a Redis round trip gets for the bytes it moves, besides ai_scale.redis_timeout_ms.
// The timeout alone bounds a round trip whatever it carries: at the default 100 ms a value of a
// few MB (a backend here reads about 40 MB a second from a local Redis, copies and page faults
// included) could be neither written nor read back, and each try was a failure toward the
// breaker every backend shares: five reads of one large value took L2 away from every session
// for breaker_reset_ms. Each byte a round trip sends, and each byte of a value its replies
// announce, now adds time at a floor rate far below any working link's, so that a round trip
// that is moving a large value in earnest ends within its deadline, and one that stalls
// mid-transfer is still bounded: the largest value, 64 MB, adds 8 s, and what a round trip's
// replies can announce before resp_limits refuses them, twice that. What it cannot cover is
// Redis's own work before the first byte of a large value's reply, which
// ai_scale.redis_max_value_bytes keeps out of Redis (l2_value.hpp).
#pragma once

#include <chrono>
#include <cstdint>

namespace ai_scale::cache {

constexpr uint64_t transfer_floor_bytes_per_second = 8 * 1024 * 1024;

constexpr std::chrono::microseconds transfer_allowance(uint64_t bytes)
{
    // bytes is at most a round trip's reply budget (resp_limits.hpp: a few GB), so the product
    // stays far inside 64 bits.
    return std::chrono::microseconds(bytes * 1000000 / transfer_floor_bytes_per_second);
}

} // namespace ai_scale::cache
