// What the stats view counts, and a lock-free latency histogram. Pure C++: no Postgres headers,
// so the histogram is unit-tested directly; shared_stats.cpp places one set in shared memory.
#pragma once

#include <atomic>
#include <cstdint>

namespace ai_scale::stats {

enum class counter : int {
    l1_hits,
    l1_misses,
    l2_hits,
    l2_misses,
    l2_errors,
    l3_hits,
    l3_misses,
    breaker_trips,
    rows_scored_cpu,
    rows_scored_gpu,
    score_cpu_ns,
    score_gpu_ns,
    gpu_fallbacks,
    models_compiled,
    maintenance_runs,
    maintenance_actions,
    maintenance_errors,
    count_
};

enum class timer : int { l1_get, l2_get, l3_get, score, count_ };

struct metric_name {
    const char* section;
    const char* metric;
};

// Names in enum order: counters then timers (a timer's metrics are p50_ms, p99_ms, samples).
constexpr metric_name counter_names[] = {
    {"l1", "hits"},
    {"l1", "misses"},
    {"l2", "hits"},
    {"l2", "misses"},
    {"l2", "errors"},
    {"l3", "hits"},
    {"l3", "misses"},
    {"l2", "breaker_trips"},
    {"scoring", "rows_cpu"},
    {"scoring", "rows_gpu"},
    {"scoring", "cpu_ms"},
    {"scoring", "gpu_ms"},
    {"scoring", "gpu_fallbacks"},
    {"scoring", "models_compiled"},
    {"maintenance", "runs"},
    {"maintenance", "actions"},
    {"maintenance", "errors"},
};
constexpr const char* timer_sections[] = {"l1", "l2", "l3", "scoring"};
// The order of the sections in the stats view; every counter's and timer's section is one.
constexpr const char* section_order[] = {"l1", "l2", "l3", "scoring", "maintenance"};

static_assert(sizeof(counter_names) / sizeof(counter_names[0]) == int(counter::count_));
static_assert(sizeof(timer_sections) / sizeof(timer_sections[0]) == int(timer::count_));

// Log-linear buckets over nanoseconds: values below 2^sub_bits get one bucket each, then every
// power of two is split into 2^sub_bits equal buckets (relative error under 12.5%).
class latency_histogram {
  public:
    static constexpr int sub_bits = 3;
    static constexpr int sub_buckets = 1 << sub_bits;
    static constexpr int max_exponent = 48; // about 78 hours
    static constexpr int buckets = sub_buckets + (max_exponent - sub_bits) * sub_buckets;

    static int bucket_of(uint64_t ns);
    // Smallest value that does not fit in bucket b (bucket b holds [lower(b), upper(b))).
    static uint64_t bucket_upper(int b);

    void record(uint64_t ns) { counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed); }
    uint64_t samples() const;
    // Upper bound of the bucket holding the sample of rank ceil(q * samples); 0 when empty.
    uint64_t percentile(double q) const;
    void reset();

  private:
    std::atomic<uint64_t> counts_[buckets];
};

// The whole set, as laid out in shared memory.
struct shared_metrics {
    std::atomic<uint64_t> counters[int(counter::count_)];
    latency_histogram timers[int(timer::count_)];
    // How many resets there have been: a backend's sums counted before one are not added
    // after it. Read at every deferred count, written at a reset: a cache line of its own.
    alignas(64) std::atomic<uint64_t> resets;
    // Deferred adds in progress (see deferred_add), written at every flush: another line, so
    // that the reads of resets do not miss for it.
    alignas(64) std::atomic<uint32_t> deferred_adds;
    // Zeroes everything, after waiting out the deferred adds that saw the old reset count.
    void reset();
};

// One backend adding its deferred sums, counted while `resets` was counted_at. If a reset came
// since, current() is false and nothing is to be added. A reset waits for every deferred_add
// open when it began: checked in between, sums counted before it were added after it.
class deferred_add {
  public:
    deferred_add(shared_metrics& m, uint64_t counted_at) : m_(m)
    {
        // Both sides are sequentially consistent: either this add is counted before the
        // reset reads deferred_adds (and it waits), or the reset's new count is read here.
        m_.deferred_adds.fetch_add(1, std::memory_order_seq_cst);
        current_ = m_.resets.load(std::memory_order_seq_cst) == counted_at;
    }
    ~deferred_add() { m_.deferred_adds.fetch_sub(1, std::memory_order_release); }
    deferred_add(const deferred_add&) = delete;
    deferred_add& operator=(const deferred_add&) = delete;

    bool current() const { return current_; }
    void add(counter c, uint64_t n) { m_.counters[int(c)].fetch_add(n, std::memory_order_relaxed); }

  private:
    shared_metrics& m_;
    bool current_;
};

} // namespace ai_scale::stats
