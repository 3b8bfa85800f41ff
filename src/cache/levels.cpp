#include "cache/levels.hpp"
#include "cache/l1_shared.hpp"
#include "cache/l2_value.hpp"
#include "cache/l3_store.hpp"
#include "cache/router.hpp"
#include "cache/unlearned_keys.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "stats/shared_stats.hpp"

#include <utility>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace ai_scale::cache {

// An L1 lookup takes about a microsecond: its hits and misses are counted per backend, and one
// lookup in stats::timed_every is timed (as score() does, src/scoring/score_sql.cpp).
Jsonb* from_l1(const key128& k)
{
    static stats::call_sampler sampler;
    Jsonb* v;
    if (sampler.timed()) {
        uint64_t t0 = stats::now_ns();
        v = l1_get(k);
        stats::record(stats::timer::l1_get, stats::now_ns() - t0);
    } else {
        v = l1_get(k);
    }
    stats::add_deferred(v ? stats::counter::l1_hits : stats::counter::l1_misses);
    return v;
}

void fill_l1(const key128& k, const Jsonb* v, uint64_t ttl_ms, l1_table::put_mode mode)
{
    // A session that does not use L1 still removes the key's older value there, which the
    // sessions that do would otherwise go on reading instead of the one written to Redis; but
    // not for a fill from a lower level (if_absent), which keeps a value L1 holds: a store hit
    // in such a session removed the newer value a cache_put had left in L1 alone.
    if (l1_usable())
        l1_put(k, v, ttl_ms, mode);
    else if (mode != l1_table::put_mode::if_absent)
        l1_forget(k);
}

namespace {

// The keys whose value in Redis could not be used (damaged, not a jsonb a Postgres wrote, or past
// the expiry it carries: Redis's clock behind ours) at this backend's latest L2 read. The lookup
// that read them goes to the store next, and its fill (fill_from_store) replaces such a value,
// where it keeps any other: without that, a key whose value is unusable would miss Redis, and
// L1, until Redis expired it, if ever.
std::unordered_set<key128, key128_hash> unusable_in_redis;

// Empties unusable_in_redis, and frees its buckets: clear() kept them, sized for the largest
// batch with unusable values the backend had read (5.6 MB after 400,000 of them), for its life.
void forget_unusable_in_redis()
{
    std::unordered_set<key128, key128_hash>().swap(unusable_in_redis);
}

// Whether no endpoint answered this backend's latest L2 read: the store's fill that follows it
// in the same call (fill_from_store) then writes nothing to Redis. It sent its SET to the Redis
// that had just timed out, and a call answered by the store waited for Redis twice (counting
// two failures) where one it missed waited once.
bool redis_unavailable_at_read = false;

} // namespace

// Looks up each key in L2, l2_keys_per_round_trip keys per round trip; fills L1 with the hits.
// The Redis keys of one round trip are made just before it: made for a whole batch at once,
// with every value read back, a cache_get_many of a million keys held 120 MB more at its peak.
// After a round trip in which no endpoint answered, the rest are misses (Redis is not waited
// for again in this call), counted neither as hits nor misses; so are the keys made with a
// generation this server has not learned (unlearned_keys.hpp), which Redis is not asked for.
std::vector<Jsonb*> from_l2(const std::vector<key128>& keys, bool of_batch)
{
    forget_unusable_in_redis();
    redis_unavailable_at_read = false;
    std::vector<Jsonb*> out(keys.size(), nullptr);
    const bool use_l1 = l1_usable();
    std::vector<std::string> rkeys;
    std::vector<size_t> asked;   // the index in keys of each of rkeys
    bool replica_failed = false; // then the primary reads the rest (l2_read)
    for (size_t next = 0; next < keys.size();) {
        rkeys.clear();
        asked.clear();
        for (; next < keys.size() && asked.size() < l2_keys_per_round_trip; next++)
            if (in_l2(keys[next])) {
                asked.push_back(next);
                rkeys.push_back(redis_key(keys[next]));
            }
        if (asked.empty())
            break;
        bool unavailable = false;
        bool unchecked = false;
        // Times each round trip (stats' l2 timer); takes the keys' strings.
        auto values = l2_read(std::move(rkeys), &unavailable, read_target::configured, &unchecked,
                              &replica_failed, of_batch);
        if (unavailable) {
            redis_unavailable_at_read = true;
            break;
        }
        const uint64_t now = unix_ms();
        for (size_t j = 0; j < asked.size(); j++) {
            pg::check_for_interrupts();
            const size_t i = asked[j];
            const std::optional<std::string>& value = values[j];
            uint64_t expires = 0;
            if (value)
                out[i] = decode_l2_value(*value, &expires);
            if (out[i] && expires <= now)
                out[i] = nullptr;
            if (value && out[i] == nullptr)
                unusable_in_redis.insert(keys[i]);
            stats::add(out[i] ? stats::counter::l2_hits : stats::counter::l2_misses);
            // A put made since the L1 lookup missed is newer than this value: it stays. Nor is
            // L1 filled from a replica while the primary may not be answering: a put of this
            // server's that the primary had yet to answer (timed out: it removed L1's value) may
            // be missing there, and L1 kept the older value it answered after Redis had the new
            // one, for that value's whole TTL.
            if (out[i] && use_l1 && !unchecked)
                l1_put(keys[i], out[i], expires - now, l1_table::put_mode::if_absent);
        }
    }
    return out;
}

