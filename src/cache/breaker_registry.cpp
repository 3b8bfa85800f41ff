#include "cache/breaker_registry.hpp"
#include "cache/l1_shared.hpp"
#include "guc.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "storage/lwlock.h"
}

#include <cstring>
#include <new>

namespace ai_scale::cache {

namespace {
constexpr int n_slots = 32;
constexpr const char* tranche = "ai_scale breakers";

struct slot {
    char endpoint[128]; // '' = free
    breaker state;
    char last_error[192];
    double last_latency_ms;
};
struct registry {
    slot slots[n_slots];
};

registry* shared_registry = nullptr;
LWLock* lock = nullptr;
registry local_registry;

void init_registry(void* segment, bool found)
{
    lock = &GetNamedLWLockTranche(tranche)[0].lock;
    if (!found)
        shared_registry = new (segment) registry();
    else
        shared_registry = static_cast<registry*>(segment);
}

registry& reg()
{
    return shared_registry ? *shared_registry : local_registry;
}

// Holds the registry lock (when there is one) for its scope. Nothing inside can raise an error.
struct locked {
    locked()
    {
        if (lock)
            LWLockAcquire(lock, LW_EXCLUSIVE);
    }
    ~locked()
    {
        if (lock)
            LWLockRelease(lock);
    }
};

// The endpoint's slot, made if missing; with every slot taken, the last one is shared.
slot& find(const std::string& endpoint)
{
    auto& r = reg();
    for (auto& s : r.slots) {
        if (s.endpoint[0] == '\0') {
            s = slot{};
            strlcpy(s.endpoint, endpoint.c_str(), sizeof s.endpoint);
            s.state = breaker{};
            s.last_latency_ms = -1;
            return s;
        }
        if (strncmp(s.endpoint, endpoint.c_str(), sizeof s.endpoint) == 0)
            return s;
    }
    return r.slots[n_slots - 1];
}
} // namespace

void request_breaker_memory()
{
    pg::request_lwlocks(tranche, 1);
    pg::request_shmem("ai_scale breakers", sizeof(registry), init_registry);
}

bool breaker_allow(const std::string& endpoint)
{
    locked l;
    return find(endpoint).state.allow(monotonic_ms(), uint64_t(guc::breaker_reset_ms));
}

void breaker_success(const std::string& endpoint, double latency_ms)
{
    locked l;
    slot& s = find(endpoint);
    s.state.on_success();
    s.last_latency_ms = latency_ms;
}

void breaker_failure(const std::string& endpoint, const std::string& error)
{
    bool tripped;
    {
        locked l;
        slot& s = find(endpoint);
        strlcpy(s.last_error, error.c_str(), sizeof s.last_error);
        tripped = s.state.on_failure(monotonic_ms(), uint32_t(guc::breaker_failures));
    }
    stats::add(stats::counter::l2_errors);
    if (tripped)
        stats::add(stats::counter::breaker_trips);
}

endpoint_health breaker_snapshot(const std::string& endpoint)
{
    locked l;
    slot& s = find(endpoint);
    return {s.state, s.last_error, s.last_latency_ms};
}

} // namespace ai_scale::cache
