// What a Redis endpoint setting may hold, and how an endpoint is written: `host:port`, where
// host is a host name or an IPv4 address, or `[address]:port` for an IPv6 address (as Redis and
// most clients write one); or, where the setting takes one, the absolute path of a Unix-domain
// socket (redis.conf's `unixsocket`) of a Redis on the same host. No URL (redis://, rediss://,
// unix://: ai_scale neither takes a password or a database in one nor uses TLS). Pure C++ (no
// Postgres, no hiredis), unit-tested in test/unit/test_endpoint_address.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ai_scale::cache {

struct endpoint_address {
    std::string host; // without brackets; '' for a socket
    int port = 0;     // 0 for a socket
    std::string path; // a Unix-domain socket's absolute path; '' for host:port
};

// The longest socket path: sockaddr_un's sun_path holds 108 bytes with the final NUL.
constexpr size_t max_socket_path = 107;

// Whether a setting takes a socket path: ai_scale.redis_primary and redis_replicas do;
// redis_sentinels does not (a Sentinel names the primary and replicas by address and port, for
// clients on any host, and follows a primary that moves to another host).
enum class socket_paths { allowed, refused };

// Why an endpoint cannot be used, as a message and a hint (complete sentences).
struct endpoint_problem {
    std::string message;
    std::string hint;
};

// The host and port, or the socket path, of text (one entry of a setting, spaces already taken
// off), or nullopt with *problem saying why it is no endpoint ai_scale can reach. The message
// shows text as invalid_endpoint_message does.
std::optional<endpoint_address> parse_endpoint(std::string_view text, endpoint_problem* problem,
                                               socket_paths sockets = socket_paths::allowed);

// `invalid Redis endpoint "text"`, text as a message may show it (to the client and the server
// log): what comes before the last '@' (a user name and password, redis://:password@host:port)
// and a query from the first '?' on (redis://host:6379?password=...) written ***, and nothing
// between them when the '@' comes after the '?' (a password holding a '?', a query holding an
// '@'). parse_endpoint's message for text.
std::string invalid_endpoint_message(std::string_view text);

// The two checks parse_endpoint makes of a host and a port, for addresses that come as the two
// apart (a Sentinel's answer): a port is 1..65535 in digits only (*port set when it is), and a
// host's bytes are printable ASCII other than the space, ',' (it would split a list), the
// brackets, '@' (what comes before one is a user name and password) and '/' (a socket path has
// them: a sentinel naming "/path" as its primary's address named no socket to connect to).
bool parse_port(std::string_view s, int* port);
bool host_bytes_allowed(std::string_view host);

// Whether a and b name one server as written: the same port, and host names equal but for case
// (DNS ignores it) or IPv6 addresses equal however written ("::1", "0:0::1"); or the same socket
// path, byte for byte. Names are not looked up, nor paths resolved: a name and its address, or
// a path and a link to it, are two endpoints.
bool same_endpoint(const endpoint_address& a, const endpoint_address& b);

// host:port as parse_endpoint reads it back: an IPv6 address (a host with ':') in brackets.
std::string endpoint_text(std::string_view host, std::string_view port);

} // namespace ai_scale::cache
