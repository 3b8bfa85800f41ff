#include "stats/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

using ai_scale::stats::latency_histogram;

namespace {
std::unique_ptr<latency_histogram> empty_histogram()
{
    auto h = std::make_unique<latency_histogram>();
    h->reset();
    return h;
}
} // namespace

TEST(LatencyHistogram, SmallValuesHaveExactBuckets)
{
    for (uint64_t v = 0; v < latency_histogram::sub_buckets; v++) {
        EXPECT_EQ(latency_histogram::bucket_of(v), int(v));
        EXPECT_EQ(latency_histogram::bucket_upper(int(v)), v + 1);
    }
}

TEST(LatencyHistogram, EveryValueLiesInsideItsBucket)
{
    for (uint64_t v : {8ull, 9ull, 15ull, 16ull, 17ull, 1000ull, 1023ull, 1024ull, 123456789ull,
                       (1ull << 40) + 12345}) {
        int b = latency_histogram::bucket_of(v);
        ASSERT_GT(b, 0);
        EXPECT_LT(v, latency_histogram::bucket_upper(b)) << v;
        EXPECT_GE(v, latency_histogram::bucket_upper(b - 1)) << v;
    }
}

TEST(LatencyHistogram, BucketsAreContiguousAndIncreasing)
{
    for (int b = 1; b < latency_histogram::buckets; b++)
        EXPECT_GT(latency_histogram::bucket_upper(b), latency_histogram::bucket_upper(b - 1));
    // The first log bucket starts where the exact ones end.
    EXPECT_EQ(latency_histogram::bucket_of(latency_histogram::sub_buckets),
              latency_histogram::sub_buckets);
}

TEST(LatencyHistogram, RelativeErrorBelowOneEighth)
{
    for (uint64_t v = 8; v < (1ull << 30); v = v * 3 + 1) {
        uint64_t upper = latency_histogram::bucket_upper(latency_histogram::bucket_of(v));
        EXPECT_LE(double(upper - v) / double(v), 0.125 + 1e-9) << v;
    }
}

TEST(LatencyHistogram, HugeValuesLandInTheLastBucket)
{
    EXPECT_EQ(latency_histogram::bucket_of(~0ull), latency_histogram::buckets - 1);
}

TEST(LatencyHistogram, PercentilesFollowTheSamples)
{
    auto h = empty_histogram();
    EXPECT_EQ(h->percentile(0.5), 0u);
    for (int i = 0; i < 98; i++)
        h->record(1000); // 1 us
    h->record(1000000);  // 1 ms
    h->record(5000000);  // 5 ms
    EXPECT_EQ(h->samples(), 100u);
    uint64_t p50 = h->percentile(0.50);
    EXPECT_GE(p50, 1000u);
    EXPECT_LE(p50, 1125u);
    uint64_t p99 = h->percentile(0.99);
    EXPECT_GE(p99, 1000000u);
    EXPECT_LE(p99, 1125000u);
    uint64_t p100 = h->percentile(1.0);
    EXPECT_GE(p100, 5000000u);
    EXPECT_LE(p100, 5625000u);
}

TEST(LatencyHistogram, ResetEmptiesIt)
{
    auto h = empty_histogram();
    h->record(42);
    h->reset();
    EXPECT_EQ(h->samples(), 0u);
    EXPECT_EQ(h->percentile(0.99), 0u);
}

// A percentile read while another backend resets the histogram is one of the samples there
// before or after the reset, or 0: it summed the buckets, then walked them again after a reset
// had emptied them, and gave the last bucket's bound (2^48 ns) for samples of a microsecond.
TEST(LatencyHistogram, PercentileReadDuringResetsIsASampleOrZero)
{
    auto h = empty_histogram();
    std::atomic<bool> done{false};
    std::thread resetter([&] {
        while (!done.load()) {
            for (int i = 0; i < 100; i++)
                h->record(1000);
            h->reset();
        }
    });
    const uint64_t sample_bound =
        latency_histogram::bucket_upper(latency_histogram::bucket_of(1000));
    int wrong = 0;
    for (int i = 0; i < 200000; i++) {
        const uint64_t p = h->percentile(0.99);
        if (p != 0 && p != sample_bound)
            wrong++;
    }
    done = true;
    resetter.join();
    EXPECT_EQ(wrong, 0);
}

TEST(SharedMetrics, ResetClearsCountersAndTimers)
{
    auto m = std::make_unique<ai_scale::stats::shared_metrics>();
    m->reset();
    m->counters[0] += 5;
    m->timers[0].record(10);
    m->reset();
    EXPECT_EQ(m->counters[0].load(), 0u);
    EXPECT_EQ(m->timers[0].samples(), 0u);
}

// A backend that checked the reset count and has not yet added its deferred sums holds a reset
// back: the reset's zeroes come after those adds, which the sums counted before it must not
// outlive. Without the wait the reset returned at once and the 5 showed after it.
TEST(SharedMetrics, ResetWaitsForAnAddThatSawTheOldCount)
{
    using ai_scale::stats::counter;
    using ai_scale::stats::deferred_add;
    auto m = std::make_unique<ai_scale::stats::shared_metrics>();
    m->reset();
    const uint64_t counted_at = m->resets.load();

    auto adding = std::make_unique<deferred_add>(*m, counted_at);
    ASSERT_TRUE(adding->current());
    std::atomic<bool> reset_done{false};
    std::thread resetter([&] {
        m->reset();
        reset_done = true;
    });
    // The reset is held for as long as the add is open, however long that is.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(reset_done.load());
    adding->add(counter::l1_hits, 5);
    adding.reset();
    resetter.join();
    EXPECT_EQ(m->counters[int(counter::l1_hits)].load(), 0u);

    // Sums counted before that reset are not added after it.
    deferred_add late(*m, counted_at);
    EXPECT_FALSE(late.current());
}

// The stats view lists the metrics section by section: one whose section is not in
// section_order would not be shown at all.
TEST(MetricNames, EverySectionIsListedInTheViewOrder)
{
    const auto listed = [](const char* section) {
        for (const char* s : ai_scale::stats::section_order)
            if (std::strcmp(s, section) == 0)
                return true;
        return false;
    };
    for (const auto& name : ai_scale::stats::counter_names)
        EXPECT_TRUE(listed(name.section)) << name.section << "/" << name.metric;
    for (const char* section : ai_scale::stats::timer_sections)
        EXPECT_TRUE(listed(section)) << section;
}
