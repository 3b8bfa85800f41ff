#include "pg/catalog_caches.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/inval.h"
#include "utils/memutils.h"
}

#include <algorithm>

namespace ai_scale::pg {

namespace {

// How far the caches may grow over what a job needs: with 10,000 partitions (11.4 MB of
// catalog caches after a maintenance run with nothing to do), a run that makes and drops a
// partition needs 78 to 221 kB more, and a fixed 64 kB reset the caches at every such run, each
// next run reading them all again (80 ms against 2 ms; TAP 265).
constexpr Size growth_bound = 64 * 1024;
constexpr Size growth_share = 8;

// The bytes the catalog caches hold: CacheMemoryContext's own (its child contexts, such as a
// relation's index info, are freed with the entry that owns them).
Size catalog_cache_used()
{
    MemoryContextCounters counters = {};
    CacheMemoryContext->methods->stats(CacheMemoryContext, nullptr, nullptr, &counters, false);
    return counters.totalspace - counters.freespace;
}

} // namespace

catalog_cache_bound::reset catalog_cache_bound::reset_if_grown()
{
    const Size used = catalog_cache_used();
    if (needed_ == 0) {
        needed_ = used;
        return {};
    }
    if (used <= needed_ + std::max(growth_bound, needed_ / growth_share))
        return {};
    MemoryContext caller = CurrentMemoryContext;
    StartTransactionCommand();
    InvalidateSystemCaches();
    CommitTransactionCommand();
    MemoryContextSwitchTo(caller);
    const reset done = {used, needed_};
    needed_ = 0;
    return done;
}

} // namespace ai_scale::pg
