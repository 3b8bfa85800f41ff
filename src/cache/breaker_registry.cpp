#include "cache/breaker_registry.hpp"
#include "cache/error_text.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"
#include "pg/shmem.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "storage/lwlock.h"
#include "utils/timestamp.h"
}

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <new>
#include <string>
#include <unordered_map>

namespace ai_scale::cache {

namespace {
constexpr int n_slots = 32;
constexpr const char* tranche = "ai_scale breakers";

struct slot {
    char endpoint[128]; // for display; '' = free (names are told apart by name_hash)
    uint64_t name_hash;
    uint64_t last_used_ms;
    breaker state;
    char last_error[192];
    TimestampTz last_error_at; // when last_error was recorded
    double last_latency_ms;
    uint64_t refusal_warned_ms; // the last refusal warned of (breaker_claim_refusal_warning)
};
struct registry {
    slot slots[n_slots];
};

registry* shared_registry = nullptr;
LWLock* lock = nullptr;
registry local_registry;
// Breakers that found every slot held by an open or half-open breaker: this backend's own,
// rather than another endpoint's, by key hash. An entry goes when its key finds a slot in the
// registry again or is no longer used (breaker_forget_others): before, a backend kept one for
// every such endpoint it had ever used. At most max_private_slots (about 420 bytes each), the
// least recently used out: the credentials are part of the key, and a pooled backend that served
// many roles, each with its own redis_user or redis_db, while Redis failed, kept one for each
// (16 MB for 40,000), whose endpoint had not changed for breaker_forget_others to drop them. An
// identity whose breaker goes out gets a closed one again, and waits for Redis once more: with
// 32 at most, a backend cycling through 70 users waited redis_timeout_ms on most calls.
std::unordered_map<uint64_t, slot> private_slots;
constexpr size_t max_private_slots = 1024;

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

// Holds the registry lock (when there is one) for its scope, and releases it when an exception
// (std::bad_alloc from the endpoint map or a snapshot's strings) leaves it; no Postgres error is
// raised inside.
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

void reset(slot& s, const breaker_key& key)
{
    s = slot{};
    strlcpy(s.endpoint, key.name.c_str(), sizeof s.endpoint);
    s.name_hash = key.hash;
    s.state = breaker{};
    s.last_latency_ms = -1;
}

// The key's slot (choose_breaker_slot): its own, a free one, or the least recently used
// reclaimable one, reset for it; with none reclaimable, a private one of this backend.
slot& find(const breaker_key& key)
{
    auto& r = reg();
    breaker_slot_info info[n_slots];
    for (int i = 0; i < n_slots; i++)
        info[i] = {r.slots[i].name_hash != 0, r.slots[i].name_hash, r.slots[i].state.current,
                   r.slots[i].state.failures, r.slots[i].last_used_ms};
    const uint64_t now = stats::monotonic_ms();
    int i = choose_breaker_slot(info, n_slots, key.hash, now, uint64_t(guc::breaker_reset_ms));
    if (i < 0) {
        auto it = private_slots.find(key.hash);
        if (it == private_slots.end()) {
            if (private_slots.size() >= max_private_slots)
                private_slots.erase(std::min_element(
                    private_slots.begin(), private_slots.end(), [](const auto& a, const auto& b) {
                        return a.second.last_used_ms < b.second.last_used_ms;
                    }));
            it = private_slots.try_emplace(key.hash).first;
            reset(it->second, key);
        }
        it->second.last_used_ms = now;
        return it->second;
    }
    if (!private_slots.empty())
        private_slots.erase(key.hash);
    slot& s = r.slots[i];
    if (s.name_hash != key.hash)
        reset(s, key);
    s.last_used_ms = now;
    return s;
}

// Whether s is a breaker every backend shares (not this backend's own: without preload, or
// with every registry slot held). Only those say in the server log when they open or close:
// a breaker per backend would say it once per session, which is a flood under short sessions.
bool shared_slot(const slot& s)
{
    return shared_registry != nullptr && &s >= shared_registry->slots &&
           &s < shared_registry->slots + n_slots;
}

// The server log says when an endpoint's breaker opens from closed, and when it closes again:
// two lines an outage, however long, since a failed probe (half-open, open again) says
// nothing. Logged by the one backend whose call changed the state, after the lock is released.
// Without its statement (errhidestmt), as every LOG line ai_scale writes from a client's call:
// Postgres wrote the client's whole query string under it (log_min_error_statement counts LOG
// above ERROR), a Redis password SET in the same string and the call's inputs included (TAP 088).
void log_opened(const std::string& endpoint, const std::string& error)
{
    // (Made before the call, whose callable may own no object with a destructor.)
    const std::string why = full_stop(error);
    pg::call([&] {
        ereport(LOG, (errhidestmt(true), errhidecontext(true),
                      errmsg_plural("ai_scale: Redis endpoint %s skipped: its circuit breaker "
                                    "opened after %d failure",
                                    "ai_scale: Redis endpoint %s skipped: its circuit breaker "
                                    "opened after %d failures in a row",
                                    guc::breaker_failures, endpoint.c_str(), guc::breaker_failures),
                      errdetail("Last error: %s", why.c_str()),
                      errhint("It is probed again every ai_scale.breaker_reset_ms (%d ms); "
                              "until it answers, cache calls take it for a miss.",
                              guc::breaker_reset_ms)));
    });
}

void log_closed(const std::string& endpoint)
{
    pg::call([&] {
        ereport(LOG, (errhidestmt(true), errhidecontext(true),
                      errmsg("ai_scale: Redis endpoint %s answers again: its circuit breaker "
                             "closed",
                             endpoint.c_str())));
    });
}

// on_success on s, under the lock: whether it closed a shared breaker that was not closed.
bool close_breaker(slot& s)
{
    const bool was_closed = s.state.current == breaker::state::closed;
    s.state.on_success();
    return !was_closed && shared_slot(s);
}
} // namespace

void request_breaker_memory()
{
    pg::request_lwlocks(tranche, 1);
    pg::request_shmem("ai_scale breakers", sizeof(registry), init_registry);
}

breaker_key breaker_for(const std::string& endpoint, endpoint_kind kind)
{
    const credentials cred = credentials_for(kind);
    breaker_key key;
    key.name = breaker_name(endpoint, cred.db, cred.user);
    key.hash = XXH3_64bits(key.name.data(), key.name.size());
    if (!cred.password.empty())
        key.hash = XXH3_64bits_withSeed(cred.password.data(), cred.password.size(), key.hash);
    key.hash |= 1; // never 0, a free slot's
    return key;
}

bool breaker_allow(const breaker_key& key)
{
    locked l;
    return find(key).state.allow(stats::monotonic_ms(), uint64_t(guc::breaker_reset_ms));
}

void breaker_success(const breaker_key& key, double latency_ms)
{
    bool closed;
    {
        locked l;
        slot& s = find(key);
        closed = close_breaker(s);
        s.last_latency_ms = latency_ms;
    }
    if (closed)
        log_closed(key.name);
}

// The last error is kept as ASCII (ascii_text): sessions of every database read it, and a
// connection error worded in one session's encoding (lc_messages) was invalid text in others.
void breaker_failure(const breaker_key& key, const std::string& error)
{
    bool tripped, opened_from_closed;
    const std::string shown = ascii_text(error);
    const TimestampTz at = GetCurrentTimestamp();
    {
        locked l;
        slot& s = find(key);
        strlcpy(s.last_error, shown.c_str(), sizeof s.last_error);
        s.last_error_at = at;
        const bool was_closed = s.state.current == breaker::state::closed;
        tripped = s.state.on_failure(stats::monotonic_ms(), uint32_t(guc::breaker_failures));
        opened_from_closed = tripped && was_closed && shared_slot(s);
    }
    stats::add(stats::counter::l2_errors);
    if (tripped)
        stats::add(stats::counter::breaker_trips);
    if (opened_from_closed)
        log_opened(key.name, error);
}

void breaker_refused(const breaker_key& key, const std::string& error, double latency_ms)
{
    bool closed;
    const std::string shown = ascii_text(error);
    const TimestampTz at = GetCurrentTimestamp();
    {
        locked l;
        slot& s = find(key);
        strlcpy(s.last_error, shown.c_str(), sizeof s.last_error);
        s.last_error_at = at;
        closed = close_breaker(s);
        s.last_latency_ms = latency_ms;
    }
    stats::add(stats::counter::l2_errors);
    if (closed)
        log_closed(key.name);
}

bool breaker_claim_refusal_warning(const breaker_key& key, uint64_t interval_ms)
{
    const uint64_t now = stats::monotonic_ms();
    locked l;
    slot& s = find(key);
    if (s.refusal_warned_ms != 0 && now - s.refusal_warned_ms < interval_ms)
        return false;
    s.refusal_warned_ms = now;
    return true;
}

void breaker_forget_others(const std::vector<std::string>& keep)
{
    if (private_slots.empty())
        return;
    std::vector<uint64_t> kept;
    for (const auto& endpoint : keep) {
        kept.push_back(breaker_for(endpoint, endpoint_kind::data).hash);
        kept.push_back(breaker_for(endpoint, endpoint_kind::sentinel).hash);
    }
    for (auto it = private_slots.begin(); it != private_slots.end();) {
        if (std::find(kept.begin(), kept.end(), it->first) == kept.end())
            it = private_slots.erase(it);
        else
            ++it;
    }
}

endpoint_health breaker_snapshot(const breaker_key& key)
{
    locked l;
    slot& s = find(key);
    return {s.state, s.last_error, s.last_error_at, s.last_latency_ms};
}

} // namespace ai_scale::cache
