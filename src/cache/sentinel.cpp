#include "cache/sentinel.hpp"
#include "cache/breaker_registry.hpp"
#include "cache/redis_client.hpp"
#include "cache/router.hpp"
#include "cache/sentinel_view.hpp"
#include "guc.hpp"
#include "stats/shared_stats.hpp"

#include <hiredis/hiredis.h>

namespace ai_scale::cache {

namespace {

constexpr uint64_t refresh_ms = 1000;

struct cached_topology {
    redis_topology topology;
    uint64_t asked_ms = 0;
    std::string sentinels; // the settings it was asked with; a change asks again
    std::string master;
    size_t first = 0; // the sentinel to ask first: the one that answered last
};
cached_topology cache;

// The string elements of an array reply (reply_strings, without the others).
std::vector<std::string> reply_words(const redisReply* r)
{
    std::vector<std::string> out;
    for (auto& word : reply_strings(r))
        if (word)
            out.push_back(std::move(*word));
    return out;
}

// The replicas of a SENTINEL replicas reply: an array of entries, each a flat array of field,
// value, field, value... (RESP2).
std::vector<std::string> usable_replicas(const redisReply* r)
{
    std::vector<std::string> out;
    if (r->type != REDIS_REPLY_ARRAY)
        return out;
    for (size_t i = 0; i < r->elements; i++) {
        auto words = reply_words(r->element[i]);
        sentinel_fields fields;
        for (size_t w = 0; w + 1 < words.size(); w += 2)
            fields.emplace_back(words[w], words[w + 1]);
        if (auto address = sentinel_usable_replica(fields))
            out.push_back(*address);
    }
    return out;
}

} // namespace

sentinel_answer ask_sentinel(const std::string& sentinel, redis_topology* out)
{
    const std::string master = guc::redis_sentinel_master ? guc::redis_sentinel_master : "";
    bool skipped;
    bool refused;
    auto replies =
        attempt(sentinel,
                {{"SENTINEL", "get-master-addr-by-name", master}, {"SENTINEL", "replicas", master}},
                &skipped, endpoint_kind::sentinel, &refused);
    // (SENTINEL replicas of a master it does not monitor is an error reply, a refusal.)
    if (!replies && refused &&
        breaker_snapshot(breaker_for(sentinel, endpoint_kind::sentinel))
                .last_error.rfind("ERR No such master", 0) == 0)
        return sentinel_answer::unknown_master;
    if (!replies)
        return skipped ? sentinel_answer::skipped : sentinel_answer::unreachable;
    auto primary = sentinel_primary(reply_words((*replies)[0].get()));
    if (!primary)
        return sentinel_answer::unknown_master;
    out->primary = *primary;
    out->replicas = usable_replicas((*replies)[1].get());
    return sentinel_answer::named;
}

bool sentinel_enabled()
{
    return guc::redis_sentinels && guc::redis_sentinels[0] != '\0';
}

const redis_topology& sentinel_topology()
{
    const uint64_t now = stats::monotonic_ms();
    const std::string sentinels = guc::redis_sentinels ? guc::redis_sentinels : "";
    const std::string master = guc::redis_sentinel_master ? guc::redis_sentinel_master : "";
    if (sentinels != cache.sentinels || master != cache.master) {
        cache = cached_topology{};
        cache.sentinels = sentinels;
        cache.master = master;
    }
    if (cache.asked_ms != 0 && now - cache.asked_ms < refresh_ms)
        return cache.topology;
    const auto list = endpoint_list(sentinels.c_str());
    for (size_t i = 0; i < list.size(); i++) {
        const size_t which = (cache.first + i) % list.size();
        redis_topology t;
        if (ask_sentinel(list[which], &t) == sentinel_answer::named) {
            cache.topology = std::move(t);
            cache.first = which;
            break;
        }
    }
    // Noted once the sentinels were asked: noted before, a session whose first ask was
    // cancelled knew no primary for a second (its reads missed, or failed with 08006).
    cache.asked_ms = now;
    return cache.topology;
}

void sentinel_recheck()
{
    cache.asked_ms = 0;
}

} // namespace ai_scale::cache