Jsonb* from_l3(const key128& k, Oid keyed_store, text* model, int32 version, Jsonb* input)
{
    const Oid store = l3_lookup_store();
    if (store == InvalidOid)
        return nullptr;
    uint64_t t0 = stats::now_ns();
    bool unsettled = false;
    Jsonb* v = l3_get(store, model, version, input, guc::cache_ttl_s, &unsettled);
    stats::record(stats::timer::l3_get, stats::now_ns() - t0);
    stats::add(v ? stats::counter::l3_hits : stats::counter::l3_misses);
    // A row this transaction wrote is answered, not cached: the transaction may roll it back;
    // so is one deleted, updated or locked (see l3_get), and one of a store the key is not of.
    if (v && !unsettled && store == keyed_store)
        fill_from_store({k}, {v}, uint64_t(guc::cache_ttl_s) * 1000);
    return v;
}

std::vector<Jsonb*> from_l3(const std::vector<key128>& keys, Oid keyed_store, text* model,
                            int32 version, const std::vector<Jsonb*>& inputs)
{
    const Oid store = keys.empty() ? InvalidOid : l3_lookup_store();
    if (store == InvalidOid)
        return std::vector<Jsonb*>(keys.size(), nullptr);
    uint64_t t0 = stats::now_ns();
    std::vector<bool> unsettled;
    std::vector<Jsonb*> out =
        l3_get_many(store, model, version, inputs, guc::cache_ttl_s, &unsettled);
    stats::record(stats::timer::l3_get, stats::now_ns() - t0);
    std::vector<key128> hit_keys;
    std::vector<const Jsonb*> hits;
    for (size_t i = 0; i < keys.size(); i++) {
        stats::add(out[i] ? stats::counter::l3_hits : stats::counter::l3_misses);
        if (out[i] && !unsettled[i] && store == keyed_store) { // as in from_l3 above
            hit_keys.push_back(keys[i]);
            hits.push_back(out[i]);
        }
    }
    fill_from_store(hit_keys, hits, uint64_t(guc::cache_ttl_s) * 1000);
    return out;
}

std::vector<int> from_levels(const std::vector<key128>& keys, Oid keyed_store,
                             const std::vector<Jsonb*>& inputs, text* model, int32 version,
                             std::vector<Jsonb*>& outputs, std::vector<const char*>& levels)
{
    const bool use_l1 = l1_usable();
    l1_lookups_begin();
    std::vector<int> pending;
    for (int i = 0; i < int(inputs.size()); i++) {
        pg::check_for_interrupts();
        if (inputs[i] == nullptr)
            continue;
        if (use_l1 && (outputs[i] = from_l1(keys[i])) != nullptr)
            levels[i] = "l1";
        else
            pending.push_back(i);
    }
    // Asks one level for everything still pending; keeps pending what it did not have. When
    // that is every input (L1 off, or cold), the level is given keys and inputs themselves, not
    // copies of them (24 MB for a million).
    auto ask = [&](const char* level, auto&& lookup) {
        const bool all = pending.size() == inputs.size();
        std::vector<key128> missing;
        std::vector<Jsonb*> missing_inputs;
        if (!all) {
            missing.reserve(pending.size());
            missing_inputs.reserve(pending.size());
            for (int i : pending) {
                missing.push_back(keys[i]);
                missing_inputs.push_back(inputs[i]);
            }
        }
        const std::vector<Jsonb*> found =
            all ? lookup(keys, inputs) : lookup(missing, missing_inputs);
        std::vector<int> still;
        for (size_t j = 0; j < pending.size(); j++) {
            if ((outputs[pending[j]] = found[j]) != nullptr)
                levels[pending[j]] = level;
            else
                still.push_back(pending[j]);
        }
        pending.swap(still);
    };
    if (!pending.empty() && l2_enabled())
        ask("l2",
            // A batch of several keys reads with MGET, also where one is left after L1.
            [&](const std::vector<key128>& k, const std::vector<Jsonb*>&) {
                return from_l2(k, keys.size() > 1);
            });
    if (!pending.empty())
        ask("l3", [&](const std::vector<key128>& k, const std::vector<Jsonb*>& in) {
            return from_l3(k, keyed_store, model, version, in);
        });
    return pending;
}

