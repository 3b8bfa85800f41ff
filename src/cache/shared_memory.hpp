// The cache's wiring, called from _PG_init.
#pragma once

namespace ai_scale::cache {

// Shared memory for L1, generations and breakers (preloading only).
void request_shared_memory();

} // namespace ai_scale::cache
