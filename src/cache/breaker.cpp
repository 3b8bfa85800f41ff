#include "cache/breaker.hpp"

namespace ai_scale::cache {

std::string breaker_name(const std::string& endpoint, int db, const std::string& user)
{
    std::string name = endpoint;
    if (db == 0 && user.empty())
        return name;
    name += " (";
    if (db != 0)
        name += "db " + std::to_string(db);
    if (db != 0 && !user.empty())
        name += ", ";
    if (!user.empty()) {
        // Quoted as an identifier is: a user name may hold spaces, commas or quotes.
        name += "user \"";
        for (char ch : user) {
            if (ch == '"')
                name += '"';
            name += ch;
        }
        name += '"';
    }
    name += ')';
    return name;
}

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

int choose_breaker_slot(const breaker_slot_info* slots, int n, uint64_t name_hash, uint64_t now_ms,
                        uint64_t reset_ms)
{
    int free_slot = -1, oldest = -1;
    for (int i = 0; i < n; i++) {
        const auto& s = slots[i];
        if (!s.used) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (s.name_hash == name_hash)
            return i;
        const bool reclaimable = (s.state == breaker::state::closed && s.failures == 0) ||
                                 now_ms - s.last_used_ms >= reset_ms;
        if (reclaimable && (oldest < 0 || s.last_used_ms < slots[oldest].last_used_ms))
            oldest = i;
    }
    return free_slot >= 0 ? free_slot : oldest;
}

} // namespace ai_scale::cache
