// The catalog caches (CacheMemoryContext) of a worker that lives as long as the server, kept
// from growing for good.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::pg {

// Resets the catalog caches, between a worker's jobs, once they hold much more than a job
// needs. Postgres frees a cache entry when the catalog row it stands for changes; an entry of a
// row that never existed (a negative entry, such as a look-up of a partition's column
// statistics in pg_statistic before any ANALYZE) stays until a row with its key is written,
// which, for a partition dropped since, never happens; and a relation's entry, with its
// indexes', stays until the relation changes, used again or not. A worker that makes, drops or
// fills one partition after another keeps them all, for good (TAP 253, 268). A reset is what
// Postgres itself does to a session that falls behind on invalidations; the next job reads
// again what it needs.
class catalog_cache_bound {
  public:
    // A reset, for the worker's log: the bytes the caches held, and what a job needed.
    struct reset {
        Size held = 0; // 0: no reset
        Size needed = 0;
    };
    // Outside a transaction, after a job: the first call since the last reset measures what a
    // job needs; a later one resets the caches when they hold more than that plus 64 kB, or an
    // eighth of it when that is more. Leaves CurrentMemoryContext as it found it.
    reset reset_if_grown();

  private:
    Size needed_ = 0; // 0 until measured since the last reset
};

} // namespace ai_scale::pg
