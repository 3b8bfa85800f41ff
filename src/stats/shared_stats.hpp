// The process-wide metrics in shared memory. Recording is a no-op when ai_scale is not
// preloaded (there is no shared memory to count in); reading then raises 55000.
#pragma once

#include "stats/metrics.hpp"

#include <cstdint>

namespace ai_scale::stats {

void request_shared_memory();

void add(counter c, uint64_t n = 1);
void record(timer t, uint64_t ns);

// add() for a path taken once per row, where an atomic add in shared memory shows: the sum is
// kept in this backend and reaches shared memory every deferred_flush_calls calls and at the
// end of each transaction, as Postgres's own statistics do. A backend that exits abnormally
// loses what it had not added; what it had not added at a reset_stats() is dropped.
constexpr int deferred_flush_calls = 1024;
void add_deferred(counter c, uint64_t n = 1);

// On those paths, one call in timed_every is timed (two clock reads): a sampler per path says
// which. Each backend starts at a phase of its own (sampler_phase): when every backend timed its
// first call, sessions of one lookup each were all timed, cold (the L1's p50 was 27 times a
// warm lookup's, and l1 / samples as many as the lookups).
constexpr uint32_t timed_every = 32;
uint32_t sampler_phase();
class call_sampler {
  public:
    bool timed()
    {
        if (!started_) {
            calls_ = sampler_phase();
            started_ = true;
        }
        return calls_++ % timed_every == 0;
    }

  private:
    uint32_t calls_ = 0;
    bool started_ = false;
};

// Monotonic clock in nanoseconds, for timing what record() takes.
uint64_t now_ns();

// The same clock in milliseconds, for waits, back-offs and expiries. CLOCK_MONOTONIC is one
// clock for every process of the machine, so values can be compared through shared memory, and a
// step of the wall clock (NTP, a VM resumed, a clock set right) moves none of them.
inline uint64_t monotonic_ms()
{
    return now_ns() / 1000000;
}

} // namespace ai_scale::stats
