// One circuit breaker per Redis endpoint, in shared memory so every backend sees the same state
// (per backend when ai_scale is not preloaded). Also keeps each endpoint's last error and last
// latency for redis_status().
#pragma once

#include "cache/breaker.hpp"

#include <string>
#include <vector>

namespace ai_scale::cache {

void request_breaker_memory();

// Whether a request may go to endpoint now (ai_scale.breaker_reset_ms governs the probe).
bool breaker_allow(const std::string& endpoint);
void breaker_success(const std::string& endpoint, double latency_ms);
// Records a failure; counts a trip in the stats when this one opened the breaker.
void breaker_failure(const std::string& endpoint, const std::string& error);
// Records an error reply that refused one command (OOM, NOPERM): an L2 error and the endpoint's
// last error, but the endpoint answered, so for its breaker a success.
void breaker_refused(const std::string& endpoint, const std::string& error, double latency_ms);

// Drops this backend's own breakers (kept when every registry slot was held) of endpoints not
// in keep: an endpoint no longer configured or named by the sentinels.
void breaker_forget_others(const std::vector<std::string>& keep);

struct endpoint_health {
    breaker state;
    std::string last_error;
    double last_latency_ms = -1;
};
endpoint_health breaker_snapshot(const std::string& endpoint);

} // namespace ai_scale::cache