namespace {

// For a write to Redis that ended in an error (a cancel, statement_timeout, a termination, or
// cache_strict's 08006) before its reply was read: its SET may have reached Redis all the
// same, and the value L1 holds for the key from before would then go on answering here,
// where Redis, and every other server, answer the new one (a cancelled cache_put left this
// server's L1 with the output it replaced, for as long as that entry's TTL). Without it in
// L1, the next read here asks Redis.
void forget_in_l1(const std::vector<key128>& keys)
{
    for (const key128& k : keys)
        l1_forget(k);
}

} // namespace

void fill_l1_l2(const key128& k, const Jsonb* v, uint64_t ttl_ms)
{
    if (l2_enabled() && in_l2(k) && fits_in_redis(v)) {
        try {
            l2_write(redis_key(k), encode_l2_value(v, unix_ms() + ttl_ms), ttl_ms);
        } catch (...) {
            forget_in_l1({k});
            throw;
        }
    }
    fill_l1(k, v, ttl_ms);
}

namespace {

// The Redis key and value of each of keys and values at the indexes given, each to expire
// ttl_ms from now; each value borrows its output's payload.
std::vector<std::pair<std::string, word>> l2_entries(const std::vector<key128>& keys,
                                                     const std::vector<const Jsonb*>& values,
                                                     const std::vector<size_t>& indexes,
                                                     uint64_t ttl_ms)
{
    std::vector<std::pair<std::string, word>> entries;
    entries.reserve(indexes.size());
    const uint64_t expires = unix_ms() + ttl_ms;
    for (size_t i : indexes) {
        pg::check_for_interrupts();
        entries.emplace_back(redis_key(keys[i]), encode_l2_value(values[i], expires));
    }
    return entries;
}

// The indexes of the values Redis may be given: that fit (fits_in_redis), under keys made with
// learned generations (unlearned_keys.hpp).
std::vector<size_t> for_redis(const std::vector<key128>& keys,
                              const std::vector<const Jsonb*>& values)
{
    std::vector<size_t> indexes;
    indexes.reserve(values.size());
    for (size_t i = 0; i < values.size(); i++)
        if (in_l2(keys[i]) && fits_in_redis(values[i]))
            indexes.push_back(i);
    return indexes;
}

} // namespace

bool fill_l1_l2(const std::vector<key128>& keys, const std::vector<const Jsonb*>& values,
                uint64_t ttl_ms, bool ask_redis, bool use_l1)
{
    bool taken = false;
    if (ask_redis && l2_enabled()) {
        try {
            taken =
                l2_write_many(l2_entries(keys, values, for_redis(keys, values), ttl_ms), ttl_ms);
        } catch (...) {
            forget_in_l1(keys);
            throw;
        }
    }
    for (size_t i = 0; i < keys.size(); i++) {
        pg::check_for_interrupts();
        if (use_l1)
            fill_l1(keys[i], values[i], ttl_ms);
        else
            l1_forget(keys[i]);
    }
    return taken;
}

void fill_from_store(const std::vector<key128>& keys, const std::vector<const Jsonb*>& values,
                     uint64_t ttl_ms)
{
    std::vector<l2_fill> in_redis(keys.size(), l2_fill::failed);
    const bool redis_answered_read = !redis_unavailable_at_read;
    redis_unavailable_at_read = false;
    if (l2_enabled() && redis_answered_read) {
        const std::vector<size_t> to_write = for_redis(keys, values);
        std::vector<bool> replace(to_write.size());
        for (size_t j = 0; j < to_write.size(); j++)
            replace[j] = unusable_in_redis.count(keys[to_write[j]]) != 0;
        const std::vector<l2_fill> filled =
            l2_fill_many(l2_entries(keys, values, to_write, ttl_ms), replace, ttl_ms);
        for (size_t j = 0; j < to_write.size(); j++)
            in_redis[to_write[j]] = filled[j];
    }
    forget_unusable_in_redis();
    for (size_t i = 0; i < keys.size(); i++) {
        pg::check_for_interrupts();
        // What Redis holds was put there since the lookup missed it: L1 is left as it is.
        if (in_redis[i] != l2_fill::held)
            fill_l1(keys[i], values[i], ttl_ms, l1_table::put_mode::if_absent);
    }
}

} // namespace ai_scale::cache
