// A circuit breaker's state machine, per Redis endpoint. Pure C++: the caller supplies the clock
// and the settings, and keeps one of these in shared memory under a lock (see breaker_registry).
//
// closed --(failures in a row reach the threshold)--> open --(reset_ms passed)--> half_open:
// one caller is let through as a probe; its success closes the breaker, its failure reopens it.
// A probe that never reports back (its backend died) is replaced after another reset_ms.
#pragma once

#include <cstdint>

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

} // namespace ai_scale::cache
