// Any sequence of recorded durations keeps the histogram's invariants: every value falls in a
// bucket whose bounds contain it, and percentiles are ordered and bound the samples.
#include "stats/metrics.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

using ai_scale::stats::latency_histogram;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto h = std::make_unique<latency_histogram>();
    h->reset();
    uint64_t max_seen = 0;
    size_t n = 0;
    for (; size >= 8; data += 8, size -= 8, n++) {
        uint64_t v;
        std::memcpy(&v, data, 8);
        v >>= (v & 63); // spread over all magnitudes
        int b = latency_histogram::bucket_of(v);
        if (b < 0 || b >= latency_histogram::buckets)
            std::abort();
        if (b < latency_histogram::buckets - 1 && v >= latency_histogram::bucket_upper(b))
            std::abort();
        if (b > 0 && v < latency_histogram::bucket_upper(b - 1))
            std::abort();
        h->record(v);
        if (v > max_seen)
            max_seen = v;
    }
    if (h->samples() != n)
        std::abort();
    if (n > 0) {
        uint64_t p50 = h->percentile(0.5), p99 = h->percentile(0.99), p100 = h->percentile(1.0);
        if (p50 > p99 || p99 > p100)
            std::abort();
        int top = latency_histogram::bucket_of(max_seen);
        if (top < latency_histogram::buckets - 1 && p100 != latency_histogram::bucket_upper(top))
            std::abort();
    }
    return 0;
}
