// A circuit breaker's state machine, per Redis endpoint. Pure C++: the caller supplies the clock
// and the settings, and keeps one of these in shared memory under a lock (see breaker_registry).
//
// closed --(failures in a row reach the threshold)--> open --(reset_ms passed)--> half_open:
// one caller is let through as a probe; its success closes the breaker, its failure reopens it.
// A probe that never reports back (its backend died) is replaced after another reset_ms.
#pragma once

#include <cstdint>
#include <string>

namespace ai_scale::cache {

struct breaker {
    enum class state : uint8_t { closed, open, half_open };

    state current = state::closed;
    uint32_t failures = 0;   // consecutive
    uint64_t changed_ms = 0; // when it last opened or let a probe through
    uint64_t trips = 0;      // times it opened

    // Whether a request may go to the endpoint now. May move open -> half_open (this caller is
    // then the probe).
    bool allow(uint64_t now_ms, uint64_t reset_ms);
    void on_success();
    // Records a failure; true when this failure opened the breaker.
    bool on_failure(uint64_t now_ms, uint32_t threshold);

    static const char* name(state s);
};

// The name an endpoint's breaker goes by, in redis_status() and the server log: the endpoint,
// with the Redis database and ACL user its requests are sent with where those are set, as in
// 10.0.0.1:6379 (db 3, user "app"). A database or role that sets ai_scale.redis_db or
// redis_user to a wrong value opens a breaker of its own, not the one every other database
// uses (the password, server-wide, tells breakers apart too, without being named).
std::string breaker_name(const std::string& endpoint, int db, const std::string& user);

// What the registry (breaker_registry.cpp) knows of one of its slots when placing an endpoint.
struct breaker_slot_info {
    bool used = false;
    uint64_t name_hash = 0; // of the endpoint's full name
    breaker::state state = breaker::state::closed;
    uint32_t failures = 0; // consecutive, below the threshold while closed
    uint64_t last_used_ms = 0;
};

// The slot for the endpoint whose name hashes to name_hash: its own; else a free one; else the
// least recently used slot that can be reclaimed: closed without failures (a healthy endpoint
// loses only its counters; a flaky one keeps its count toward the trip) or not used for reset_ms
// (an endpoint no longer configured; its breaker would let a probe through by now anyway). -1 when
// none can: the caller keeps this endpoint's breaker elsewhere rather than share another
// endpoint's.
int choose_breaker_slot(const breaker_slot_info* slots, int n, uint64_t name_hash, uint64_t now_ms,
                        uint64_t reset_ms);

} // namespace ai_scale::cache
