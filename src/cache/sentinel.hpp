// Redis Sentinel: with ai_scale.redis_sentinels set, the L2 primary and replicas are those the
// sentinels name for ai_scale.redis_sentinel_master, instead of ai_scale.redis_primary and
// ai_scale.redis_replicas, so that the cache follows a Redis failover. A backend asks at most
// once a second (the sentinel that answered last first, each behind its breaker), and at once
// after its primary failed; when no sentinel answers it keeps what it was told last.
#pragma once

#include <string>
#include <vector>

namespace ai_scale::cache {

struct redis_topology {
    std::string primary; // "" when no sentinel has named one yet
    std::vector<std::string> replicas;
};

// Whether ai_scale.redis_sentinels is set.
bool sentinel_enabled();

// The primary and usable replicas, asked again when more than a second old.
const redis_topology& sentinel_topology();

// Makes the next sentinel_topology() ask again (the primary it named failed).
void sentinel_recheck();

// Asks one sentinel now, behind its breaker (for redis_status, and sentinel_topology); *out is
// set when it names a primary.
enum class sentinel_answer { skipped, unreachable, unknown_master, named };
sentinel_answer ask_sentinel(const std::string& sentinel, redis_topology* out);

} // namespace ai_scale::cache
