// Any config, existing partitions and clock: cells contain the time they are aligned from, and
// the plan's creations overlap nothing, lie in the premake window and, with the existing
// partitions, cover it entirely; retention only touches wholly expired partitions.
#include "partition/planner.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace ai_scale::partition;

namespace {

struct reader {
    const uint8_t* data;
    size_t size;
    uint64_t next(uint64_t mod)
    {
        uint64_t v = 0;
        const size_t n = std::min<size_t>(size, 8);
        std::memcpy(&v, data, n);
        data += n;
        size -= n;
        return mod == 0 ? v : v % mod;
    }
};

constexpr int64_t span = 80LL * 366 * usecs_per_day; // times within 80 years of 2000

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    reader r{data, size};
    config c;
    if (r.next(2) == 0)
        c.step = {int32_t(1 + r.next(24)), 0, 0};
    else
        c.step = {0, int32_t(r.next(40)), int64_t(r.next(1440)) * usecs_per_minute};
    c.premake = int(r.next(40));
    if (r.next(2))
        c.retention = interval{int32_t(r.next(30)), int32_t(r.next(400)), 0};
    c.mode = retention_mode(r.next(3));
    try {
        validate(c);
    } catch (const invalid_config&) {
        return 0;
    }
    const local_time now = local_time(r.next(2 * span)) - span;

    // Alignment.
    const local_time cell = align_down(c.step, now);
    check(cell <= now && now < add(cell, c.step));
    check(align_down(c.step, cell) == cell);

    // Existing partitions: sorted, non-overlapping, random widths and gaps.
    std::vector<existing_partition> existing;
    local_time t = now - local_time(r.next(uint64_t(40) * usecs_per_day));
    const int count = int(r.next(20));
    for (int i = 0; i < count && r.size > 0; i++) {
        t += local_time(r.next(uint64_t(3) * usecs_per_day));
        const local_time upper = t + 1 + local_time(r.next(uint64_t(5) * usecs_per_day));
        existing.push_back({{t, upper}, r.next(2) == 1});
        t = upper;
    }

    const std::vector<action> actions = plan(c, existing, now);
    const local_time window_end = add(cell, c.step, c.premake + 1);
    std::vector<range> covered;
    for (const auto& e : existing)
        covered.push_back(e.bounds);
    for (const action& a : actions) {
        if (a.kind == action_kind::create) {
            check(a.bounds.lower < a.bounds.upper);
            check(a.bounds.lower >= cell && a.bounds.upper <= window_end);
            for (const range& h : covered)
                check(a.bounds.upper <= h.lower || a.bounds.lower >= h.upper);
            covered.push_back(a.bounds);
        } else {
            check(a.partition >= 0 && a.partition < int(existing.size()));
            check(existing[size_t(a.partition)].bounds == a.bounds);
            if (a.kind != action_kind::tier)
                check(c.retention && a.bounds.upper <= add(now, *c.retention, -1));
        }
    }
    // The whole window [cell, window_end) is covered.
    std::sort(covered.begin(), covered.end(),
              [](const range& a, const range& b) { return a.lower < b.lower; });
    local_time cursor = cell;
    for (const range& h : covered) {
        if (h.upper <= cursor)
            continue;
        check(h.lower <= cursor);
        cursor = h.upper;
        if (cursor >= window_end)
            break;
    }
    check(cursor >= window_end);
    return 0;
}
