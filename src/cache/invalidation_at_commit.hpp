// cache_invalidate acts at the call, outside the transaction. Called in a transaction that
// writes (the change the invalidation covers, say), it leaves a window until the commit in which
// another session misses, reads the data as it was before the change, and caches that under the
// new generation. So the slots a writing transaction invalidated are bumped once more right
// after it commits, when the change is visible: what was cached in the window becomes
// unreachable too.
#pragma once

#include <cstdint>

namespace ai_scale::cache {

// Notes the generation slot bumped by a cache_invalidate in this transaction, to be bumped again
// once the transaction commits, if it wrote anything by then.
void bump_again_at_commit(uint32_t slot);

} // namespace ai_scale::cache
