#include "stats/shared_stats.hpp"
#include "pg/guard.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "access/xact.h"
#include "funcapi.h"
#include "utils/builtins.h"
}

#include <algorithm>
#include <cstring>
#include <ctime>
#include <iterator>
#include <new>

namespace ai_scale::stats {

namespace {
shared_metrics* metrics = nullptr;

// add_deferred()'s sums not yet in shared memory, and how many calls made them.
uint64_t deferred[int(counter::count_)];
int deferred_calls = 0;
uint64_t deferred_resets = 0; // metrics->resets when they were counted
bool xact_callback_registered = false;

void discard_deferred()
{
    std::fill(std::begin(deferred), std::end(deferred), 0);
    deferred_calls = 0;
}

// Sums counted before a reset_stats() (by a transaction open across it) are dropped, as the
// counters added directly were zeroed: added after the reset, the L1 misses of such a
// transaction showed with none of their L2 lookups.
void flush_deferred()
{
    {
        deferred_add adding(*metrics, deferred_resets);
        if (adding.current())
            for (int i = 0; i < int(counter::count_); i++)
                if (deferred[i] != 0)
                    adding.add(counter(i), deferred[i]);
    }
    discard_deferred();
}

void at_xact_end(XactEvent event, void*)
{
    if (deferred_calls > 0 &&
        (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
         event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT))
        flush_deferred();
}

void init_segment(void* segment, bool found)
{
    if (!found) {
        metrics = new (segment) shared_metrics();
        metrics->reset();
    } else {
        metrics = static_cast<shared_metrics*>(segment);
    }
}
} // namespace

void request_shared_memory()
{
    pg::request_shmem("ai_scale stats", sizeof(shared_metrics), init_segment);
}

void add(counter c, uint64_t n)
{
    if (metrics)
        metrics->counters[int(c)].fetch_add(n, std::memory_order_relaxed);
}

void add_deferred(counter c, uint64_t n)
{
    if (!metrics)
        return;
    if (!xact_callback_registered) {
        pg::call([] { RegisterXactCallback(at_xact_end, nullptr); });
        xact_callback_registered = true;
    }
    const uint64_t resets = metrics->resets.load(std::memory_order_relaxed);
    if (resets != deferred_resets) {
        discard_deferred();
        deferred_resets = resets;
    }
    deferred[int(c)] += n;
    if (++deferred_calls >= deferred_flush_calls)
        flush_deferred();
}

void record(timer t, uint64_t ns)
{
    if (metrics)
        metrics->timers[int(t)].record(ns);
}

uint32_t sampler_phase()
{
    return uint32_t(MyProcPid); // backends started one after another take turns
}

uint64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

namespace {
void put_row(ReturnSetInfo* rsinfo, const char* section, const char* metric, double value)
{
    Datum values[3] = {CStringGetTextDatum(section), CStringGetTextDatum(metric),
                       Float8GetDatum(value)};
    bool nulls[3] = {false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

bool is_nanoseconds(counter c)
{
    return c == counter::score_cpu_ns || c == counter::score_gpu_ns;
}
} // namespace

} // namespace ai_scale::stats

using namespace ai_scale;

// stats_snapshot() -> setof (section text, metric text, value float8); behind the stats view.
// Rows come section by section (l1, l2, l3, scoring, maintenance), each section's counters
// before its latency rows, so that `SELECT * FROM ai_scale.stats` reads as a report.
AI_SCALE_FUNCTION(ai_scale_stats_snapshot)
{
    pg::require_preload("the stats view");
    InitMaterializedSRF(fcinfo, 0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    stats::flush_deferred(); // this session's own rows show at once
    const auto* m = stats::metrics;
    for (const char* section : stats::section_order) {
        for (int i = 0; i < int(stats::counter::count_); i++) {
            if (strcmp(stats::counter_names[i].section, section) != 0)
                continue;
            double v = double(m->counters[i].load(std::memory_order_relaxed));
            if (stats::is_nanoseconds(stats::counter(i)))
                v /= 1e6;
            stats::put_row(rsinfo, section, stats::counter_names[i].metric, v);
        }
        for (int i = 0; i < int(stats::timer::count_); i++) {
            if (strcmp(stats::timer_sections[i], section) != 0)
                continue;
            const auto& h = m->timers[i];
            stats::put_row(rsinfo, section, "samples", double(h.samples()));
            stats::put_row(rsinfo, section, "p50_ms", double(h.percentile(0.50)) / 1e6);
            stats::put_row(rsinfo, section, "p99_ms", double(h.percentile(0.99)) / 1e6);
        }
    }
    return (Datum)0;
}

AI_SCALE_FUNCTION(ai_scale_reset_stats)
{
    pg::require_preload("reset_stats()");
    stats::metrics->reset(); // this and every backend's sums not yet added are dropped
    PG_RETURN_VOID();
}
