// One circuit breaker per Redis endpoint and credentials, in shared memory so every backend
// sees the same state (per backend when ai_scale is not preloaded). Also keeps each one's last
// error and last latency for redis_status().
#pragma once

#include "cache/breaker.hpp"
#include "cache/redis_client.hpp"

#include <string>
#include <vector>

namespace ai_scale::cache {

void request_breaker_memory();

// Which breaker a request goes through.
struct breaker_key {
    std::string name;  // breaker_name(): the endpoint, and its database and user where set
    uint64_t hash = 0; // of the name and the password; never 0
};
// The breaker of endpoint for the credentials a request of kind is sent with: this session's
// ai_scale.redis_db, redis_user and redis_password for a data endpoint, none for a sentinel.
breaker_key breaker_for(const std::string& endpoint, endpoint_kind kind);

// Whether a request may go now (ai_scale.breaker_reset_ms governs the probe).
bool breaker_allow(const breaker_key& key);
void breaker_success(const breaker_key& key, double latency_ms);
// Records a failure; counts a trip in the stats when this one opened the breaker.
void breaker_failure(const breaker_key& key, const std::string& error);
// Records an error reply that refused one command (OOM, NOPERM): an L2 error and the endpoint's
// last error, but the endpoint answered, so for its breaker a success.
void breaker_refused(const breaker_key& key, const std::string& error, double latency_ms);
// Whether a refusal may be warned of now: none was, through this breaker (every backend's),
// for interval_ms. Claims the warning when it may.
bool breaker_claim_refusal_warning(const breaker_key& key, uint64_t interval_ms);

// Drops this backend's own breakers (kept when every registry slot was held) other than those
// of the endpoints in keep with this session's credentials: an endpoint no longer configured or
// named by the sentinels, or credentials no longer used.
void breaker_forget_others(const std::vector<std::string>& keep);

struct endpoint_health {
    breaker state;
    std::string last_error;
    int64_t last_error_at = 0; // a TimestampTz; meaningless while last_error is empty
    double last_latency_ms = -1;
};
endpoint_health breaker_snapshot(const breaker_key& key);

} // namespace ai_scale::cache
