#include "cache/endpoint_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace ai_scale::cache {

namespace {

// A DNS name has at most 253 characters; a longer one cannot resolve.
constexpr size_t max_host = 253;

const char* const example_hint = "Use host:port, for example 127.0.0.1:6379, or [::1]:6379 for an "
                                 "IPv6 address.";
const char* const example_or_socket_hint =
    "Use host:port, for example 127.0.0.1:6379, [::1]:6379 for an IPv6 address, or the absolute "
    "path of a Unix-domain socket, for example /run/redis/redis.sock.";
const char* const socket_refused_hint =
    "ai_scale.redis_sentinels takes host:port only: a Sentinel names the primary and replicas by "
    "address. Use host:port, for example 127.0.0.1:26379.";

std::optional<endpoint_address> refuse(endpoint_problem* problem, std::string message,
                                       std::string hint)
{
    *problem = {std::move(message), std::move(hint)};
    return std::nullopt;
}

// The socket at path, an absolute path as text began: at most max_socket_path bytes of
// printable ASCII other than the space and ',' (a space or comma splits a setting's list; bytes
// outside ASCII are shown as text in databases of every encoding), naming a file, not a
// directory. Nothing is looked at on disk: Redis makes the socket when it starts.
std::optional<endpoint_address> parse_socket_path(std::string_view path, const std::string& what,
                                                  endpoint_problem* problem)
{
    if (path.size() > max_socket_path)
        return refuse(problem, what,
                      "A socket path has at most " + std::to_string(max_socket_path) +
                          " bytes (the size of sockaddr_un's sun_path). Give Redis a shorter "
                          "one in redis.conf's unixsocket.");
    for (unsigned char c : path)
        if (c <= ' ' || c > '~' || c == ',')
            return refuse(problem, what,
                          "A socket path is taken in printable ASCII without spaces or commas "
                          "(they separate endpoints). Give Redis such a path in redis.conf's "
                          "unixsocket.");
    if (path.back() == '/')
        return refuse(problem, what,
                      "Name the socket itself, for example /run/redis/redis.sock, not its "
                      "directory.");
    return endpoint_address{"", 0, std::string(path)};
}

// Whether text, which has no ':', reads as a relative path: a '/' in it, or a '~' first (a
// home directory, which no server expands).
bool relative_path(std::string_view text)
{
    return text.find('/') != std::string_view::npos || (!text.empty() && text[0] == '~');
}

std::string quoted(std::string_view text)
{
    return "\"" + std::string(text) + "\"";
}

// What comes before the last '@' is a user name and password (redis://user:password@host:port,
// as URLs and other clients write them), shown as ***; so is a query, from the first '?' on,
// where some clients take the password (redis://host:6379?password=...). Either may hold the
// other's mark (a password with a '?', a query with an '@'): only what lies between the last
// '@' and the first '?' is shown, and nothing of it when the '@' comes after the '?'.
std::string shown(std::string_view text)
{
    const size_t at = text.rfind('@');
    const size_t query = text.find('?');
    const size_t scheme = text.find("://");
    const size_t kept = scheme != std::string_view::npos &&
                                (at == std::string_view::npos || scheme < at) &&
                                (query == std::string_view::npos || scheme < query)
                            ? scheme + 3
                            : 0;
    std::string out(text.substr(0, kept));
    if (at != std::string_view::npos)
        out += "***";
    const size_t from = at != std::string_view::npos ? at : kept;
    if (query == std::string_view::npos)
        return out + std::string(text.substr(from));
    if (at == std::string_view::npos || at < query)
        out += std::string(text.substr(from, query - from));
    return out + "?***";
}

// An IPv6 address as inet_pton reads it, with an optional zone (fe80::1%eth0) after it.
bool ipv6_address(std::string_view host)
{
    const std::string address(host.substr(0, host.find('%')));
    in6_addr unused;
    return inet_pton(AF_INET6, address.c_str(), &unused) == 1;
}

// The host with its letters in lower case, an IPv6 address (with its zone) written as inet_ntop
// writes it.
std::string host_identity(const std::string& host)
{
    const size_t zone = host.find('%');
    in6_addr bytes;
    char text[INET6_ADDRSTRLEN];
    if (host.find(':') != std::string::npos &&
        inet_pton(AF_INET6, host.substr(0, zone).c_str(), &bytes) == 1 &&
        inet_ntop(AF_INET6, &bytes, text, sizeof text) != nullptr)
        return std::string(text) + (zone == std::string::npos ? "" : host.substr(zone));
    std::string lower = host;
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z')
            c = char(c - 'A' + 'a');
    return lower;
}

} // namespace

