// The GPU circuit breaker: after a failure the GPU is not tried again for a backoff that doubles
// with each consecutive failure (1 s up to 5 min), so a sick GPU costs one failed attempt per
// backoff, not one per batch. A success closes it. Pure C++, unit-tested.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ai_scale::scoring {

class gpu_breaker {
  public:
    static constexpr uint64_t first_backoff_ms = 1000;
    static constexpr uint64_t max_backoff_ms = 300000;

    // True when the GPU may be tried at now_ms (closed, or its backoff has passed).
    bool allow(uint64_t now_ms) const { return failures_ == 0 || now_ms >= retry_at_ms_; }

    void failure(uint64_t now_ms)
    {
        backoff_ms_ = failures_ == 0 ? first_backoff_ms : std::min(backoff_ms_ * 2, max_backoff_ms);
        failures_++;
        retry_at_ms_ = now_ms + backoff_ms_;
    }

    void success()
    {
        failures_ = 0;
        backoff_ms_ = 0;
        retry_at_ms_ = 0;
    }

    uint32_t consecutive_failures() const { return failures_; }
    uint64_t backoff_ms() const { return backoff_ms_; }
    uint64_t retry_in_ms(uint64_t now_ms) const
    {
        return allow(now_ms) ? 0 : retry_at_ms_ - now_ms;
    }

  private:
    uint32_t failures_ = 0;
    uint64_t backoff_ms_ = 0;
    uint64_t retry_at_ms_ = 0;
};

} // namespace ai_scale::scoring
