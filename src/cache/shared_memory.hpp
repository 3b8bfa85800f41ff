// The cache's wiring, called from _PG_init.
#pragma once

namespace ai_scale::cache {

// Shared memory for L1, generations and breakers (preloading only).
void request_shared_memory();
// Closes this backend's Redis connections when it exits.
void register_exit_hook();

} // namespace ai_scale::cache
