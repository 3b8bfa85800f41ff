#include "cache/router.hpp"
#include "cache/breaker_registry.hpp"
#include "cache/l1_shared.hpp"
#include "cache/redis_client.hpp"
#include "cache/replica_check.hpp"
#include "cache/shared_memory.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "stats/shared_stats.hpp"

#include <hiredis/hiredis.h>

#include <unordered_map>

namespace ai_scale::cache {

namespace {

// How often a backend re-asks a replica whether it is in sync with its primary.
constexpr uint64_t sync_check_interval_ms = 1000;

struct replica_sync {
    uint64_t checked_ms = 0;
    bool in_sync = true;
};
std::unordered_map<std::string, replica_sync> replica_sync_state;
unsigned round_robin = 0;

std::vector<std::string> split_list(const char* s)
{
    std::vector<std::string> out;
    std::string cur;
    for (const char* p = s ? s : ""; *p; p++) {
        if (*p == ',') {
            if (!cur.empty())
                out.push_back(cur);
            cur.clear();
        } else if (*p != ' ') {
            cur.push_back(*p);
        }
    }
    if (!cur.empty())
        out.push_back(cur);
    return out;
}

[[noreturn]] void unavailable_error(const std::string& endpoint)
{
    auto health = breaker_snapshot(endpoint);
    throw pg::error(ERRCODE_CONNECTION_FAILURE, "redis is unavailable for the L2 cache",
                    "Endpoint " + endpoint + ": " +
                        (health.state.current == breaker::state::closed
                             ? health.last_error
                             : "circuit breaker " +
                                   std::string(breaker::name(health.state.current)) +
                                   ", last error: " + health.last_error),
                    "Set ai_scale.cache_strict = off to treat an unavailable Redis as a miss.");
}

// False when the replica says its link to the primary is down or it is still loading a full
// sync, follows another primary, or lags more than ai_scale.redis_replica_max_lag behind the
// primary (asked at most once a second; the primary first, so the lag is not overstated).
bool replica_in_sync(const std::string& endpoint)
{
    auto& st = replica_sync_state[endpoint];
    uint64_t now = monotonic_ms();
    if (st.checked_ms != 0 && now - st.checked_ms < sync_check_interval_ms)
        return st.in_sync;
    st.checked_ms = now;
    std::optional<std::string> primary_info;
    if (l2_enabled() && replica_max_lag_bytes() >= 0)
        if (auto replies = attempt(guc::redis_primary, {{"INFO", "replication"}}))
            primary_info = reply_string((*replies)[0].get());
    auto replies = attempt(endpoint, {{"INFO", "replication"}});
    if (!replies)
        return st.in_sync = false;
    auto info = reply_string((*replies)[0].get());
    st.in_sync = info && judge_replica(*info, primary_info, replica_max_lag_bytes()).verdict ==
                             replica_verdict::in_sync;
    return st.in_sync;
}

} // namespace

std::optional<std::vector<reply_ptr>> attempt(const std::string& endpoint,
                                              const std::vector<command>& cmds, bool* skipped)
{
    const bool allowed = breaker_allow(endpoint);
    if (skipped != nullptr)
        *skipped = !allowed;
    if (!allowed)
        return std::nullopt;
    register_exit_hook();
    uint64_t t0 = stats::now_ns();
    try {
        auto replies = redis_run(endpoint, cmds);
        breaker_success(endpoint, double(stats::now_ns() - t0) / 1e6);
        return replies;
    } catch (const redis_failure& e) {
        breaker_failure(endpoint, e.what());
        return std::nullopt;
    }
}

int64_t replica_max_lag_bytes()
{
    return guc::redis_replica_max_lag_kb < 0 ? -1 : int64_t(guc::redis_replica_max_lag_kb) * 1024;
}

bool l2_enabled()
{
    return guc::redis_primary && guc::redis_primary[0] != '\0';
}

std::vector<endpoint> configured_endpoints()
{
    std::vector<endpoint> out;
    if (l2_enabled())
        out.push_back({guc::redis_primary, true});
    for (auto& r : split_list(guc::redis_replicas))
        out.push_back({r, false});
    return out;
}

std::vector<std::optional<std::string>> l2_read(const std::vector<std::string>& keys,
                                                bool* unavailable)
{
    *unavailable = false;
    std::vector<std::optional<std::string>> none(keys.size());
    if (keys.empty())
        return none;
    command cmd;
    cmd.reserve(keys.size() + 1);
    cmd.push_back(keys.size() == 1 ? "GET" : "MGET");
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    std::vector<command> cmds{std::move(cmd)};

    auto take = [&](std::vector<reply_ptr>& replies) {
        if (keys.size() == 1)
            return std::vector<std::optional<std::string>>{reply_string(replies[0].get())};
        auto values = reply_strings(replies[0].get());
        values.resize(keys.size());
        return values;
    };

    std::vector<std::string> order;
    auto replicas = split_list(guc::redis_replicas);
    if (guc::redis_read_from == int(guc::read_from::replica) && !replicas.empty())
        order.push_back(replicas[round_robin++ % replicas.size()]);
    if (l2_enabled())
        order.push_back(guc::redis_primary);
    for (size_t i = 0; i < order.size(); i++) {
        const std::string& ep = order[i];
        bool is_primary = l2_enabled() && i + 1 == order.size();
        if (!is_primary && !replica_in_sync(ep))
            continue;
        if (auto replies = attempt(ep, cmds))
            return take(*replies);
    }
    *unavailable = true;
    if (guc::cache_strict && !order.empty())
        unavailable_error(order.back());
    return none;
}

bool l2_write(const std::string& key, const std::string& value, uint64_t ttl_ms)
{
    return l2_write_many({{key, value}}, ttl_ms);
}

bool l2_write_many(const std::vector<std::pair<std::string, std::string>>& entries, uint64_t ttl_ms)
{
    if (entries.empty())
        return true;
    std::string primary = guc::redis_primary;
    const std::string ttl = std::to_string(ttl_ms);
    std::vector<command> cmds;
    cmds.reserve(entries.size());
    for (const auto& [key, value] : entries)
        cmds.push_back({"SET", key, value, "PX", ttl});
    if (attempt(primary, cmds))
        return true;
    if (guc::cache_strict)
        unavailable_error(primary);
    return false;
}

} // namespace ai_scale::cache

namespace ai_scale::cache {

std::optional<uint64_t> l2_increment(const std::string& key)
{
    std::string primary = guc::redis_primary;
    if (auto replies = attempt(primary, {{"INCR", key}})) {
        const redisReply* r = (*replies)[0].get();
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            return uint64_t(r->integer);
        return std::nullopt;
    }
    if (guc::cache_strict)
        unavailable_error(primary);
    return std::nullopt;
}

} // namespace ai_scale::cache
