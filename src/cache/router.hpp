// The L2 read/write split: writes go to the Redis primary; reads go round robin to a replica
// that is in sync (cache/replica_check.hpp), falling back to the primary when the replica
// errors, times out, has its breaker open or is out of sync. Every endpoint sits behind its
// breaker. The primary and replicas are configured, or named by Redis Sentinel (sentinel.hpp).
#pragma once

#include "cache/redis_client.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ai_scale::cache {

// Runs cmds on endpoint behind its breaker, which the outcome updates: the replies, or nullopt
// when it failed or its breaker skipped it (*skipped, when given, tells which). *refused, when
// given, says whether it failed because the endpoint refused a command while serving others
// (refuses_command_only: a command disabled, an ACL user lacking it, OOM, ...).
std::optional<std::vector<reply_ptr>>
attempt(const std::string& endpoint, const std::vector<command>& cmds, bool* skipped = nullptr,
        endpoint_kind kind = endpoint_kind::data, bool* refused = nullptr);

// The entries of a comma-separated setting (host:port or socket paths), spaces taken off.
std::vector<std::string> endpoint_list(const char* s);

// Whether L2 is configured (ai_scale.redis_primary or ai_scale.redis_sentinels is set). When it
// is not, closes the connections left from when it was (close_unused_connections).
bool l2_enabled();

// Which Redis the writes of a call go to, as the settings in force name it (redis_primary, or
// redis_sentinels and redis_sentinel_master; redis_db; redis_user), as a hash; 0 when L2 is off.
// The fills made at commit (predict/pending_fills.cpp) compare it with the call's.
uint64_t write_route();

// ai_scale.redis_replica_max_lag in bytes, as judge_replica takes it (-1: no check).
int64_t replica_max_lag_bytes();

// Where a read goes: as ai_scale.redis_read_from says; to the primary only; or to the primary,
// and when it does not answer to a replica judged in sync (the generation counters: a replica's
// may be behind the primary's, by a lag that cannot be checked with the primary silent, but
// they are the newest there are; *from_unchecked_replica says the replica answered).
enum class read_target { configured, primary, primary_or_replica };

// Keys per Redis round trip. Each round trip must end within ai_scale.redis_timeout_ms: one
// MGET or pipeline of a whole large batch could not (200,000 keys took longer than the default
// 100 ms on an idle loopback), so every key of a cache_get_many or predict_batch of that size
// was an L2 miss, and none of its fills was written.
constexpr std::size_t l2_keys_per_round_trip = 1000;

// Values for keys (nullopt: miss), l2_keys_per_round_trip keys per round trip. When no endpoint
// answered, returns all misses and sets *unavailable, or with ai_scale.cache_strict raises
// 08006. Under read_target::configured (a lookup) each round trip that reached Redis is a sample
// of stats' l2 timer. Takes keys by value: the words of a single round trip are moved into its
// command rather than copied. *from_unchecked_replica, when given, is set when a replica
// answered while the primary may not be answering (it did not when the replica was judged in
// sync, or its breaker counts a failure since its last success): a write the primary had yet
// to answer (a put that timed out, say) may be missing there. *replica_failed, when given, says
// whether a replica failed a round trip of the caller's before, and is set when one fails one
// now: no replica is asked after that, the primary answers (a hung replica judged in sync a
// moment before was asked at each round trip of a batch, a timeout each until its breaker
// opened). One key is read with GET, unless of_batch says it is a round trip of a read of
// several (the last of 1,001 keys): MGET, which answers nil for a key of another type where GET
// fails (WRONGTYPE), as the batch's other round trips do.
std::vector<std::optional<std::string>> l2_read(std::vector<std::string> keys, bool* unavailable,
                                                read_target target = read_target::configured,
                                                bool* from_unchecked_replica = nullptr,
                                                bool* replica_failed = nullptr,
                                                bool of_batch = false);

// SET key value PX ttl_ms on the primary; false (or 08006 when strict) when it failed or was
// not sent (see l2_increment). The writes below take their keys and values, moved into the
// commands sent: a 60 MB value passed by reference was copied four times on its way to
// hiredis. A value may borrow its bytes (encode_l2_value: the output's payload), which must
// outlive the call.
bool l2_write(std::string key, word value, uint64_t ttl_ms);

// l2_write for many (key, value) pairs, pipelined (l2_keys_per_round_trip per round trip).
bool l2_write_many(std::vector<std::pair<std::string, word>> entries, uint64_t ttl_ms);

// What became of one write of l2_fill_many.
enum class l2_fill : uint8_t {
    stored, // Redis stored the value
    held,   // Redis already held a value for the key, and keeps it
    failed, // not written: Redis failed (or the round trip before it did)
};

// SET key value PX ttl_ms NX for each pair, pipelined as l2_write_many: a value read from the
// store fills Redis only where Redis holds nothing for its key, so that a cache_put made since
// the lookup missed is not replaced by the older value. A pair whose replace[i] is true is
// written without NX. 08006 when strict and Redis failed.
std::vector<l2_fill> l2_fill_many(std::vector<std::pair<std::string, word>> entries,
                                  const std::vector<bool>& replace, uint64_t ttl_ms);

// While one is alive, Redis is asked for the server (its recheck of bumped slots,
// generations.cpp), not for the call: never strictly (strict_call), and a refused INCRBY is
// logged in the server log alone, once a minute for the endpoint, rather than a WARNING to the
// client, once per session.
class server_recheck_scope {
  public:
    server_recheck_scope();
    ~server_recheck_scope();
    server_recheck_scope(const server_recheck_scope&) = delete;
    server_recheck_scope& operator=(const server_recheck_scope&) = delete;

  private:
    bool was_;
};

// Whether Redis not answering raises 08006: ai_scale.cache_strict, but never in the server's
// recheck (server_recheck_scope). With cache_strict, a slot of another model that Redis refuses
// to bump (a user without INCRBY, a counter not a number) failed the call of any model once a
// second while its mark stayed, and an invalidation so failed was not made (bump_slot).
bool strict_call();

// INCRBY key by on the primary: the new value, or nullopt (08006 when strict) when it failed,
// or was not sent: after a write of this backend's got no answer (a timeout, a lost connection,
// a reply such as READONLY or LOADING; not a reply refusing the command), the writes below are
// not sent to that primary for the rest of the statement, a second at most (but a strict
// call's).
std::optional<uint64_t> l2_increment(const std::string& key, uint64_t by = 1);

// The endpoints: the primary first, then the replicas (configured, or as the sentinels name
// them), then the sentinels.
enum class endpoint_role { primary, replica, sentinel };
struct endpoint {
    std::string address;
    endpoint_role role;
};
std::vector<endpoint> configured_endpoints();

// Closes this backend's connections to the endpoints not in configured_endpoints(), when that
// set changed since the last call (see router.cpp).
void close_unused_connections();

} // namespace ai_scale::cache
