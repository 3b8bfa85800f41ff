// The process-wide metrics in shared memory. Recording is a no-op when ai_scale is not
// preloaded (there is no shared memory to count in); reading then raises 55000.
#pragma once

#include "stats/metrics.hpp"

#include <cstdint>

namespace ai_scale::stats {

void request_shared_memory();

void add(counter c, uint64_t n = 1);
void record(timer t, uint64_t ns);

// Monotonic clock in nanoseconds, for timing what record() takes.
uint64_t now_ns();

} // namespace ai_scale::stats
