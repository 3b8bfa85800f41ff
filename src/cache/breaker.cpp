#include "cache/breaker.hpp"

namespace ai_scale::cache {

bool breaker::allow(uint64_t now_ms, uint64_t reset_ms)
{
    switch (current) {
    case state::closed:
        return true;
    case state::open:
    case state::half_open:
        if (now_ms - changed_ms < reset_ms)
            return false;
        current = state::half_open;
        changed_ms = now_ms;
        return true;
    }
    return false;
}

void breaker::on_success()
{
    current = state::closed;
    failures = 0;
}

bool breaker::on_failure(uint64_t now_ms, uint32_t threshold)
{
    failures++;
    bool opens = current == state::half_open || (current == state::closed && failures >= threshold);
    if (current == state::open)
        return false;
    if (opens) {
        current = state::open;
        changed_ms = now_ms;
        trips++;
    }
    return opens;
}

const char* breaker::name(state s)
{
    switch (s) {
    case state::closed:
        return "closed";
    case state::open:
        return "open";
    case state::half_open:
        return "half_open";
    }
    return "?";
}

} // namespace ai_scale::cache