std::string invalid_endpoint_message(std::string_view text)
{
    return "invalid Redis endpoint " + quoted(shown(text));
}

std::optional<endpoint_address> parse_endpoint(std::string_view text, endpoint_problem* problem,
                                               socket_paths sockets)
{
    const std::string what = invalid_endpoint_message(text);
    const bool socket_allowed = sockets == socket_paths::allowed;
    const char* const form_hint = socket_allowed ? example_or_socket_hint : example_hint;
    // Before the URL and '@' checks: a path may hold "://" or an '@' (a directory named so).
    if (!text.empty() && text[0] == '/') {
        if (!socket_allowed)
            return refuse(problem, what, socket_refused_hint);
        return parse_socket_path(text, what, problem);
    }
    if (text.substr(0, 6) == "unix:/") // unix:/path, unix:///path (unix:6379 is a host:port)
        return refuse(problem, what,
                      socket_allowed ? "Give the socket's absolute path alone, not a URL, for "
                                       "example /run/redis/redis.sock."
                                     : socket_refused_hint);
    if (text.find("://") != std::string_view::npos) {
        const bool tls = text.substr(0, 9) == "rediss://";
        return refuse(problem, what,
                      std::string(tls ? "ai_scale does not use TLS. " : "") +
                          "Give host:port, not a URL, for example 127.0.0.1:6379; the password "
                          "goes in ai_scale.redis_password and the database in "
                          "ai_scale.redis_db.");
    }
    if (text.find('@') != std::string_view::npos)
        return refuse(problem, what,
                      "Give host:port, for example 127.0.0.1:6379; the user name goes in "
                      "ai_scale.redis_user and the password in ai_scale.redis_password.");
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text[0] == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return refuse(problem, what, form_hint);
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (!ipv6_address(host))
            return refuse(problem, what,
                          "Only an IPv6 address goes in brackets, for example [::1]:6379.");
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos && socket_allowed && relative_path(text))
            return refuse(problem, what,
                          "A Unix-domain socket is named by its absolute path, starting with "
                          "'/', for example /run/redis/redis.sock.");
        if (colon == std::string_view::npos)
            return refuse(problem, what, form_hint);
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        // "::1:6379" reads as [::1]:6379 or as the address ::1:6379; "fe80::1" lacks a port.
        if (host.find(':') != std::string_view::npos)
            return refuse(problem, what,
                          "Write an IPv6 address in brackets, for example [::1]:6379.");
    }
    if (host.empty())
        return refuse(problem, what, form_hint);
    if (host.size() > max_host)
        return refuse(problem, what,
                      "A host name has at most " + std::to_string(max_host) + " characters.");
    if (!host_bytes_allowed(host))
        return refuse(problem, what, form_hint);
    int n = 0;
    if (!parse_port(port, &n))
        return refuse(problem, what, "The port must be a number from 1 to 65535.");
    return endpoint_address{std::string(host), n, ""};
}

bool parse_port(std::string_view s, int* port)
{
    if (s.empty() || s.size() > 5)
        return false;
    int n = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        n = n * 10 + (c - '0');
    }
    *port = n;
    return n >= 1 && n <= 65535;
}

bool host_bytes_allowed(std::string_view host)
{
    for (unsigned char c : host)
        if (c <= ' ' || c > '~' || c == ',' || c == '[' || c == ']' || c == '@' || c == '/')
            return false;
    return true;
}

bool same_endpoint(const endpoint_address& a, const endpoint_address& b)
{
    if (!a.path.empty() || !b.path.empty())
        return a.path == b.path;
    return a.port == b.port && host_identity(a.host) == host_identity(b.host);
}

std::string endpoint_text(std::string_view host, std::string_view port)
{
    if (host.find(':') != std::string_view::npos)
        return "[" + std::string(host) + "]:" + std::string(port);
    return std::string(host) + ":" + std::string(port);
}

} // namespace ai_scale::cache
