#include "cache/router.hpp"
#include "cache/breaker_registry.hpp"
#include "cache/error_text.hpp"
#include "cache/generation_slots.hpp"
#include "cache/redis_client.hpp"
#include "cache/replica_check.hpp"
#include "cache/sentinel.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/top_level_statement.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/logicalworker.h"
#include "storage/ipc.h"
}

#include <hiredis/hiredis.h>

#include <algorithm>
#include <iterator>
#include <unordered_map>

namespace ai_scale::cache {

namespace {

// How often a backend re-asks a replica whether it is in sync with its primary; and, once a
// server has refused the INFO that asks (disabled, as managed services have it, or an ACL user
// without it), how long it waits before asking that server again: asked every second, each
// backend sent a refused INFO to it a second, each an l2 error in the stats.
constexpr uint64_t sync_check_interval_ms = 1000;
constexpr uint64_t info_refused_recheck_ms = 60000;

struct replica_sync {
    uint64_t checked_ms = 0;
    uint64_t interval_ms = sync_check_interval_ms;
    bool in_sync = true;
    // Judged without the primary, which did not answer (see l2_read's from_unchecked_replica).
    bool primary_silent = false;
};
std::unordered_map<std::string, replica_sync> replica_sync_state;
// Which primary last refused the INFO asked for the replicas' lag, and when.
struct {
    std::string primary;
    uint64_t at_ms = 0;
} primary_info_refused;
unsigned round_robin = 0;

// The primary (and write route: redis_db, redis_user) whose write (a SET, an INCRBY) this
// backend last sent without an answer (a timeout, a lost connection, a reply such as READONLY:
// neither a refusal nor a skip by its breaker), and in which statement and when. For the rest
// of that statement, a second at most, the backend's writes there are not sent, but a strict
// call's (which fails on it); each is left as one that failed: a fill not made, a counter left
// to the next sync, a bump marked. A Redis that holds its writes (CLIENT PAUSE ... WRITE, as in
// a failover) answers reads, each answer resetting its breaker's count of failures, and the
// breaker never opened: every write waited redis_timeout_ms, a cache_get per row of a model
// first used then 30 s for 30 rows at 1000 ms, and a call whose recheck sent the bumps marked
// unsent 5 s (13 s with breaker_failures = 50). Not beyond the statement: held for a second
// whatever the statement, an invalidation the next statement made, once Redis answered again,
// was not sent (the other servers served what it invalidated until this one made another
// cache call), and a cache_put not written. A write answered clears it.
struct hold_scope {
    uint64_t statement = 0;
    TimestampTz transaction = 0;
    bool operator==(const hold_scope& o) const
    {
        return statement == o.statement && transaction == o.transaction;
    }
};
struct {
    std::string primary;
    uint64_t route = 0;
    hold_scope scope;
    uint64_t at_ms = 0;
} write_unanswered;
constexpr uint64_t write_hold_ms = 1000;

// The statement a hold lasts for: a client's, as the statement hooks count them, within one
// transaction (a procedure's COMMIT ends it; told by its start, which the commit's own bumps
// still see, where its local id is gone by then). Not Postgres's statement start timestamp, which
// every statement of a simple Query message of several shares: the statements after the one
// whose write got no answer were held, an invalidation made there once Redis answered again
// not sent; while a FETCH, which gets one of its own, ended the hold at each fetch of a cursor
// over rows (a timeout a row read one at a time). A logical replication apply worker starts a
// statement for each change it applies, and waited redis_timeout_ms on each replicated catalog
// row while Redis held its writes (3.3 s for 30 registrations at 100 ms); any process but a
// client backend holds for the second.
hold_scope hold_statement()
{
    if (MyBackendType != B_BACKEND)
        return {};
    return {pg::top_level_statement(), GetCurrentTransactionStartTimestamp()};
}

bool writes_held(const std::string& primary)
{
    if (write_unanswered.at_ms == 0 || strict_call())
        return false;
    return write_unanswered.primary == primary && write_unanswered.scope == hold_statement() &&
           stats::monotonic_ms() - write_unanswered.at_ms < write_hold_ms &&
           write_unanswered.route == write_route();
}

std::string redis_user_name()
{
    return guc::redis_user != nullptr ? guc::redis_user : "";
}

// counter: the generation counter's key the call was making, for its hint where Redis refused
// it as holding a value ai_scale did not write.
[[noreturn]] void unavailable_error(const std::string& endpoint, const std::string& counter = {})
{
    if (endpoint.empty()) {
        std::string detail = "No Redis Sentinel in ai_scale.redis_sentinels has named a primary "
                             "for \"" +
                             std::string(guc::redis_sentinel_master) + "\".";
        // Why, where a sentinel's last answer was a failure: a sentinel that wants a password
        // (NOAUTH, not supported) or does not answer at all read the same as one that does not
        // know the master, and only redis_status() told them apart. So does one that refuses
        // SENTINEL (a plain Redis named as a sentinel), which its breaker counts no failure.
        for (const auto& sentinel : endpoint_list(guc::redis_sentinels)) {
            auto health = breaker_snapshot(breaker_for(sentinel, endpoint_kind::sentinel));
            if ((health.state.failures > 0 || refuses_command_only(health.last_error)) &&
                !health.last_error.empty()) {
                detail += " Sentinel " + sentinel + ": " + full_stop(health.last_error);
            }
        }
        throw pg::error(ERRCODE_CONNECTION_FAILURE, "redis is unavailable for the L2 cache", detail,
                        "Set ai_scale.cache_strict = off to treat an unavailable Redis as a miss.");
    }
    // endpoint is the primary named now: after a failover, the one attempt_primary retried on.
    const breaker_key key = breaker_for(endpoint, endpoint_kind::data);
    auto health = breaker_snapshot(key);
    // A refusal that turning cache_strict off would not cure (a NOPERM, a login refused, a
    // counter another application wrote) says what would.
    std::string hint = refusal_hint(health.last_error, redis_user_name(), counter);
    if (hint.empty())
        hint = "Set ai_scale.cache_strict = off to treat an unavailable Redis as a miss.";
    throw pg::error(ERRCODE_CONNECTION_FAILURE, "redis is unavailable for the L2 cache",
                    "Endpoint " + key.name + ": " +
                        full_stop(health.state.current == breaker::state::closed
                                      ? health.last_error
                                      : "circuit breaker " +
                                            std::string(breaker::name(health.state.current)) +
                                            ", last error: " + health.last_error),
                    hint);
}

// The primary and replicas: as the sentinels name them, or as configured.
std::string current_primary()
{
    if (sentinel_enabled())
        return sentinel_topology().primary;
    // Without the spaces the setting allows around it: taken whole, " 127.0.0.1:6379" named no
    // endpoint, and every call failed as "invalid Redis endpoint".
    auto named = endpoint_list(guc::redis_primary);
    return named.empty() ? std::string() : std::move(named[0]);
}

std::vector<std::string> current_replicas()
{
    if (sentinel_enabled())
        return sentinel_topology().replicas;
    return endpoint_list(guc::redis_replicas);
}

// Runs cmds on the primary. When that fails (rather than being skipped by its breaker) and the
// sentinels name the primary, they are asked again at once: after a failover the old primary,
// now a replica, refuses writes (READONLY) for up to a second before this backend would have
// asked, and a write dropped then is an invalidation the other servers never see. When they
// name another primary, cmds run there, once. (A command the old primary ran before failing,
// an INCRBY, runs twice: one invalidation more, never a wrong answer.)
// A refusal (see attempt) is an answer, no sign of a failover: the sentinels are not asked.
// *skipped, when given, says whether no round trip was made (no primary, or its breaker open);
// *refused, when given, whether the primary last asked refused a command, and *asked, when
// given, which one that was: the newly named one's refusal is that primary's (its NOPERM was
// not warned of, and its refused INFO asked for again every second).
std::optional<std::vector<reply_ptr>>
attempt_primary(const std::string& primary, const std::vector<command>& cmds,
                bool* skipped = nullptr, bool* refused = nullptr, std::string* asked = nullptr)
{
    bool unused, was_refused = false;
    if (skipped == nullptr)
        skipped = &unused;
    *skipped = true;
    if (refused != nullptr)
        *refused = false;
    if (asked != nullptr)
        *asked = primary;
    if (primary.empty())
        return std::nullopt;
    auto replies = attempt(primary, cmds, skipped, endpoint_kind::data, &was_refused);
    if (refused != nullptr)
        *refused = was_refused;
    if (replies || *skipped || was_refused || !sentinel_enabled())
        return replies;
    sentinel_recheck();
    const std::string named = sentinel_topology().primary;
    if (named.empty() || named == primary)
        return std::nullopt;
    if (asked != nullptr)
        *asked = named;
    replies = attempt(named, cmds, nullptr, endpoint_kind::data, &was_refused);
    if (refused != nullptr)
        *refused = was_refused;
    return replies;
}

// attempt_primary for writes (SET, INCRBY), which the hold above skips: nullopt, without a
// round trip, while held. A write answered (or refused: an answer) ends the hold; one that got
// no answer starts it (one its breaker skipped does neither).
std::optional<std::vector<reply_ptr>> attempt_write(const std::string& primary,
                                                    const std::vector<command>& cmds, bool* refused,
                                                    std::string* asked = nullptr)
{
    *refused = false;
    if (writes_held(primary))
        return std::nullopt;
    bool skipped = false;
    auto replies = attempt_primary(primary, cmds, &skipped, refused, asked);
    if (skipped)
        return replies;
    if (replies || *refused) {
        write_unanswered.at_ms = 0;
    } else {
        write_unanswered.primary = primary;
        write_unanswered.route = write_route();
        write_unanswered.scope = hold_statement();
        write_unanswered.at_ms = stats::monotonic_ms();
    }
    return replies;
}

// False when the replica says its link to the primary is down or it is still loading a full
// sync, follows another primary, or lags more than ai_scale.redis_replica_max_lag behind the
// primary (asked at most once a second; the primary first, so the lag is not overstated).
bool replica_in_sync(const std::string& endpoint)
{
    auto& st = replica_sync_state[endpoint];
    uint64_t now = stats::monotonic_ms();
    if (st.checked_ms != 0 && now - st.checked_ms < st.interval_ms)
        return st.in_sync;
    st.primary_silent = false;
    std::optional<std::string> primary_info;
    const std::string primary = current_primary();
    if (replica_max_lag_bytes() >= 0 &&
        (primary_info_refused.primary != primary ||
         now - primary_info_refused.at_ms >= info_refused_recheck_ms)) {
        bool refused = false;
        std::string asked;
        auto replies =
            attempt_primary(primary, {{"INFO", "replication"}}, nullptr, &refused, &asked);
        primary_info_refused = {refused ? asked : std::string(), now};
        if (replies)
            primary_info = reply_string((*replies)[0].get());
        st.primary_silent = !replies && !refused;
    }
    bool refused = false;
    auto replies =
        attempt(endpoint, {{"INFO", "replication"}}, nullptr, endpoint_kind::data, &refused);
    // Noted once there is a verdict: noted before the questions, a check cancelled while it
    // waited for an answer left the verdict before it (for a first check, "in sync", never
    // asked) standing for a second, and a replica whose link was down was read.
    st.checked_ms = now;
    st.interval_ms = refused ? info_refused_recheck_ms : sync_check_interval_ms;
    if (!replies)
        return st.in_sync = false;
    auto info = reply_string((*replies)[0].get());
    st.in_sync = info && judge_replica(*info, primary_info, replica_max_lag_bytes()).verdict ==
                             replica_verdict::in_sync;
    return st.in_sync;
}

// Whether the primary was answering when replica was last judged in sync, and its breaker
// (every backend's) has counted no failure since its last success: a put to it that timed out
// counts one (a cancelled one does not: docs/cache.md, L1).
bool primary_answering(const std::string& primary, const std::string& replica)
{
    if (replica_sync_state[replica].primary_silent)
        return false;
    const breaker health = breaker_snapshot(breaker_for(primary, endpoint_kind::data)).state;
    return health.current == breaker::state::closed && health.failures == 0;
}

void disconnect_on_exit(int, Datum)
{
    redis_disconnect_all();
}

// Closes this backend's Redis connections when it exits (once registered).
void register_exit_hook()
{
    static bool registered = false;
    if (!registered) {
        on_proc_exit(disconnect_on_exit, 0);
        registered = true;
    }
}

// The endpoints the connection pool was last trimmed to (see close_unused_connections).
std::string pool_endpoints;

} // namespace

// Closes this backend's connections to endpoints it no longer uses: a changed redis_primary or
// redis_replicas, or a primary or replica the sentinels no longer name (a failover). Without
// it a long-lived backend kept a socket open, and a client slot taken on that Redis, for every
// endpoint it had ever used. Its private breakers of those endpoints go too. Checked at each
// L2 request and by redis_status(); closes only when the set changed.
void close_unused_connections()
{
    std::vector<std::string> keep;
    keep.push_back(current_primary());
    for (auto& r : current_replicas())
        keep.push_back(std::move(r));
    for (auto& s : endpoint_list(guc::redis_sentinels))
        keep.push_back(std::move(s));
    std::string joined;
    for (const auto& e : keep) {
        joined += e;
        joined += ',';
    }
    if (joined == pool_endpoints)
        return;
    pool_endpoints = std::move(joined);
    redis_disconnect_others(keep);
    breaker_forget_others(keep);
    for (auto it = replica_sync_state.begin(); it != replica_sync_state.end();) {
        if (std::find(keep.begin(), keep.end(), it->first) == keep.end())
            it = replica_sync_state.erase(it);
        else
            ++it;
    }
}

namespace {

// Called at every wake while waiting for Redis: a cancel or termination ends the wait
// (pg::check_for_interrupts throws it). Where Postgres holds interrupts, at the cache fills
// after a commit (predict/pending_fills.cpp), it cannot be taken there, and the wait went on
// for redis_timeout_ms, a round trip after another until the breaker opened: a backend
// terminated while Redis hung stayed for breaker_failures x redis_timeout_ms (5 minutes at
// most). The wait is given up instead; the fills left are not made (the commit's WARNING).
void wait_for_redis()
{
    pg::check_for_interrupts();
    if (ProcDiePending || QueryCancelPending)
        throw pg::error(ProcDiePending ? ERRCODE_ADMIN_SHUTDOWN : ERRCODE_QUERY_CANCELED,
                        ProcDiePending ? "terminated while waiting for redis"
                                       : "canceled while waiting for redis");
}

} // namespace

std::optional<std::vector<reply_ptr>> attempt(const std::string& endpoint,
                                              const std::vector<command>& cmds, bool* skipped,
                                              endpoint_kind kind, bool* refused)
{
    if (refused != nullptr)
        *refused = false;
    const breaker_key key = breaker_for(endpoint, kind);
    const bool allowed = breaker_allow(key);
    if (skipped != nullptr)
        *skipped = !allowed;
    if (!allowed)
        return std::nullopt;
    register_exit_hook();
    redis_set_wait_hook(wait_for_redis);
    // pg_stat_activity shows the backend waiting (wait_event_type and wait_event Extension, as
    // for postgres_fdw) while it talks to Redis, which may hang for redis_timeout_ms: it showed
    // no wait event, as if running on the CPU.
    struct reported_wait {
        reported_wait() { pgstat_report_wait_start(PG_WAIT_EXTENSION); }
        ~reported_wait() { pgstat_report_wait_end(); }
    } waiting;
    uint64_t t0 = stats::now_ns();
    try {
        auto replies = redis_run(endpoint, cmds, kind);
        breaker_success(key, double(stats::now_ns() - t0) / 1e6);
        return replies;
    } catch (const redis_refused& e) {
        breaker_refused(key, e.what(), double(stats::now_ns() - t0) / 1e6);
        if (refused != nullptr)
            *refused = true;
        return std::nullopt;
    } catch (const redis_failure& e) {
        breaker_failure(key, e.what());
        return std::nullopt;
    }
}

int64_t replica_max_lag_bytes()
{
    return guc::redis_replica_max_lag_kb < 0 ? -1 : int64_t(guc::redis_replica_max_lag_kb) * 1024;
}

uint64_t write_route()
{
    if (!l2_enabled())
        return 0;
    auto text = [](const char* s) { return std::string(s != nullptr ? s : ""); };
    const std::string named =
        (sentinel_enabled() ? "sentinels " + text(guc::redis_sentinels) + " master " +
                                  text(guc::redis_sentinel_master)
                            : "primary " + text(guc::redis_primary)) +
        " db " + std::to_string(guc::redis_db) + " user " + text(guc::redis_user);
    const uint64_t h = std::hash<std::string>{}(named);
    return h != 0 ? h : 1;
}

bool l2_enabled()
{
    if ((guc::redis_primary && guc::redis_primary[0] != '\0') || sentinel_enabled())
        return true;
    // Turned off (redis_primary emptied by SET or a reload): no L2 request comes to close the
    // connections made while it was on, and a pooled backend kept them, a client slot each on
    // a Redis perhaps being retired, until it exited. Once: a server without Redis pays a
    // string's test a call.
    if (!pool_endpoints.empty()) {
        close_unused_connections();
        pool_endpoints.clear();
    }
    return false;
}

std::vector<std::string> endpoint_list(const char* s)
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

std::vector<endpoint> configured_endpoints()
{
    std::vector<endpoint> out;
    const std::string primary = current_primary();
    if (!primary.empty())
        out.push_back({primary, endpoint_role::primary});
    for (auto& r : current_replicas())
        out.push_back({r, endpoint_role::replica});
    for (auto& s : endpoint_list(guc::redis_sentinels))
        out.push_back({s, endpoint_role::sentinel});
    return out;
}

namespace {

// Takes the keys' strings (moved into the command). *replica_failed: a replica failed an
// earlier piece of the call (none is asked then), or this one. alone: read with GET (l2_read).
std::vector<std::optional<std::string>> l2_read_piece(std::vector<std::string>&& keys, bool alone,
                                                      bool* unavailable, read_target target,
                                                      bool* from_unchecked_replica,
                                                      bool* replica_failed)
{
    *unavailable = false;
    const size_t n = keys.size();
    std::vector<std::optional<std::string>> none(n);
    if (n == 0)
        return none;
    command cmd;
    cmd.reserve(n + 1);
    cmd.push_back(alone ? "GET" : "MGET");
    cmd.insert(cmd.end(), std::make_move_iterator(keys.begin()),
               std::make_move_iterator(keys.end()));
    std::vector<command> cmds;
    cmds.push_back(std::move(cmd));
    close_unused_connections();

    auto take = [&](std::vector<reply_ptr>& replies) {
        if (alone) {
            // Moved in: a vector made of {value} copies it (an initializer_list's elements are
            // const), a third copy of a 60 MB value at once, 60 MB more at the peak (TAP 238).
            std::vector<std::optional<std::string>> one(1);
            one[0] = reply_string(replies[0].get());
            return one;
        }
        auto values = reply_strings(replies[0].get());
        values.resize(n);
        return values;
    };

    // A lookup's round trip is a sample of the l2 timer, failed or not; one that open breakers
    // skipped made none and is no sample (while Redis was down, every skipped call was one, of
    // a fraction of a microsecond, and p50 and p99 fell to nothing).
    const uint64_t t0 = stats::now_ns();
    bool asked = false;
    auto timed = [&] {
        if (asked && target == read_target::configured)
            stats::record(stats::timer::l2_get, stats::now_ns() - t0);
    };
    // The next replica in turn, asked when it is in sync: its replies, or none (*replica_failed
    // set when it was asked and failed); *replica the one chosen, *skipped whether open
    // breakers skipped it.
    auto ask_replica = [&](std::string* replica, bool* skipped) {
        std::optional<std::vector<reply_ptr>> replies;
        auto replicas = current_replicas();
        if (replicas.empty())
            return replies;
        *replica = replicas[round_robin++ % replicas.size()];
        if (!replica_in_sync(*replica))
            return replies;
        replies = attempt(*replica, cmds, skipped);
        if (!replies)
            *replica_failed = !*skipped;
        return replies;
    };
    const std::string primary = current_primary();
    std::string replica;
    if (target == read_target::configured && guc::redis_read_from == int(guc::read_from::replica) &&
        !*replica_failed) {
        bool skipped = true;
        auto replies = ask_replica(&replica, &skipped);
        asked = !skipped;
        if (replies) {
            timed();
            if (from_unchecked_replica != nullptr && !primary_answering(primary, replica))
                *from_unchecked_replica = true;
            return take(*replies);
        }
    }
    bool skipped = true;
    auto replies = attempt_primary(primary, cmds, &skipped);
    asked = asked || !skipped;
    timed();
    if (replies)
        return take(*replies);
    if (target == read_target::primary_or_replica && !*replica_failed) {
        bool replica_skipped = true;
        replies = ask_replica(&replica, &replica_skipped);
        if (replies) {
            if (from_unchecked_replica != nullptr)
                *from_unchecked_replica = true;
            return take(*replies);
        }
    }
    *unavailable = true;
    if (strict_call() && l2_enabled())
        unavailable_error(current_primary());
    return none;
}

} // namespace

std::vector<std::optional<std::string>> l2_read(std::vector<std::string> keys, bool* unavailable,
                                                read_target target, bool* from_unchecked_replica,
                                                bool* replica_failed, bool of_batch)
{
    bool this_call = false;
    if (replica_failed == nullptr)
        replica_failed = &this_call;
    if (keys.size() <= l2_keys_per_round_trip) {
        const bool alone = keys.size() == 1 && !of_batch;
        return l2_read_piece(std::move(keys), alone, unavailable, target, from_unchecked_replica,
                             replica_failed);
    }
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (size_t start = 0; start < keys.size(); start += l2_keys_per_round_trip) {
        const size_t end = std::min(keys.size(), start + l2_keys_per_round_trip);
        auto values = l2_read_piece(
            std::vector<std::string>(std::make_move_iterator(keys.begin() + long(start)),
                                     std::make_move_iterator(keys.begin() + long(end))),
            false, unavailable, target, from_unchecked_replica, replica_failed);
        if (*unavailable) {
            // The rest are misses: Redis is not waited for again in this call.
            out.resize(keys.size());
            return out;
        }
        for (auto& v : values)
            out.push_back(std::move(v));
    }
    return out;
}

bool l2_write(std::string key, word value, uint64_t ttl_ms)
{
    std::vector<std::pair<std::string, word>> entries;
    entries.emplace_back(std::move(key), std::move(value));
    return l2_write_many(std::move(entries), ttl_ms);
}

namespace {

// SET ... PX ttl_ms for each pair, with NX unless replace[i] (none when replace is null),
// l2_keys_per_round_trip SETs per pipelined round trip; after one round trip fails, the rest are
// not sent. result[i] says what became of entries[i]. Each round trip's keys and values are
// moved out of entries into its commands, and freed with them once it is done.
std::vector<l2_fill> l2_set_many(std::vector<std::pair<std::string, word>>& entries,
                                 uint64_t ttl_ms, const std::vector<bool>* replace)
{
    std::vector<l2_fill> result(entries.size(), l2_fill::failed);
    if (entries.empty())
        return result;
    close_unused_connections();
    const std::string primary = current_primary();
    const std::string ttl = std::to_string(ttl_ms);
    for (size_t start = 0; start < entries.size(); start += l2_keys_per_round_trip) {
        const size_t end = std::min(entries.size(), start + l2_keys_per_round_trip);
        std::vector<command> cmds;
        cmds.reserve(end - start);
        for (size_t i = start; i < end; i++) {
            command& cmd = cmds.emplace_back();
            cmd.reserve(6);
            cmd.push_back("SET");
            cmd.push_back(std::move(entries[i].first));
            cmd.push_back(std::move(entries[i].second));
            cmd.push_back("PX");
            cmd.push_back(ttl);
            if (replace != nullptr && !(*replace)[i])
                cmd.push_back("NX");
        }
        bool refused = false;
        auto replies = attempt_write(primary, cmds, &refused);
        if (!replies) {
            if (strict_call())
                unavailable_error(current_primary());
            break;
        }
        // SET answers OK, or with NX a nil when the key exists (the only answers besides an
        // error, which redis_run raised).
        for (size_t i = start; i < end; i++)
            result[i] =
                (*replies)[i - start]->type == REDIS_REPLY_NIL ? l2_fill::held : l2_fill::stored;
    }
    return result;
}

} // namespace

bool l2_write_many(std::vector<std::pair<std::string, word>> entries, uint64_t ttl_ms)
{
    for (l2_fill r : l2_set_many(entries, ttl_ms, nullptr))
        if (r == l2_fill::failed)
            return false;
    return true;
}

std::vector<l2_fill> l2_fill_many(std::vector<std::pair<std::string, word>> entries,
                                  const std::vector<bool>& replace, uint64_t ttl_ms)
{
    return l2_set_many(entries, ttl_ms, &replace);
}

namespace {

// Says, once per session, that the primary refused an INCRBY (NOPERM: an ACL user without it;
// OOM, MISCONF, ...). A slot whose counter Redis does not hold yet is learned by
// making it with INCRBY, and a slot never learned keeps its keys out of Redis: a user allowed
// GET and SET alone cached no model in Redis, invalidations reached no other server, and only
// an l2 / errors count said so (test/tap/256_cache_redis_user_without_incr.pl). A counter that
// is not a number (another application wrote the key) is named, to be deleted (TAP 267).
constexpr uint64_t refusal_warning_interval_ms = 60 * 1000;
bool in_server_recheck = false; // (server_recheck_scope)

// error: why, else the endpoint's last error (the refusal).
void warn_increment_refused(const std::string& primary, const std::string& counter,
                            std::string error = {})
{
    // Once per session; and for the server's recheck of bumped slots, in the server log alone,
    // once a minute for the endpoint: a WARNING to whichever call made the recheck (once a
    // second, at a call of any model), it reached every short session's client with another
    // model's refusal, and the log four lines a second, for as long as the refusal lasted.
    static bool warned = false;
    const breaker_key key = breaker_for(primary, endpoint_kind::data);
    const bool recheck = in_server_recheck;
    if (recheck ? !breaker_claim_refusal_warning(key, refusal_warning_interval_ms) : warned)
        return;
    if (!recheck)
        warned = true;
    if (error.empty())
        error = breaker_snapshot(key).last_error;
    // (Made before the call, whose callable may own no object with a destructor.)
    const std::string why = full_stop(error);
    const std::string hint = refusal_hint(error, redis_user_name(), counter);
    pg::call([&] {
        ereport(recheck ? LOG : WARNING,
                (errhidestmt(recheck), errhidecontext(recheck),
                 errmsg("redis refused to increment a generation counter of the L2 cache"),
                 errdetail("Endpoint %s: %s Until it is allowed, models whose counters Redis "
                           "does not hold yet are not cached in Redis, and invalidations reach "
                           "no other server.",
                           key.name.c_str(), why.c_str()),
                 hint.empty() ? 0 : errhint("%s", hint.c_str())));
    });
}

} // namespace

std::optional<uint64_t> l2_increment(const std::string& key, uint64_t by)
{
    close_unused_connections();
    const std::string primary = current_primary();
    // INCRBY even by 1: an ACL user then needs one command, not INCR as well.
    const command cmd{"INCRBY", key, std::to_string(by)};
    bool refused = false;
    std::string asked;
    auto replies = attempt_write(primary, {cmd}, &refused, &asked);
    if (replies) {
        const redisReply* r = (*replies)[0].get();
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0 &&
            uint64_t(r->integer) <= generation::counter_ceiling)
            return uint64_t(r->integer);
        // A counter of another writer's, at or below 0 or past 2^62: refused as Redis refuses
        // an INCRBY, 08006 with cache_strict (a strict put or invalidation returned, with only
        // the WARNING, while nothing reached Redis: TAP 267).
        const std::string endpoint = asked.empty() ? primary : asked;
        const std::string why =
            "the counter is at " +
            (r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                                            : std::string("no number")) +
            ", " + (r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? "past" : "outside") +
            " what ai_scale counts to (1 to 2^62).";
        if (strict_call())
            throw pg::error(ERRCODE_CONNECTION_FAILURE, "redis is unavailable for the L2 cache",
                            "Endpoint " + breaker_for(endpoint, endpoint_kind::data).name + ": " +
                                why,
                            refusal_hint(why, redis_user_name(), key));
        warn_increment_refused(endpoint, key, why);
        return std::nullopt;
    }
    if (strict_call())
        unavailable_error(current_primary(), key);
    if (refused)
        warn_increment_refused(asked, key);
    return std::nullopt;
}

// A logical replication worker applying the model catalog is never strict: its invalidation is
// held as any call's without strict is. Strict there, a Redis outage stopped the subscription,
// which carries the store's rows too: each replicated registration failed (08006), and was
// retried without end.
bool strict_call()
{
    return guc::cache_strict && !in_server_recheck && !IsLogicalWorker();
}

server_recheck_scope::server_recheck_scope() : was_(in_server_recheck)
{
    in_server_recheck = true;
}

server_recheck_scope::~server_recheck_scope()
{
    in_server_recheck = was_;
}

} // namespace ai_scale::cache
