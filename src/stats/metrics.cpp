// Pure logic of the histogram: built into ai_scale.so and into the unit tests.
#include "stats/metrics.hpp"

#include <cmath>
#include <thread>

namespace ai_scale::stats {

int latency_histogram::bucket_of(uint64_t ns)
{
    if (ns < uint64_t(sub_buckets))
        return int(ns);
    int exponent = 63 - __builtin_clzll(ns); // >= sub_bits
    if (exponent >= max_exponent)
        return buckets - 1;
    int sub = int((ns >> (exponent - sub_bits)) & (sub_buckets - 1));
    return sub_buckets + (exponent - sub_bits) * sub_buckets + sub;
}

uint64_t latency_histogram::bucket_upper(int b)
{
    if (b < sub_buckets)
        return uint64_t(b) + 1;
    int exponent = (b - sub_buckets) / sub_buckets + sub_bits;
    int sub = (b - sub_buckets) % sub_buckets;
    uint64_t width = uint64_t(1) << (exponent - sub_bits);
    return (uint64_t(1) << exponent) + width * uint64_t(sub + 1);
}

uint64_t latency_histogram::samples() const
{
    uint64_t total = 0;
    for (const auto& c : counts_)
        total += c.load(std::memory_order_relaxed);
    return total;
}

uint64_t latency_histogram::percentile(double q) const
{
    // The buckets read once, for the total and the walk alike: read twice, a reset in between
    // left the walk short of the rank, and the view showed the last bucket's bound (2^48 ns,
    // 281,474,977 ms) for samples of a microsecond.
    uint64_t counts[buckets];
    uint64_t total = 0;
    for (int b = 0; b < buckets; b++) {
        counts[b] = counts_[b].load(std::memory_order_relaxed);
        total += counts[b];
    }
    if (total == 0)
        return 0;
    if (!(q > 0.0))
        q = 0.0;
    if (q > 1.0)
        q = 1.0;
    uint64_t rank = uint64_t(std::ceil(q * double(total)));
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < buckets; b++) {
        seen += counts[b];
        if (seen >= rank)
            return bucket_upper(b);
    }
    return bucket_upper(buckets - 1);
}

void latency_histogram::reset()
{
    for (auto& c : counts_)
        c.store(0, std::memory_order_relaxed);
}

void shared_metrics::reset()
{
    resets.fetch_add(1, std::memory_order_seq_cst);
    // An add waited for here is a few atomic adds; those that begin now see the new count and
    // add nothing, so the wait ends however many backends flush.
    while (deferred_adds.load(std::memory_order_seq_cst) != 0)
        std::this_thread::yield();
    for (auto& c : counters)
        c.store(0, std::memory_order_relaxed);
    for (auto& t : timers)
        t.reset();
}

} // namespace ai_scale::stats
