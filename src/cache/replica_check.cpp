#include "cache/replica_check.hpp"

#include <cerrno>
#include <cstdlib>

namespace ai_scale::cache {

namespace {
// A non-negative integer field; nullopt when missing or anything else.
std::optional<int64_t> int_field(const std::string& info, const std::string& field)
{
    std::string text = redis_info_field(info, field);
    if (text.empty())
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) // offsets are never negative
        return std::nullopt;
    return int64_t(v);
}
} // namespace

std::string redis_info_field(const std::string& info, const std::string& field)
{
    std::string needle = field + ":";
    size_t pos = 0;
    while ((pos = info.find(needle, pos)) != std::string::npos) {
        if (pos == 0 || info[pos - 1] == '\n') {
            size_t start = pos + needle.size();
            size_t end = info.find_first_of("\r\n", start);
            return info.substr(start, end == std::string::npos ? end : end - start);
        }
        pos += needle.size();
    }
    return {};
}

const char* replica_verdict_name(replica_verdict v)
{
    switch (v) {
    case replica_verdict::in_sync:
        return "in sync";
    case replica_verdict::link_down:
        return "link down";
    case replica_verdict::loading:
        return "loading";
    case replica_verdict::other_primary:
        return "follows another primary";
    case replica_verdict::lagging:
        return "lagging";
    case replica_verdict::not_replica:
        return "not a replica";
    }
    return "unknown";
}

replica_state judge_replica(const std::string& replica_info,
                            const std::optional<std::string>& primary_info, int64_t max_lag_bytes)
{
    if (redis_info_field(replica_info, "master_link_status") == "down")
        return {replica_verdict::link_down, std::nullopt};
    if (redis_info_field(replica_info, "master_sync_in_progress") == "1")
        return {replica_verdict::loading, std::nullopt};
    std::string history = redis_info_field(replica_info, "master_replid");
    if (redis_info_field(replica_info, "role") == "master") {
        // Listed among the replicas but a primary: the primary itself (the same server under
        // another name), or a replica promoted or detached, whose writes are its own.
        const bool the_primary = primary_info && !history.empty() &&
                                 history == redis_info_field(*primary_info, "master_replid");
        return {the_primary ? replica_verdict::in_sync : replica_verdict::not_replica,
                std::nullopt};
    }
    if (!primary_info || max_lag_bytes < 0)
        return {replica_verdict::in_sync, std::nullopt};

    std::string primary_history = redis_info_field(*primary_info, "master_replid");
    std::string primary_previous = redis_info_field(*primary_info, "master_replid2");
    if (history.empty() || primary_history.empty())
        return {replica_verdict::in_sync, std::nullopt}; // not a Redis that reports them
    if (history != primary_history && history != primary_previous)
        return {replica_verdict::other_primary, std::nullopt};

    auto applied = int_field(replica_info, "master_repl_offset");
    auto written = int_field(*primary_info, "master_repl_offset");
    if (!applied || !written)
        return {replica_verdict::in_sync, std::nullopt};
    // The primary is asked first, so a replica that caught up meanwhile can be ahead of it.
    int64_t lag = *written > *applied ? *written - *applied : 0;
    return {lag > max_lag_bytes ? replica_verdict::lagging : replica_verdict::in_sync, lag};
}

} // namespace ai_scale::cache
