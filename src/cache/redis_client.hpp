// Redis through hiredis: one persistent connection per endpoint per backend, made on first use
// (its host name looked up, host_lookup.hpp, and the socket connected within
// ai_scale.redis_timeout_ms each; or its Unix-domain socket connected, unix_socket.hpp), AUTH
// and SELECT applied (to a data node), and dropped (to be made again next time) after any
// failure. Each round trip (all its commands' replies) must end within ai_scale.redis_timeout_ms
// plus the time its bytes are allowed (transfer_allowance.hpp) and stay within resp_limits.hpp's
// byte and element budget. Errors are thrown as redis_failure; nothing here calls into Postgres
// (the wait hook is how a cancel reaches a wait).
#pragma once

#include "cache/redis_command.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct redisReply;

namespace ai_scale::cache {

struct redis_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An error reply that refuses the command, not the endpoint (refuses_command_only).
struct redis_refused : redis_failure {
    using redis_failure::redis_failure;
};

struct reply_deleter {
    void operator()(redisReply* r) const;
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

// A data node gets AUTH (ai_scale.redis_user, if set, and ai_scale.redis_password) and SELECT
// (ai_scale.redis_db) on connect; a Sentinel gets neither (it has no databases, and its own
// password, if any, is not ours).
enum class endpoint_kind { data, sentinel };

// What a connection of kind is made with: this session's ai_scale.redis_user, redis_password
// and redis_db for a data node, none for a Sentinel. Its breaker is keyed by the same.
struct credentials {
    std::string user;
    std::string password;
    int db = 0;
};
credentials credentials_for(endpoint_kind kind);

// Called at every wake while waiting for Redis; may throw to abandon the call (a query cancel).
void redis_set_wait_hook(void (*hook)());

// Sends the commands in one pipelined round trip and returns their replies in order. An error
// reply, a broken connection, a timeout or a reply over the limits throws redis_failure.
std::vector<reply_ptr> redis_run(const std::string& endpoint, const std::vector<command>& cmds,
                                 endpoint_kind kind = endpoint_kind::data);

// Values of a GET (nil -> nullopt) or of each key of an MGET.
std::optional<std::string> reply_string(const redisReply* r);
std::vector<std::optional<std::string>> reply_strings(const redisReply* r);

// Closes every connection (backend exit).
void redis_disconnect_all();

// Closes the connections to endpoints not in keep (no longer configured, or no longer named by
// the sentinels), so that a backend does not hold a socket, and a client slot on that Redis,
// for every endpoint it ever used; and forgets the host name lookups left running for other
// names (host_lookup.hpp).
void redis_disconnect_others(const std::vector<std::string>& keep);

} // namespace ai_scale::cache
